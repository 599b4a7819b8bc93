"""Catalog > Users: the people discovery found."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("catalog", __name__, url_prefix="/deployments/<code>/catalog")
scope_to_deployment(bp)

from app.blueprints.catalog import routes  # noqa: E402,F401
