"""Reading a batch's rows for the preview: filters, search and pages that stay fast at 100,000 rows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import ImportBatch, ImportRow, RowState
from app.services.search import matches_any
from app.services.user_schema import FIELD_NAMES, FIELDS_BY_NAME

TITLES = {
    "missing": "{label} is missing", "special_characters": "{label} has special characters",
    "not_digits": "{label} is not digits only", "extension_in_phone": "{label} holds an extension",
    "invalid_email": "{label} is not a valid address", "duplicate_email": "{label} already used by a user",
    "duplicate_username": "{label} already used by a user", "duplicate_in_file": "{label} appears twice in the file",
    "invalid_username": "{label} is not a valid Windows sign-in name", "too_long": "{label} is too long",
    "control_characters": "{label} has line breaks or control characters",
    "email_domain": "{label} outside the sign-in domain",
}


def problem_title(field: str, code: str) -> str:
    """A short heading for a kind of problem shared by many rows."""
    label = FIELDS_BY_NAME[field].label if field in FIELDS_BY_NAME else field
    return TITLES.get(code, "{label}: " + code.replace("_", " ")).format(label=label)


@dataclass
class RowQuery:
    """What the preview shows."""

    errors_only: bool = False
    q: str = ""
    page: int = 1
    per_page: int = 100


@dataclass
class RowPage:
    """One page of rows and how many match in all."""

    items: list[ImportRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after."""
        return self.page < self.pages


def list_rows(batch: ImportBatch, query: RowQuery) -> RowPage:
    """A page of rows in spreadsheet order; totals come from the batch's counts unless searching."""
    stmt = sa.select(ImportRow).where(ImportRow.batch_id == batch.id)
    if query.errors_only:
        stmt = stmt.where(ImportRow.has_errors.is_(True), ImportRow.state == RowState.PENDING)
        total = batch.error_rows
    else:
        total = batch.row_count
    if query.q:
        stmt = stmt.where(matches_any([getattr(ImportRow, name) for name in FIELD_NAMES], query.q))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    page = max(1, query.page)
    items = list(db.session.scalars(stmt.order_by(ImportRow.row_number)
                                    .offset((page - 1) * query.per_page).limit(query.per_page)))
    return RowPage(items=items, total=total, page=page, per_page=query.per_page)


def problem_summary(batch: ImportBatch, limit: int = 12) -> list[dict]:
    """The kinds of problem in the batch, most frequent first, with how many rows have each."""
    counts: dict[tuple[str, str], dict] = {}
    stmt = sa.select(ImportRow.problems).where(ImportRow.batch_id == batch.id, ImportRow.state == RowState.PENDING,
                                               sa.or_(ImportRow.has_errors, ImportRow.has_warnings))
    for problems in db.session.scalars(stmt):
        for p in problems:
            entry = counts.setdefault((p["field"], p["code"]), {**p, "rows": 0, "fixable": 0,
                                                                "title": problem_title(p["field"], p["code"])})
            entry["rows"] += 1
            entry["fixable"] += bool(p.get("suggestion"))
    return sorted(counts.values(), key=lambda e: (-e["rows"], e["field"]))[:limit]
