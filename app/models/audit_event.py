"""AuditEvent: who did what to which object, when, and the outcome."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class AuditEvent(db.Model):
    """One recorded action."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_deployment_at", "deployment_id", "at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    actor = sa.Column(sa.String(254), nullable=False)
    operator_id = sa.Column(sa.Integer, sa.ForeignKey("operators.id", ondelete="SET NULL"))
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"))
    action = sa.Column(sa.String(60), nullable=False)
    object_type = sa.Column(sa.String(40), nullable=False, default="")
    object_id = sa.Column(sa.String(64), nullable=False, default="")
    summary = sa.Column(sa.String(500), nullable=False, default="")
    outcome = sa.Column(sa.String(20), nullable=False, default="ok")
    detail = sa.Column(sa.JSON, nullable=False, default=dict)
