"""Who did what, when, with what outcome: per deployment, and portal-wide for admins."""

from flask import g, render_template, request

from app.blueprints.access import admin_required
from app.blueprints.audit import bp
from app.services import audit


@bp.get("/deployments/<code>/audit")
def deployment_log():
    """The deployment's audit log, newest first."""
    page = audit.events_for(g.deployment.id, page=request.args.get("page", 1, type=int))
    return render_template("audit/index.html", page=page, deployment=g.deployment)


@bp.get("/audit")
@admin_required
def portal_log():
    """Portal-wide events (operators, sign-ins, tokens), for admins."""
    page = audit.events_for(None, page=request.args.get("page", 1, type=int))
    return render_template("audit/index.html", page=page, deployment=None)
