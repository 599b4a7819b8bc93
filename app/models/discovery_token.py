"""DiscoveryToken: what a deployment's discovery agents present to the discovery API."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class DiscoveryToken(db.Model):
    """A bearer token of one deployment; only its SHA-256 is stored, so it is shown once."""

    __tablename__ = "discovery_tokens"
    __table_args__ = (sa.Index("ix_discovery_tokens_deployment_created", "deployment_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    name = sa.Column(sa.String(120), nullable=False, default="")
    token_digest = sa.Column(sa.String(64), nullable=False, unique=True)
    hint = sa.Column(sa.String(16), nullable=False, default="")  # the first characters, to tell tokens apart
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_used_at = sa.Column(sa.DateTime(timezone=True))
    uses = sa.Column(sa.Integer, nullable=False, default=0)
    revoked_at = sa.Column(sa.DateTime(timezone=True))

    deployment = db.relationship("Deployment")

    @property
    def active(self) -> bool:
        """Whether the token is still accepted."""
        return self.revoked_at is None
