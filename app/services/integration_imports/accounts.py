"""Integration accounts: the MSP's ConnectWise and Zendesk credentials, encrypted at rest, and their clients."""

from __future__ import annotations

import re
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import DeploymentLink, IntegrationAccount
from app.models._base import utcnow
from app.services import audit, secrets
from app.services.errors import DomainError, NotFound
from app.services.integrations import (
    CONNECTWISE,
    PROVIDERS,
    ZENDESK,
    ConnectionCheck,
    ConnectWiseClient,
    ConnectWiseCredentials,
    IntegrationError,
    ZendeskClient,
    ZendeskCredentials,
)
from app.services.integrations.connectwise import clean_site
from app.services.integrations.http import NOT_FOUND, OnWait
from app.services.integrations.zendesk import clean_subdomain

# The non-secret settings of each provider, in form order, and what its secret is called.
SETTINGS = {CONNECTWISE: ("site", "company_id", "public_key", "client_id"), ZENDESK: ("subdomain", "email")}
SECRET_LABELS = {CONNECTWISE: "private key", ZENDESK: "API token"}
LABELS = {CONNECTWISE: "ConnectWise", ZENDESK: "Zendesk"}
_PLAIN = "http://"


class IntegrationFailed(DomainError):
    """A ConnectWise or Zendesk call that failed, in the client's plain words."""

    status = 502

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


@contextmanager
def remote_call():
    """Turn a client's IntegrationError into a domain error the pages show as it is."""
    try:
        yield
    except IntegrationError as exc:
        raise IntegrationFailed(exc.message, exc.kind) from None


def check_provider(provider: str) -> str:
    """The provider, or NotFound for one Enlist does not know."""
    if provider not in PROVIDERS:
        raise NotFound(f"Enlist does not integrate with {provider!r}.")
    return provider


def list_accounts(provider: str | None = None) -> list[IntegrationAccount]:
    """Every account (of one provider), by provider and name."""
    stmt = sa.select(IntegrationAccount).order_by(IntegrationAccount.provider, IntegrationAccount.name)
    if provider:
        stmt = stmt.where(IntegrationAccount.provider == provider)
    return list(db.session.scalars(stmt))


def get_account(account_id: int, provider: str | None = None) -> IntegrationAccount:
    """One account by id (of the given provider); NotFound otherwise."""
    account = db.session.get(IntegrationAccount, account_id)
    if account is None or (provider and account.provider != provider):
        raise NotFound("This integration account does not exist (it may have been deleted).")
    return account


def link_counts() -> dict[int, int]:
    """How many deployments each account links."""
    rows = db.session.execute(sa.select(DeploymentLink.account_id, sa.func.count())
                              .group_by(DeploymentLink.account_id))
    return dict(rows.all())


def _plain_http_allowed() -> bool:
    """Plain http is for the local stand-in servers of tests and benches only."""
    return bool(current_app.config.get("ENLIST_INTEGRATIONS_PLAIN_HTTP"))


def clean_settings(provider: str, values: dict) -> dict:
    """The provider's settings from typed values: trimmed, the site and subdomain reduced to what counts."""
    settings = {name: str(values.get(name) or "").strip() for name in SETTINGS[provider]}
    address = "site" if provider == CONNECTWISE else "subdomain"
    typed = settings[address]
    if typed.lower().startswith(_PLAIN) and _plain_http_allowed():
        settings[address] = _PLAIN + typed[len(_PLAIN):].strip("/")
    else:
        settings[address] = clean_site(typed) if provider == CONNECTWISE else clean_subdomain(typed)
    return settings


def address_problem(provider: str, settings: dict) -> str | None:
    """Why the typed site or subdomain cannot be an address, or None."""
    if provider == CONNECTWISE:
        site = settings["site"]
        if site and not site.startswith(_PLAIN) and not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?", site):
            return f"The site {site} is not a host name: type the address you sign in at, e.g. na.myconnectwise.net."
    elif settings["subdomain"] and not settings["subdomain"].startswith(_PLAIN) \
            and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", settings["subdomain"]):
        return (f"The subdomain {settings['subdomain']} is not one: type the part before .zendesk.com "
                "(letters, digits and hyphens).")
    return None


def save_account(account: IntegrationAccount | None, provider: str, name: str, values: dict,
                 secret: str | None, actor) -> IntegrationAccount:
    """Create or update an account; an empty secret keeps the saved one."""
    check_provider(provider)
    settings = clean_settings(provider, values)
    missing = [n.replace("_", " ") for n, v in settings.items() if not v]
    if not name.strip() or missing:
        raise DomainError("Fill in " + ", ".join((["the name"] if not name.strip() else []) + missing) + ".")
    if account is None and not secret:
        raise DomainError(f"Fill in the {SECRET_LABELS[provider]}.")
    if address_problem(provider, settings):
        raise DomainError(address_problem(provider, settings))
    _check_name_free(provider, name.strip(), account)
    creating = account is None
    if creating:
        account = IntegrationAccount(provider=provider, created_by=audit.actor_label(actor), field_mapping={})
        db.session.add(account)
    old = dict(account.settings or {})
    changed = any(old.get(k) != v for k, v in settings.items()) or bool(secret)
    if provider == CONNECTWISE and old.get("codebase") and not _same_site(old, settings):
        old.pop("codebase")  # another site or company: discover its codebase again
    account.name, account.settings = name.strip(), {**old, **settings}
    if secret:
        account.secret = secrets.box().encrypt(secret)
    if changed:
        account.last_check_ok, account.last_check_message, account.last_checked_at = None, "", None
    db.session.flush()
    audit.record(actor, "integration.create" if creating else "integration.update", obj=account,
                 summary=f"{LABELS[provider]} account {account.name}",
                 detail={"secret_changed": bool(secret), "settings": sorted(settings)})
    db.session.commit()
    return account


def _same_site(old: dict, new: dict) -> bool:
    """Whether the site and company id are the ones the codebase was discovered for."""
    return old.get("site") == new.get("site") and old.get("company_id") == new.get("company_id")


def _check_name_free(provider: str, name: str, account: IntegrationAccount | None) -> None:
    """Two accounts of a provider cannot share a name."""
    other = db.session.scalar(sa.select(IntegrationAccount).where(
        IntegrationAccount.provider == provider, sa.func.lower(IntegrationAccount.name) == name.lower()))
    if other is not None and other is not account:
        raise DomainError(f"Another {LABELS[provider]} account is already called {name}.")


def delete_account(account: IntegrationAccount, actor) -> int:
    """Delete an account; the deployments it linked are unlinked. Returns how many were."""
    linked = link_counts().get(account.id, 0)
    audit.record(actor, "integration.delete", obj=account, summary=f"{account.provider_label} account "
                 f"{account.name} ({linked} deployment links removed)")
    db.session.delete(account)
    db.session.commit()
    return linked


def _credentials(provider: str, settings: dict, secret: str):
    """The client's credentials from settings and the plaintext secret."""
    if provider == CONNECTWISE:
        return ConnectWiseCredentials(site=settings["site"].removeprefix(_PLAIN), company_id=settings["company_id"],
                                      public_key=settings["public_key"], private_key=secret,
                                      client_id=settings["client_id"], codebase=settings.get("codebase") or None)
    return ZendeskCredentials(subdomain=settings["subdomain"], email=settings["email"], api_token=secret)


def make_client(provider: str, settings: dict, secret: str, *, on_wait: OnWait | None = None):
    """A ConnectWise or Zendesk client for these settings (plain http only for the local stand-ins)."""
    credentials = _credentials(provider, settings, secret)
    address = settings["site" if provider == CONNECTWISE else "subdomain"]
    plain = address.startswith(_PLAIN) and _plain_http_allowed()
    if provider == CONNECTWISE:
        return ConnectWiseClient(credentials, scheme="http" if plain else "https", on_wait=on_wait)
    return ZendeskClient(credentials, base_url=address + "/api/v2" if plain else None, on_wait=on_wait)


def client_for(account: IntegrationAccount, *, on_wait: OnWait | None = None):
    """The client of a saved account, its secret decrypted only for the client's session headers."""
    return make_client(account.provider, account.settings or {}, secrets.box().decrypt(account.secret) or "",
                       on_wait=on_wait)


def remember_codebase(account: IntegrationAccount, client) -> None:
    """Keep a discovered ConnectWise codebase, so later calls skip the discovery."""
    codebase = getattr(client, "codebase", None)
    if account.provider == CONNECTWISE and codebase and account.setting("codebase") != codebase:
        account.settings = {**(account.settings or {}), "codebase": codebase}


def check_connection(provider: str, values: dict, secret: str | None,
                     account: IntegrationAccount | None = None) -> ConnectionCheck:
    """Test typed settings (the saved secret when none is typed); the outcome in plain words.

    When the typed settings are the saved ones, the outcome is kept on the account.
    """
    check_provider(provider)
    settings = clean_settings(provider, values)
    missing = [n.replace("_", " ") for n, v in settings.items() if not v]
    saved_secret = secrets.box().decrypt(account.secret) if account is not None else None
    if missing or not (secret or saved_secret):
        missing += [] if secret or saved_secret else [SECRET_LABELS[provider]]
        return ConnectionCheck(False, "Fill in " + ", ".join(missing) + " first.", "invalid")
    if address_problem(provider, settings):
        return ConnectionCheck(False, address_problem(provider, settings), "invalid")
    saved = account is not None and not secret and all(account.setting(k) == v for k, v in settings.items())
    if saved:
        settings["codebase"] = account.setting("codebase")
    with make_client(provider, settings, secret or saved_secret) as client:
        result = _worded(provider, settings, client.test_connection())
        if saved:
            remember_codebase(account, client)
            account.last_check_ok, account.last_check_message = result.ok, result.message
            account.last_checked_at = utcnow()
            db.session.commit()
    return result


def _worded(provider: str, settings: dict, check: ConnectionCheck) -> ConnectionCheck:
    """Zendesk answers an unknown subdomain with 404: say what that means."""
    if provider == ZENDESK and not check.ok and check.kind == NOT_FOUND:
        return ConnectionCheck(False, f"Zendesk has no account at {settings['subdomain']} (404). Check the "
                                      "subdomain: the part before .zendesk.com.", check.kind)
    return check
