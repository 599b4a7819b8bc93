"""IntegrationFetch: one fetch of a linked company's people, waiting in the database for field matching."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class FetchState:
    """Where a fetch stands; fetched, failed and staged are final for the job."""

    QUEUED = "queued"
    RUNNING = "running"
    FETCHED = "fetched"
    FAILED = "failed"
    STAGED = "staged"
    OPEN = (QUEUED, RUNNING)


class IntegrationFetch(db.Model):
    """The raw records of one fetch (several web processes share them), its progress and outcome."""

    __tablename__ = "integration_fetches"
    __table_args__ = (sa.Index("ix_integration_fetches_deployment_created", "deployment_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("integration_accounts.id", ondelete="CASCADE"),
                           nullable=False)
    provider = sa.Column(sa.String(20), nullable=False)
    remote_id = sa.Column(sa.String(64), nullable=False)
    remote_name = sa.Column(sa.String(255), nullable=False, default="")
    state = sa.Column(sa.String(20), nullable=False, default=FetchState.QUEUED)
    job_id = sa.Column(sa.String(100), nullable=False, default="")
    fetched = sa.Column(sa.Integer, nullable=False, default=0)  # people seen so far, kept or skipped
    total = sa.Column(sa.Integer)  # when the service tells it (ConnectWise does, Zendesk does not)
    pages = sa.Column(sa.Integer, nullable=False, default=0)
    waiting = sa.Column(sa.String(255), nullable=False, default="")  # "Waiting 3 s: ConnectWise rate limit"
    message = sa.Column(sa.Text, nullable=False, default="")  # the outcome in plain words
    error_kind = sa.Column(sa.String(20), nullable=False, default="")
    # Deferred: the progress poll reads the counters, not 5,000 raw records.
    records = sa.orm.deferred(sa.Column(sa.JSON, nullable=False, default=list))  # the raw people kept
    skipped = sa.orm.deferred(sa.Column(sa.JSON, nullable=False, default=list))  # [[key, name, reason], ...]
    batch_id = sa.Column(sa.Integer, sa.ForeignKey("import_batches.id", ondelete="SET NULL"))
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    started_at = sa.Column(sa.DateTime(timezone=True))
    finished_at = sa.Column(sa.DateTime(timezone=True))

    account = db.relationship("IntegrationAccount")
    deployment = db.relationship("Deployment")

    @property
    def running(self) -> bool:
        """Whether the job has yet to finish."""
        return self.state in FetchState.OPEN
