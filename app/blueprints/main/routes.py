"""Home redirects to the deployments; /health tells a load balancer whether we can serve."""

import sqlalchemy as sa
from flask import jsonify, redirect, url_for

from app.blueprints.main import bp
from app.extensions import db, limiter
from app.services import queue


@bp.get("/")
def index():
    """The portal starts at the list of deployments."""
    return redirect(url_for("deployments.index"))


@bp.get("/health")
@limiter.exempt
def health():
    """Database and Redis reachable: 200; otherwise 503 naming what is down."""
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy; the name says which part
        checks["database"] = "unreachable"
    try:
        queue.connection().ping()
        checks["redis"] = "ok"
    except Exception:  # noqa: BLE001
        checks["redis"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
