"""DiscoveryRun: one network discovery run, its progress and its counts."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class RunState:
    """Where a run stands; finished and failed are final."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    OPEN = (QUEUED, RUNNING)


class DiscoveryRun(db.Model):
    """Counts add up: read = created + updated + unchanged + rejected + skipped."""

    __tablename__ = "discovery_runs"
    __table_args__ = (sa.Index("ix_discovery_runs_deployment_created", "deployment_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    state = sa.Column(sa.String(20), nullable=False, default=RunState.QUEUED)
    full_requested = sa.Column(sa.Boolean, nullable=False, default=False)
    mode = sa.Column(sa.String(12), nullable=False, default="")  # "full" or "incremental", decided by the job
    job_id = sa.Column(sa.String(100), nullable=False, default="")
    read = sa.Column(sa.Integer, nullable=False, default=0)  # accounts read with their details
    created = sa.Column(sa.Integer, nullable=False, default=0)
    updated = sa.Column(sa.Integer, nullable=False, default=0)
    unchanged = sa.Column(sa.Integer, nullable=False, default=0)
    rejected = sa.Column(sa.Integer, nullable=False, default=0)
    skipped = sa.Column(sa.Integer, nullable=False, default=0)
    missing = sa.Column(sa.Integer, nullable=False, default=0)  # catalog entries newly marked not found
    present = sa.Column(sa.Integer, nullable=False, default=0)  # accounts under the base (full key listing)
    skipped_by_rule = sa.Column(sa.JSON, nullable=False, default=dict)
    rejected_details = sa.Column(sa.JSON, nullable=False, default=list)  # [[key, name, reason], ...] (first 50)
    usn_from = sa.Column(sa.BigInteger)
    usn_to = sa.Column(sa.BigInteger)
    message = sa.Column(sa.Text, nullable=False, default="")
    error_kind = sa.Column(sa.String(30), nullable=False, default="")
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    started_at = sa.Column(sa.DateTime(timezone=True))
    finished_at = sa.Column(sa.DateTime(timezone=True))

    @property
    def running(self) -> bool:
        """Whether the job has yet to finish."""
        return self.state in RunState.OPEN

    @property
    def seconds(self) -> float | None:
        """How long the run took, once finished."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
