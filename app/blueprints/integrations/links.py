"""Export a deployment: find and link its ConnectWise company or Zendesk organization, or create it."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import is_htmx
from app.blueprints.integrations import bp
from app.services.errors import DomainError
from app.services.integration_imports import accounts, links
from app.services.integrations import PROVIDERS

PROVIDER = "<any(connectwise, zendesk):provider>"


def panel(provider: str, error: str | None = None, values: dict | None = None) -> dict:
    """What one provider's panel shows."""
    return {"provider": provider, "label": accounts.LABELS[provider], "link": links.link_for(g.deployment, provider),
            "accounts": accounts.list_accounts(provider), "error": error, "values": values or {}}


def _panel_response(provider: str, error: str | None = None, values: dict | None = None):
    """The provider's panel for htmx (422 with the error), else back to the page."""
    if is_htmx():
        return render_template("integrations/_provider.html", deployment=g.deployment,
                               p=panel(provider, error, values)), 422 if error else 200
    if error:
        flash(error, "error")
    return redirect(url_for("integrations.links_page"), code=303)


@bp.get("/deployments/<code>/integrations/")
def links_page():
    """Both providers: the linked company or organization, or how to link one."""
    return render_template("integrations/links.html", deployment=g.deployment,
                           panels=[panel(p) for p in PROVIDERS])


@bp.get(f"/deployments/<code>/integrations/{PROVIDER}/search")
def search(provider: str):
    """Companies or organizations whose name starts with what was typed (active search)."""
    query = request.args.get("q", "").strip()[:100]
    try:
        account = links.account_for(provider, request.args.get("account_id", type=int))
        found, error = links.search_remotes(account, query), None
    except DomainError as exc:
        account, found, error = None, [], exc.message
    return render_template("integrations/_search_results.html", deployment=g.deployment, provider=provider,
                           account=account, found=found, error=error, query=query)


@bp.post(f"/deployments/<code>/integrations/{PROVIDER}/link")
def link(provider: str):
    """Link the deployment to the chosen company or organization."""
    try:
        account = links.account_for(provider, request.form.get("account_id", type=int))
        remote_id = request.form.get("remote_id", type=int)
        if remote_id is None:
            raise DomainError("Choose a company to link first.")
        links.link_remote(g.deployment, account, remote_id, current_user)
    except DomainError as exc:
        return _panel_response(provider, exc.message)
    return _panel_response(provider)


@bp.post(f"/deployments/<code>/integrations/{PROVIDER}/create")
def create_remote(provider: str):
    """Create the company or organization from the deployment's details, and link it."""
    values = {k: request.form.get(k, "") for k in ("name", "identifier", "address_line1", "city")}
    try:
        account = links.account_for(provider, request.form.get("account_id", type=int))
        links.create_remote(g.deployment, account, values, current_user)
    except DomainError as exc:
        return _panel_response(provider, exc.message, values)
    return _panel_response(provider)


@bp.post(f"/deployments/<code>/integrations/{PROVIDER}/unlink")
def unlink(provider: str):
    """Forget the link (nothing changes in ConnectWise or Zendesk)."""
    links.unlink(g.deployment, provider, current_user)
    return _panel_response(provider)
