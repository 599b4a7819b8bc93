"""Cloud Desktops > Users: the users of a deployment."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("users", __name__, url_prefix="/deployments/<code>/users")
scope_to_deployment(bp)

from app.blueprints.users import routes  # noqa: E402,F401
