"""Deployments: one per client, its dashboard and its settings."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("deployments", __name__, url_prefix="/deployments")
scope_to_deployment(bp)

from app.blueprints.deployments import routes  # noqa: E402,F401
