"""CatalogEntry: a user seen by discovery (the PC agent or network discovery)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import UserFieldsMixin, utcnow

SOURCES = {"pc": "PC agent", "network": "Network discovery"}


class CatalogEntry(UserFieldsMixin, db.Model):
    """A discovered person, upserted by its source key."""

    __tablename__ = "catalog_entries"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "source_key", name="uq_catalog_deployment_source_key"),
        sa.Index("ix_catalog_deployment_last_seen", "deployment_id", "last_seen"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"),
                              nullable=False)
    source = sa.Column(sa.String(20), nullable=False)
    source_key = sa.Column(sa.String(255), nullable=False)
    display_name = sa.Column(sa.String(256), nullable=False, default="")
    machine_name = sa.Column(sa.String(255), nullable=False, default="")
    os = sa.Column(sa.String(255), nullable=False, default="")
    first_seen = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    times_seen = sa.Column(sa.Integer, nullable=False, default=1)
    missing_since = sa.Column(sa.DateTime(timezone=True))

    @property
    def source_label(self) -> str:
        """The source as the pages show it."""
        return SOURCES.get(self.source, self.source)

    @property
    def full_name(self) -> str:
        """First and last name, else the display name."""
        return f"{self.first_name} {self.last_name}".strip() or self.display_name
