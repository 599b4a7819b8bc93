"""Bulk import: template, upload, the red-triangle preview, inline fix-up, save and import."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("imports", __name__, url_prefix="/deployments/<code>/imports")
scope_to_deployment(bp)

from app.blueprints.imports import routes  # noqa: E402,F401
