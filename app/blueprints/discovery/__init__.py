"""Discovery: the agents' tokens and downloads, network discovery of the client's domain, its runs."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("discovery", __name__, url_prefix="/deployments/<code>/discovery")
scope_to_deployment(bp)

from app.blueprints.discovery import network, routes  # noqa: E402,F401
