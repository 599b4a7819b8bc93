"""Save and import: a staged batch's valid rows become draft users, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import BatchState, ImportBatch, ImportRow, RowState, User, UserStatus
from app.models._base import record_of, utcnow
from app.services import audit
from app.services.errors import DomainError
from app.services.staging.batches import recount, require_open, revalidate_all

ORIGIN_OF_SOURCE = {"excel": "excel", "csv": "excel", "catalog": "catalog", "connectwise": "connectwise",
                    "zendesk": "zendesk", "api": "api"}

@dataclass
class CommitResult:
    """What an import did: users created, rows left in the batch."""

    imported: int
    left_with_errors: int
    skipped: int


def commit_batch(batch: ImportBatch, actor, *, only_valid: bool = False) -> CommitResult:
    """Create draft users from the batch's valid rows, all in one transaction.

    Without only_valid, any row with an error stops the whole import. Rows already imported are
    never imported again, so committing twice creates nothing twice.
    """
    require_open(batch)
    revalidate_all(batch)  # users may have been added since the rows were checked
    if batch.error_rows and not only_valid:
        db.session.commit()
        raise DomainError(f"{batch.error_rows} rows still have errors: fix or skip them, "
                          "or import only the valid rows.")
    rows = list(db.session.scalars(sa.select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.state == RowState.PENDING,
        ImportRow.has_errors.is_(False)).order_by(ImportRow.row_number)))
    origin, creator = ORIGIN_OF_SOURCE.get(batch.source, "excel"), audit.actor_label(actor)
    now = utcnow()
    users = [{"deployment_id": batch.deployment_id, **record_of(row), "username_key": row.username_key,
              "email_key": row.email_key, "origin": origin, "status": UserStatus.DRAFT, "step": "",
              "last_error": "", "ad_dn": "", "object_guid": "", "catalog_entry_id": row.catalog_entry_id,
              "import_batch_id": batch.id, "created_by": creator, "created_at": now, "updated_at": now}
             for row in rows]
    ids = []
    for start in range(0, len(users), 2000):
        ids += db.session.scalars(sa.insert(User).returning(User.id, sort_by_parameter_order=True),
                                  users[start:start + 2000]).all()
    db.session.execute(sa.update(ImportRow), [{"id": row.id, "state": RowState.IMPORTED, "user_id": user_id}
                                              for row, user_id in zip(rows, ids)])
    recount(batch)
    batch.state = BatchState.IMPORTED if batch.pending_rows == 0 else BatchState.PARTIAL
    audit.record(actor, "import.commit", deployment=batch.deployment, obj=batch,
                 summary=f"{len(ids)} users imported from {batch.source_label} {batch.filename}".strip(),
                 detail={"imported": len(ids), "left_with_errors": batch.error_rows, "skipped": batch.skipped_rows})
    db.session.commit()
    return CommitResult(imported=len(ids), left_with_errors=batch.error_rows, skipped=batch.skipped_rows)
