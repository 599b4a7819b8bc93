"""The error report: the batch as an .xlsx with invalid cells red and the message as a comment."""

from __future__ import annotations

from typing import IO

import sqlalchemy as sa

from app.extensions import db
from app.models import ImportBatch, ImportRow, RowState
from app.services.spreadsheet.export import write_xlsx
from app.services.user_schema import USER_FIELDS


def write_error_report(batch: ImportBatch, stream: IO[bytes], *, errors_only: bool = False) -> None:
    """Every pending row (or only those with errors), with its problems marked cell by cell."""
    columns = [f.name for f in USER_FIELDS]
    headers = ["Row", *[f.template_header for f in USER_FIELDS], "Problems"]
    stmt = sa.select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.state == RowState.PENDING)
    if errors_only:
        stmt = stmt.where(ImportRow.has_errors.is_(True))
    rows, notes, invalid = [], {}, set()
    for index, row in enumerate(db.session.scalars(stmt.order_by(ImportRow.row_number))):
        rows.append([row.row_number, *[getattr(row, name) for name in columns],
                     "; ".join(p["message"] for p in row.problems)])
        for problem in row.problems:
            col = columns.index(problem["field"]) + 1
            notes[(index, col)] = "\n".join(filter(None, [notes.get((index, col)), problem["message"]]))
            if problem["severity"] == "error":
                invalid.add((index, col))
    write_xlsx(stream, headers, rows, cell_notes=notes, invalid_cells=invalid, sheet_title="Import problems")
