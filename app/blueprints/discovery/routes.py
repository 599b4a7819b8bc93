"""The Discovery page, the discovery tokens (shown once), and the configured agent downloads."""

from flask import current_app, flash, g, make_response, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import hx_redirect, is_htmx
from app.blueprints.discovery import bp
from app.blueprints.discovery.forms import NetworkSourceForm, TokenForm
from app.services import agent_package, discovery
from app.services import network_discovery_runs as runs
from app.services.errors import DomainError
from app.services.network_discovery import RULES

AGENT_KINDS = "<any(python, powershell):kind>"
AGENT_TYPES = {"python": "text/x-python; charset=utf-8", "powershell": "text/plain; charset=utf-8"}


def tokens_context(new_token: str | None = None, error: str | None = None) -> dict:
    """What the tokens section shows."""
    return dict(deployment=g.deployment, tokens=discovery.list_tokens(g.deployment), new_token=new_token,
                token_error=error, token_form=TokenForm(formdata=None))


@bp.app_context_processor
def discovery_panel_helper():
    """The dashboard's discovery panel reads its figures through this helper."""

    def discovery_panel(deployment) -> dict:
        """Active tokens and their last use, the source domain, the last three runs."""
        tokens = [t for t in discovery.list_tokens(deployment) if t.active]
        return dict(active_tokens=len(tokens), last_used=max((t.last_used_at for t in tokens if t.last_used_at),
                                                             default=None),
                    source=runs.deployment_source(deployment), runs=runs.recent_runs(deployment, 3))

    return {"discovery_panel": discovery_panel}


@bp.get("/")
def index():
    """Tokens, agent downloads, and network discovery with its runs."""
    source = runs.source_for(g.deployment)
    return render_template("discovery/index.html", **tokens_context(), **network_context(source))


def network_context(source, form=None, error=None, message=None) -> dict:
    """What the network discovery section shows."""
    recent = runs.recent_runs(g.deployment)
    counted = next((r for r in recent if r.state == "finished"), None)
    return dict(source=source, form=form or NetworkSourceForm(obj=source), network_error=error,
                network_message=message, runs=recent, rules=RULES,
                rule_counts=counted.skipped_by_rule if counted else {})


def _tokens_response(new_token: str | None = None, error: str | None = None):
    """The tokens section for htmx (422 with an error), else the whole page."""
    template = "discovery/_tokens.html" if is_htmx() else "discovery/index.html"
    context = tokens_context(new_token, error)
    if not is_htmx():
        context.update(network_context(runs.source_for(g.deployment)))
    return render_template(template, **context), 422 if error else 200


@bp.post("/tokens")
def create_token():
    """Issue a token; its value is shown this once."""
    form = TokenForm()
    if not form.validate():
        return _tokens_response(error="The name is at most 120 characters.")
    _, token = discovery.issue_token(g.deployment, form.name.data, current_user)
    return _tokens_response(new_token=token)


@bp.post("/tokens/<int:token_id>/rotate")
def rotate_token(token_id: int):
    """Revoke a token and issue its replacement, shown once."""
    try:
        _, token = discovery.rotate_token(g.deployment, token_id, current_user)
    except DomainError as exc:
        return _tokens_response(error=exc.message)
    return _tokens_response(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke a token: agents carrying it are refused from now on."""
    discovery.revoke_token(g.deployment, token_id, current_user)
    return _tokens_response()


@bp.post(f"/agent/{AGENT_KINDS}")
def download_agent(kind: str):
    """The agent, configured with the portal's address and a fresh token of its own."""
    portal_url = current_app.config.get("ENLIST_PUBLIC_URL") or request.host_url
    _, token = discovery.issue_token(g.deployment, f"{kind.title()} agent downloaded by "
                                                   f"{current_user.email}", current_user)
    try:
        text = agent_package.configure_agent(kind, portal_url.rstrip("/"), token, g.deployment.code)
    except ValueError as exc:  # a portal address the agent cannot use, e.g. ENLIST_PUBLIC_URL without https://
        flash(f"The agent could not be configured: {exc}. Set ENLIST_PUBLIC_URL to the portal's address.", "error")
        return hx_redirect(url_for("discovery.index"))
    response = make_response(text.encode("utf-8"))
    response.headers["Content-Type"] = AGENT_TYPES[kind]
    response.headers["Content-Disposition"] = f'attachment; filename="{agent_package.agent_filename(kind)}"'
    response.headers["Cache-Control"] = "no-store"
    return response

