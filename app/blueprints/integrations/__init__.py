"""Integrations: ConnectWise and Zendesk accounts (admin), deployment links, and imports with field matching."""

from flask import Blueprint

from app.blueprints.access import scope_to_deployment

bp = Blueprint("integrations", __name__)
scope_to_deployment(bp)

from app.blueprints.integrations import accounts, imports, links  # noqa: E402,F401
