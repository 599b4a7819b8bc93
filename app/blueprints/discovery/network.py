"""Network discovery on the Discovery page: the source domain's settings, Test, Run, a run's progress."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import is_htmx
from app.blueprints.discovery import bp
from app.blueprints.discovery.forms import NetworkSourceForm
from app.blueprints.discovery.routes import network_context
from app.services import network_discovery
from app.services import network_discovery_runs as runs
from app.services.directory import DirectoryError
from app.services.errors import DomainError
from app.services.network_discovery import RULES


def _network_response(form=None, error: str | None = None, message: str | None = None):
    """The network section for htmx (422 with an error), else back to the page."""
    if is_htmx():
        context = network_context(runs.source_for(g.deployment), form, error, message)
        return render_template("discovery/_network.html", deployment=g.deployment, **context), \
            422 if error else 200
    flash(error or message or "Saved.", "error" if error else "success")
    return redirect(url_for("discovery.index") + "#network-discovery", code=303)


@bp.post("/network")
def save_network():
    """Save the source domain's settings (a blank password keeps the saved one)."""
    form = NetworkSourceForm()
    if not form.validate():
        return _network_response(form, "Some settings are too long.")
    try:
        runs.save_source(g.deployment, current_user, **form.settings())
    except DomainError as exc:
        return _network_response(form, exc.message)
    return _network_response(message="Network discovery settings saved.")


@bp.post("/network/test")
def test_network():
    """Connect, sign in and find the search base, with the saved settings."""
    source = runs.deployment_source(g.deployment)
    if source is None or not source.configured:
        return _network_response(error="Save the settings first.")
    try:
        message = network_discovery.test_source(source)
    except DirectoryError as exc:
        return _network_response(error=f"Test failed: {exc.message}")
    return _network_response(message=message)


@bp.post("/network/runs")
def start_run():
    """Queue a run (incremental when possible, full when asked); its row then shows the progress."""
    try:
        runs.start_run(g.deployment, current_user, full=request.form.get("full") == "1")
    except DomainError as exc:
        return _network_response(error=exc.message)
    return _network_response()


@bp.get("/network/runs/<int:run_id>")
def run_progress(run_id: int):
    """One run's row: htmx polls it every second until the run is finished or failed."""
    run = runs.refresh(runs.get_run(g.deployment, run_id))
    if is_htmx():
        return render_template("discovery/_run.html", deployment=g.deployment, run=run, rules=RULES)
    return redirect(url_for("discovery.index") + "#network-discovery")
