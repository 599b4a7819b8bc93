"""ApiToken: a personal bearer token of an operator for the automation API."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id = sa.Column(sa.Integer, primary_key=True)
    operator_id = sa.Column(sa.Integer, sa.ForeignKey("operators.id", ondelete="CASCADE"), nullable=False)
    name = sa.Column(sa.String(120), nullable=False, default="")
    token_digest = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_used_at = sa.Column(sa.DateTime(timezone=True))
    revoked_at = sa.Column(sa.DateTime(timezone=True))

    operator = db.relationship("Operator")
