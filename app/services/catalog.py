"""The Catalog: users seen by discovery, searched and filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry, Deployment
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
    stmt = stmt.order_by(CatalogEntry.last_seen.desc(), CatalogEntry.id.desc())
    return db.paginate(stmt, page=max(query.page, 1), per_page=query.per_page, error_out=False)


def facet_values(deployment: Deployment, column_name: str) -> list[str]:
    """The distinct non-empty values of a column, for a filter's choices."""
    column = getattr(CatalogEntry, column_name)
    stmt = (sa.select(column).where(CatalogEntry.deployment_id == deployment.id, column != "")
            .distinct().order_by(column).limit(500))
    return list(db.session.scalars(stmt))


def catalog_size(deployment: Deployment) -> int:
    """How many entries the deployment's catalog holds."""
    return db.session.scalar(
        sa.select(sa.func.count(CatalogEntry.id)).where(CatalogEntry.deployment_id == deployment.id)) or 0
