"""ImportBatch and ImportRow: a staged import from any source, row by row, with its problems."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import RawUserFieldsMixin, utcnow

SOURCES = {"excel": "Excel", "csv": "CSV", "catalog": "Catalog", "connectwise": "ConnectWise",
           "zendesk": "Zendesk", "api": "API"}


class BatchState:
    """Where a batch stands."""

    STAGED = "staged"
    IMPORTED = "imported"
    PARTIAL = "partially_imported"
    DISCARDED = "discarded"
    LABELS = {STAGED: "in fix-up", IMPORTED: "imported", PARTIAL: "partly imported", DISCARDED: "discarded"}


class RowState:
    """Where a row stands."""

    PENDING = "pending"
    SKIPPED = "skipped"
    IMPORTED = "imported"


class ImportBatch(db.Model):
    """One staged import; its counts are kept current so 100,000-row batches page fast."""

    __tablename__ = "import_batches"
    __table_args__ = (sa.Index("ix_import_batches_deployment_created", "deployment_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    source = sa.Column(sa.String(20), nullable=False)
    filename = sa.Column(sa.String(255), nullable=False, default="")
    state = sa.Column(sa.String(20), nullable=False, default=BatchState.STAGED)
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    row_count = sa.Column(sa.Integer, nullable=False, default=0)
    error_rows = sa.Column(sa.Integer, nullable=False, default=0)
    warning_rows = sa.Column(sa.Integer, nullable=False, default=0)
    skipped_rows = sa.Column(sa.Integer, nullable=False, default=0)
    imported_rows = sa.Column(sa.Integer, nullable=False, default=0)
    # What the source told us: matched and unknown columns, skipped people, the mapping used...
    meta = sa.Column(sa.JSON, nullable=False, default=dict)

    deployment = db.relationship("Deployment")

    @property
    def source_label(self) -> str:
        """The source as the pages show it."""
        return SOURCES.get(self.source, self.source)

    @property
    def state_label(self) -> str:
        """The state as the pages show it."""
        return BatchState.LABELS.get(self.state, self.state)

    @property
    def pending_rows(self) -> int:
        """Rows neither imported nor skipped."""
        return self.row_count - self.skipped_rows - self.imported_rows

    @property
    def importable_rows(self) -> int:
        """Pending rows without errors."""
        return self.pending_rows - self.error_rows


class ImportRow(RawUserFieldsMixin, db.Model):
    """One staged record: the canonical fields, its problems, and where it went."""

    __tablename__ = "import_rows"
    __table_args__ = (
        sa.Index("ix_import_rows_batch_row", "batch_id", "row_number"),
        sa.Index("ix_import_rows_batch_errors", "batch_id", "has_errors", "row_number"),
        sa.Index("ix_import_rows_batch_username", "batch_id", "username_key"),
        sa.Index("ix_import_rows_batch_email", "batch_id", "email_key"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    batch_id = sa.Column(sa.Integer, sa.ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False)
    row_number = sa.Column(sa.Integer, nullable=False)
    state = sa.Column(sa.String(20), nullable=False, default=RowState.PENDING)
    has_errors = sa.Column(sa.Boolean, nullable=False, default=False)
    has_warnings = sa.Column(sa.Boolean, nullable=False, default=False)
    problems = sa.Column(sa.JSON, nullable=False, default=list)
    # Lower-cased username and email, to find the other rows of the file that use them.
    username_key = sa.Column(sa.Text, nullable=False, default="")
    email_key = sa.Column(sa.Text, nullable=False, default="")
    source_key = sa.Column(sa.String(255), nullable=False, default="")
    catalog_entry_id = sa.Column(sa.Integer, sa.ForeignKey("catalog_entries.id", ondelete="SET NULL"))
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))

    batch = db.relationship("ImportBatch")
