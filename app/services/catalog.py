"""The Catalog: users seen by discovery, searched and filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry, Deployment, User
from app.services.search import matches_any
from app.services.user_schema import FIELD_NAMES


@dataclass
class CatalogQuery:
    """What the Catalog table shows."""

    q: str = ""
    source: str = ""
    department: str = ""
    location: str = ""
    seen_since: datetime | None = None
    imported: str = ""  # "yes": only entries already imported as users, "no": only those not yet
    page: int = 1
    per_page: int = 50


def search_entries(deployment: Deployment, query: CatalogQuery):
    """A page of catalog entries, the most recently seen first."""
    stmt = sa.select(CatalogEntry).where(CatalogEntry.deployment_id == deployment.id)
    if query.q:
        columns = [getattr(CatalogEntry, n) for n in FIELD_NAMES]
        stmt = stmt.where(matches_any([*columns, CatalogEntry.display_name, CatalogEntry.machine_name], query.q))
    if query.source:
        stmt = stmt.where(CatalogEntry.source == query.source)
    if query.department:
        stmt = stmt.where(CatalogEntry.department == query.department)
    if query.location:
        stmt = stmt.where(CatalogEntry.location == query.location)
    if query.seen_since:
        stmt = stmt.where(CatalogEntry.last_seen >= query.seen_since)
    if query.imported in ("yes", "no"):
        became_user = CatalogEntry.id.in_(imported_ids_query(deployment))
        stmt = stmt.where(became_user if query.imported == "yes" else ~became_user)
    stmt = stmt.order_by(CatalogEntry.last_seen.desc(), CatalogEntry.id.desc())
    return db.paginate(stmt, page=max(query.page, 1), per_page=query.per_page, error_out=False)


def facet_values(deployment: Deployment, column_name: str) -> list[str]:
    """The distinct non-empty values of a column, for a filter's choices."""
    column = getattr(CatalogEntry, column_name)
    stmt = (sa.select(column).where(CatalogEntry.deployment_id == deployment.id, column != "")
            .distinct().order_by(column).limit(500))
    return list(db.session.scalars(stmt))


def imported_ids_query(deployment: Deployment):
    """The ids of the deployment's catalog entries that became users (a select, usable as a subquery)."""
    return sa.select(User.catalog_entry_id).where(User.deployment_id == deployment.id,
                                                  User.catalog_entry_id.is_not(None))


def not_imported_count(deployment: Deployment) -> int:
    """How many catalog entries have not become users yet (what "Import all" would stage)."""
    return db.session.scalar(
        sa.select(sa.func.count(CatalogEntry.id)).where(CatalogEntry.deployment_id == deployment.id,
                                                        CatalogEntry.id.not_in(imported_ids_query(deployment)))) or 0


def catalog_size(deployment: Deployment) -> int:
    """How many entries the deployment's catalog holds."""
    return db.session.scalar(
        sa.select(sa.func.count(CatalogEntry.id)).where(CatalogEntry.deployment_id == deployment.id)) or 0
