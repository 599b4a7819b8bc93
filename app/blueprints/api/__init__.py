"""The automation API under /api/v1: bearer tokens, JSON in and out, the same services as the pages."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies are accepted here: bearer tokens only, so CSRF cannot apply

from app.blueprints.api import auth, cloud, discovery, imports, routes  # noqa: E402,F401
