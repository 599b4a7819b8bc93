"""Operators (admin) and the signed-in operator's own account and API tokens."""

from flask import Blueprint

bp = Blueprint("operators", __name__)

from app.blueprints.operators import routes  # noqa: E402,F401
