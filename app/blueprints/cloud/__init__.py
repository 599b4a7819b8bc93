"""Send to cloud: the send action, its live progress, results and passwords, Test connection, and
the changes to users already in the cloud."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("cloud", __name__, url_prefix="/deployments/<code>/cloud")
scope_to_deployment(bp)

from app.blueprints.cloud import manage, routes  # noqa: E402,F401
