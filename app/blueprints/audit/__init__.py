"""The audit log pages."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("audit", __name__)
scope_to_deployment(bp)

from app.blueprints.audit import routes  # noqa: E402,F401
