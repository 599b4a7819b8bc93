"""Staging: create a batch from any source's records, fix rows, and import it into the Users module."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import BatchState, Deployment, ImportBatch, ImportRow, RowState
from app.models._base import record_of
from app.services import audit
from app.services.database import bulk_insert, refresh_statistics
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.naming import derive_username
from app.services.staging.checks import context_for, deployment_owners, problem_dicts, row_problems
from app.services.staging.fixes import changes_for
from app.services.user_schema import FIELD_NAMES, FIELDS_BY_NAME
from app.services.validation import ERROR, Problem, clean_record


@dataclass
class StagedRecord:
    """One record a source hands to staging."""

    row_number: int
    values: dict
    source_key: str = ""
    catalog_entry_id: int | None = None


def _result_columns(record: dict, problems) -> dict:
    """The validation outcome as row columns."""
    return {"problems": problem_dicts(problems),
            "has_errors": any(p.severity == ERROR for p in problems),
            "has_warnings": any(p.severity != ERROR for p in problems),
            "username_key": record["username"].lower(), "email_key": record["email"].lower()}


def stage_records(deployment: Deployment, source: str, records: Iterable[StagedRecord], actor, *,
                  filename: str = "", meta: dict | None = None) -> ImportBatch:
    """A new batch holding every record, each validated against the deployment and the batch."""
    staged = [(r, clean_record(r.values)) for r in records]
    owners = deployment_owners(deployment)
    for r, record in staged:
        for name, index in (("username", owners.row_usernames), ("email", owners.row_emails)):
            if record[name]:
                index[record[name].lower()].append(r.row_number)
    ctx = context_for(deployment, owners)
    batch = ImportBatch(deployment_id=deployment.id, source=source, filename=filename[:255],
                        created_by=audit.actor_label(actor), meta=meta or {}, state=BatchState.STAGED)
    db.session.add(batch)
    db.session.flush()
    for start in range(0, len(staged), 5000):  # chunks keep a 100,000-row import's memory flat
        bulk_insert(ImportRow.__table__, [
            {"batch_id": batch.id, "row_number": r.row_number, "state": RowState.PENDING,
             "source_key": r.source_key, "catalog_entry_id": r.catalog_entry_id, **record,
             **_result_columns(record, row_problems(record, r.row_number, ctx, owners))}
            for r, record in staged[start:start + 5000]])
    if len(staged) >= 10_000:
        refresh_statistics(ImportRow.__table__)
    recount(batch)
    audit.record(actor, "import.stage", deployment=deployment, obj=batch,
                 summary=f"{batch.row_count} rows from {batch.source_label} {filename}".strip(),
                 detail={"rows": batch.row_count, "errors": batch.error_rows})
    db.session.commit()
    return batch


def recount(batch: ImportBatch) -> None:
    """Recompute the batch's counts from its rows (one aggregate query)."""
    pending = ImportRow.state == RowState.PENDING
    row = db.session.execute(sa.select(
        sa.func.count(ImportRow.id),
        sa.func.count(ImportRow.id).filter(pending, ImportRow.has_errors),
        sa.func.count(ImportRow.id).filter(pending, ImportRow.has_warnings),
        sa.func.count(ImportRow.id).filter(ImportRow.state == RowState.SKIPPED),
        sa.func.count(ImportRow.id).filter(ImportRow.state == RowState.IMPORTED),
    ).where(ImportRow.batch_id == batch.id)).one()
    batch.row_count, batch.error_rows, batch.warning_rows, batch.skipped_rows, batch.imported_rows = row


def _tally(rows: list[ImportRow]) -> tuple[int, int, int, int]:
    """(pending with errors, pending with warnings, skipped, imported) among some rows."""
    pending = [r for r in rows if r.state == RowState.PENDING]
    return (sum(r.has_errors for r in pending), sum(r.has_warnings for r in pending),
            sum(r.state == RowState.SKIPPED for r in rows), sum(r.state == RowState.IMPORTED for r in rows))


def _adjust(batch: ImportBatch, before: tuple, rows: list[ImportRow]) -> None:
    """Move the batch's counts by what changed among these rows (no scan of a 100,000-row batch)."""
    delta = [after - prior for after, prior in zip(_tally(rows), before)]
    batch.error_rows += delta[0]
    batch.warning_rows += delta[1]
    batch.skipped_rows += delta[2]
    batch.imported_rows += delta[3]


def get_batch(deployment: Deployment, batch_id: int) -> ImportBatch:
    """A batch of this deployment; NotFound otherwise."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.deployment_id != deployment.id:
        raise NotFound("This import does not exist (it may have been discarded).")
    return batch


def get_row(batch: ImportBatch, row_number: int) -> ImportRow:
    """A row of the batch by its spreadsheet row number."""
    row = db.session.scalar(sa.select(ImportRow).where(ImportRow.batch_id == batch.id,
                                                       ImportRow.row_number == row_number))
    if row is None:
        raise NotFound(f"Row {row_number} is not part of this import.")
    return row


def require_open(batch: ImportBatch) -> None:
    """Rows of a finished batch no longer change."""
    if batch.state in (BatchState.IMPORTED, BatchState.DISCARDED):
        raise Conflict(f"This import is {batch.state_label}: its rows can no longer change.")


def _neighbours(batch: ImportBatch, keys: set[tuple[str, str]]) -> list[ImportRow]:
    """Pending rows of the batch sharing any of these (column, key) pairs."""
    conditions = [getattr(ImportRow, column) == key for column, key in keys if key]
    if not conditions:
        return []
    return list(db.session.scalars(sa.select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.state == RowState.PENDING, sa.or_(*conditions))))


def revalidate(batch: ImportBatch, rows: list[ImportRow]) -> None:
    """Validate some rows again, with indexed look-ups only (an inline save stays fast)."""
    records = {row.id: record_of(row) for row in rows}
    usernames = {r["username"].lower() for r in records.values() if r["username"]}
    emails = {r["email"].lower() for r in records.values() if r["email"]}
    owners = deployment_owners(batch.deployment, (usernames, emails))
    for row in _neighbours(batch, {("username_key", u) for u in usernames} | {("email_key", e) for e in emails}):
        for name, index in (("username_key", owners.row_usernames), ("email_key", owners.row_emails)):
            if getattr(row, name):
                index[getattr(row, name)].append(row.row_number)
    ctx = context_for(batch.deployment, owners)
    for row in rows:
        for name, value in _result_columns(records[row.id], row_problems(
                records[row.id], row.row_number, ctx, owners)).items():
            setattr(row, name, value)


def update_row(batch: ImportBatch, row: ImportRow, values: dict, actor) -> ImportRow:
    """Change a row's values; it and the rows it shared a username or email with are checked again."""
    require_open(batch)
    if row.state != RowState.PENDING:
        raise Conflict(f"Row {row.row_number} is {row.state}: it can no longer change.")
    _refuse_nul(values)
    touched = [row, *[r for r in _neighbours(batch, {("username_key", row.username_key),
                                                      ("email_key", row.email_key)}) if r.id != row.id]]
    before = _tally(touched)
    record = clean_record({**record_of(row), **{k: v for k, v in values.items() if k in FIELD_NAMES}})
    for name in FIELD_NAMES:
        setattr(row, name, record[name])
    row.username_key, row.email_key = record["username"].lower(), record["email"].lower()
    db.session.flush()
    newly = [r for r in _neighbours(batch, {("username_key", row.username_key), ("email_key", row.email_key)})
             if r not in touched]
    before = tuple(a + b for a, b in zip(before, _tally(newly)))
    touched += newly
    revalidate(batch, touched)
    _adjust(batch, before, touched)
    db.session.commit()
    return row


def _refuse_nul(values: dict) -> None:
    """A NUL character cannot be kept as typed (PostgreSQL text cannot hold one): refuse the change whole."""
    problems = [Problem(name, "control_characters",
                        f"{FIELDS_BY_NAME[name].label} contains a NUL character, which cannot be stored; "
                        "nothing was changed.", ERROR, value.replace("\x00", ""))
                for name, value in values.items() if name in FIELD_NAMES and "\x00" in value]
    if problems:
        raise ValidationFailed(problems, problems[0].message)


def set_row_skipped(batch: ImportBatch, row: ImportRow, skipped: bool, actor) -> ImportRow:
    """Leave a row out of the import (or take it back in)."""
    require_open(batch)
    if row.state == RowState.IMPORTED:
        raise Conflict(f"Row {row.row_number} is already imported.")
    touched = [row, *[r for r in _neighbours(batch, {("username_key", row.username_key),
                                                      ("email_key", row.email_key)}) if r.id != row.id]]
    before = _tally(touched)
    row.state = RowState.SKIPPED if skipped else RowState.PENDING
    db.session.flush()
    revalidate(batch, [r for r in touched if r.state == RowState.PENDING])
    _adjust(batch, before, touched)
    db.session.commit()
    return row


def fix_all(batch: ImportBatch, field: str, code: str, actor) -> int:
    """Apply the suggested fix of one kind of problem to every pending row that has it.

    Usernames handed out in the same pass are reserved as they go, so two Pat Smiths become
    pat.smith and pat.smith2, not two pat.smiths.
    """
    require_open(batch)
    rows = list(db.session.scalars(sa.select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.state == RowState.PENDING)))
    taken = {r.username_key for r in rows if r.username_key} | set(deployment_owners(batch.deployment).user_usernames)
    changed = 0
    for row in rows:
        problem = next((p for p in row.problems if p["field"] == field and p["code"] == code), None)
        changes = changes_for(problem, record_of(row)) if problem else {}
        if "username" in changes:
            taken.discard(row.username_key)
            changes["username"] = derive_username(row.first_name, row.last_name, batch.deployment.naming_policy,
                                                  is_taken=taken.__contains__) or changes["username"]
            taken.add(changes["username"].lower())
        for name, value in changes.items():
            setattr(row, name, value)
        changed += bool(changes)
    db.session.flush()
    revalidate_all(batch)
    audit.record(actor, "import.fix_all", deployment=batch.deployment, obj=batch,
                 summary=f"fixed {field} ({code}) on {changed} rows")
    db.session.commit()
    return changed


def revalidate_all(batch: ImportBatch) -> None:
    """Validate every pending row again (after bulk changes, or before importing)."""
    rows = list(db.session.scalars(sa.select(ImportRow).where(ImportRow.batch_id == batch.id,
                                                              ImportRow.state == RowState.PENDING)))
    owners = deployment_owners(batch.deployment)
    for row in rows:
        row.username_key, row.email_key = row.username.lower(), row.email.lower()
        for name, index in (("username_key", owners.row_usernames), ("email_key", owners.row_emails)):
            if getattr(row, name):
                index[getattr(row, name)].append(row.row_number)
    ctx = context_for(batch.deployment, owners)
    for row in rows:
        result = _result_columns(record_of(row), row_problems(record_of(row), row.row_number, ctx, owners))
        if result["problems"] != row.problems:
            for name, value in result.items():
                setattr(row, name, value)
    recount(batch)


def discard_batch(batch: ImportBatch, actor) -> None:
    """Give up a batch; its rows stay for the record but nothing more is imported from it."""
    require_open(batch)
    batch.state = BatchState.DISCARDED
    audit.record(actor, "import.discard", deployment=batch.deployment, obj=batch, summary=batch.filename)
    db.session.commit()


def list_batches(deployment: Deployment, limit: int = 50) -> list[ImportBatch]:
    """The deployment's batches, newest first."""
    return list(db.session.scalars(sa.select(ImportBatch).where(ImportBatch.deployment_id == deployment.id)
                                   .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()).limit(limit)))
