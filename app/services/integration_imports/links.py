"""Export a deployment: link it to a ConnectWise company or Zendesk organization, found or created."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, DeploymentLink, IntegrationAccount
from app.models._base import utcnow
from app.services import audit
from app.services.errors import DomainError
from app.services.integration_imports.accounts import (
    LABELS,
    check_provider,
    client_for,
    get_account,
    list_accounts,
    remember_codebase,
    remote_call,
)
from app.services.integrations import CONNECTWISE, ZENDESK
from app.services.integrations.connectwise import IDENTIFIER_MAX, NAME_MAX

# Why the "+" menu's import entries are disabled, and what the import pages say, until a link exists.
NOT_LINKED = {CONNECTWISE: "No ConnectWise company is linked to this deployment.",
              ZENDESK: "No Zendesk organization is linked to this deployment."}


@dataclass(frozen=True)
class Remote:
    """A company or organization as a picker shows it."""

    id: int
    name: str
    detail: str = ""  # the ConnectWise identifier, or the Zendesk external id


def _remote(provider: str, found) -> Remote:
    """Company or Organization to Remote."""
    detail = found.identifier if provider == CONNECTWISE else (found.external_id or "")
    return Remote(found.id, found.name, detail)


def link_for(deployment: Deployment, provider: str) -> DeploymentLink | None:
    """The deployment's link to a provider, if any."""
    return db.session.scalar(sa.select(DeploymentLink).where(DeploymentLink.deployment_id == deployment.id,
                                                             DeploymentLink.provider == provider))


def account_for(provider: str, account_id: int | None) -> IntegrationAccount:
    """The chosen account, or the provider's only one; a plain refusal when there is none to use."""
    if account_id:
        return get_account(account_id, provider)
    accounts = list_accounts(provider)
    if not accounts:
        raise DomainError(f"No {LABELS[provider]} account is set up yet: an admin adds one under Integrations.")
    if len(accounts) > 1:
        raise DomainError(f"Choose which {LABELS[provider]} account to use.")
    return accounts[0]


def search_remotes(account: IntegrationAccount, text: str, limit: int = 25) -> list[Remote]:
    """Companies or organizations whose name starts with text."""
    with remote_call(), client_for(account) as client:
        if account.provider == CONNECTWISE:
            found = client.search_companies(text, limit=limit)
        else:
            found = client.search_organizations(text, limit=limit)
        remember_codebase(account, client)
    db.session.commit()
    return [_remote(account.provider, f) for f in found]


def remote_url(account: IntegrationAccount, client, remote_id: int) -> str:
    """Where a technician opens the company or organization in the service's own web page."""
    if account.provider == CONNECTWISE:
        root = client.base_url.removesuffix("apis/3.0")
        return f"{root}services/system_io/router/openrecord.rails?locale=en_US&recordType=CompanyFV&recid={remote_id}"
    return f"{client.base_url.removesuffix('/api/v2')}/agent/organizations/{remote_id}"


def link_remote(deployment: Deployment, account: IntegrationAccount, remote_id: int, actor) -> DeploymentLink:
    """Link the deployment to an existing company or organization (checked to exist first)."""
    with remote_call(), client_for(account) as client:
        found = client.get_company(remote_id) if account.provider == CONNECTWISE \
            else client.get_organization(remote_id)
        url = remote_url(account, client, found.id)
        remember_codebase(account, client)
    return _save_link(deployment, account, _remote(account.provider, found), url, actor, created=False)


def create_remote(deployment: Deployment, account: IntegrationAccount, values: dict, actor) -> DeploymentLink:
    """Create the company or organization from the deployment's details, then link it."""
    name = (values.get("name") or deployment.name).strip()
    with remote_call(), client_for(account) as client:
        if account.provider == CONNECTWISE:
            found = _create_company(client, deployment, name, values)
        else:
            found = client.create_organization(name, external_id=f"enlist-{deployment.code}")
        url = remote_url(account, client, found.id)
        remember_codebase(account, client)
    return _save_link(deployment, account, _remote(account.provider, found), url, actor, created=True)


def _create_company(client, deployment: Deployment, name: str, values: dict):
    """A new ConnectWise company: identifier and name within its limits, and the address it requires."""
    identifier = (values.get("identifier") or deployment.code).strip()
    address, city = (values.get("address_line1") or "").strip(), (values.get("city") or "").strip()
    if len(identifier) > IDENTIFIER_MAX or len(name) > NAME_MAX:
        raise DomainError(f"ConnectWise takes at most {IDENTIFIER_MAX} characters in the identifier and "
                          f"{NAME_MAX} in the name: shorten them.")
    if not (address or city):
        raise DomainError("ConnectWise needs an address for a new company: fill in the address or the city.")
    return client.create_company(identifier, name, address, city)


def _save_link(deployment: Deployment, account: IntegrationAccount, remote: Remote, url: str, actor, *,
               created: bool) -> DeploymentLink:
    """Create or replace the deployment's link for the account's provider."""
    link = link_for(deployment, account.provider) or DeploymentLink(deployment_id=deployment.id,
                                                                    provider=account.provider)
    link.account_id, link.remote_id, link.remote_name = account.id, str(remote.id), remote.name[:255]
    link.remote_identifier = (remote.detail or "")[:255]
    link.remote_url, link.created = url[:500], created
    link.linked_by, link.linked_at = audit.actor_label(actor), utcnow()
    db.session.add(link)
    db.session.flush()
    noun = "company" if account.provider == CONNECTWISE else "organization"
    audit.record(actor, "integration.link", deployment=deployment, obj=link,
                 summary=f"{'created and linked' if created else 'linked'} {LABELS[account.provider]} {noun} "
                         f"{remote.name} (id {remote.id})")
    db.session.commit()
    db.session.expire(deployment, ["integration_links"])
    return link


def unlink(deployment: Deployment, provider: str, actor) -> None:
    """Forget the deployment's link to a provider (nothing changes in ConnectWise or Zendesk)."""
    link = link_for(deployment, check_provider(provider))
    if link is None:
        return
    audit.record(actor, "integration.unlink", deployment=deployment, obj=link,
                 summary=f"unlinked {LABELS[provider]} {link.remote_name} (id {link.remote_id})")
    db.session.delete(link)
    db.session.commit()
    db.session.expire(deployment, ["integration_links"])

