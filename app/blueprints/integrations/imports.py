"""Import from ConnectWise or Zendesk: fetch (a background job, polled), match fields, stage for the preview."""

from flask import flash, g, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import hx_redirect, is_htmx
from app.blueprints.integrations import bp
from app.models import FetchState
from app.services.errors import DomainError
from app.services.integration_imports import accounts, fetches, links, matching
from app.services.integrations import CONNECTWISE, ZENDESK

PROVIDER = "<any(connectwise, zendesk):provider>"


def _import_page(provider: str):
    """Where the "+" menu entry leads: the linked company, a Fetch button, and the latest fetches."""
    return render_template("integrations/import.html", deployment=g.deployment, provider=provider,
                           label=accounts.LABELS[provider], link=links.link_for(g.deployment, provider),
                           not_linked=links.NOT_LINKED[provider],
                           fetches=fetches.recent_fetches(g.deployment, provider))


@bp.get("/deployments/<code>/connectwise/import")
def import_connectwise():
    """Import from ConnectWise: the contacts of the linked company."""
    return _import_page(CONNECTWISE)


@bp.get("/deployments/<code>/zendesk/import")
def import_zendesk():
    """Import from Zendesk: the end users of the linked organization."""
    return _import_page(ZENDESK)


@bp.post(f"/deployments/<code>/integrations/{PROVIDER}/fetch")
def start_fetch(provider: str):
    """Queue the fetch and show its progress."""
    try:
        fetch = fetches.start_fetch(g.deployment, provider, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return hx_redirect(url_for(f"integrations.import_{provider}"))
    return hx_redirect(url_for("integrations.fetch_page", fetch_id=fetch.id))


def _fetch_context(fetch, form=None) -> dict:
    """The fetch, and once it has people, the field-matching screen's content."""
    screen = matching.matching_for(fetch, form) if fetch.state == FetchState.FETCHED else None
    nobody = matching.nobody_message(fetch, screen.result) if screen and not screen.result.records else None
    return dict(deployment=g.deployment, fetch=fetch, label=accounts.LABELS[fetch.provider], m=screen,
                nobody=nobody, prefix=matching.FIELD_PREFIX)


@bp.get("/deployments/<code>/integrations/fetches/<int:fetch_id>")
def fetch_page(fetch_id: int):
    """The fetch's progress (htmx polls it) until it ends, then the field-matching screen."""
    fetch = fetches.refresh(fetches.get_fetch(g.deployment, fetch_id))
    if fetch.state == FetchState.STAGED and fetch.batch_id:
        return hx_redirect(url_for("imports.show", batch_id=fetch.batch_id))
    context = _fetch_context(fetch)
    if is_htmx():
        return render_template("integrations/_fetch.html", **context)
    return render_template("integrations/fetch.html", **context)


@bp.get("/deployments/<code>/integrations/fetches/<int:fetch_id>/preview")
def mapping_preview(fetch_id: int):
    """The first rows under the mapping chosen so far (htmx, on every change of a select)."""
    fetch = fetches.get_fetch(g.deployment, fetch_id)
    if fetch.state != FetchState.FETCHED:
        return render_template("integrations/_mapping_preview.html", m=None, gone=True)
    return render_template("integrations/_mapping_preview.html", m=matching.matching_for(fetch, request.args),
                           gone=False)


@bp.post("/deployments/<code>/integrations/fetches/<int:fetch_id>/stage")
def stage(fetch_id: int):
    """Stage every fetched person under the chosen mapping, then open the import preview."""
    fetch = fetches.get_fetch(g.deployment, fetch_id)
    mapping = matching.mapping_from_form(fetch.provider, request.form, fetch.records or [])
    try:
        batch = matching.stage_fetch(fetch, mapping, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return hx_redirect(url_for("integrations.fetch_page", fetch_id=fetch.id))
    return hx_redirect(url_for("imports.show", code=g.deployment.code, batch_id=batch.id))

