"""Import from catalog: discovered people staged through the same preview and fix-up as Excel."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry, Deployment, ImportBatch, User
from app.models._base import record_of
from app.services import catalog
from app.services.errors import DomainError
from app.services.staging.batches import StagedRecord, stage_records


def imported_entry_ids(deployment: Deployment, entry_ids=None) -> set[int]:
    """Which catalog entries already became users of the deployment."""
    stmt = catalog.imported_ids_query(deployment)
    if entry_ids is not None:
        stmt = stmt.where(User.catalog_entry_id.in_(list(entry_ids)))
    return set(db.session.scalars(stmt))


def stage_catalog_entries(deployment: Deployment, entry_ids: list[int] | None, actor) -> ImportBatch:
    """Stage the chosen entries (all of them for None); entries already imported are left out."""
    stmt = sa.select(CatalogEntry).where(CatalogEntry.deployment_id == deployment.id)
    if entry_ids is not None:
        stmt = stmt.where(CatalogEntry.id.in_(entry_ids))
    entries = list(db.session.scalars(stmt.order_by(CatalogEntry.last_name, CatalogEntry.first_name)))
    done = imported_entry_ids(deployment, [e.id for e in entries])
    fresh = [e for e in entries if e.id not in done]
    if not fresh:
        raise DomainError("Every chosen catalog entry is already imported." if entries
                          else "Choose at least one catalog entry to import.")
    records = [StagedRecord(row_number=n, values=record_of(e), source_key=e.source_key, catalog_entry_id=e.id)
               for n, e in enumerate(fresh, start=1)]
    left_out = len(entries) - len(fresh)
    meta = {"skipped_summary": f"{left_out} chosen entries were already imported and were left out."
            if left_out else "", "catalog_entries": len(fresh)}
    return stage_records(deployment, "catalog", records, actor, filename="Catalog", meta=meta)
