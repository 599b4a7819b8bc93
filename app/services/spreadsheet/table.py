"""A read sheet as a header row and data rows, whatever file it came from."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from app.services.spreadsheet import errors as E
from app.services.spreadsheet.errors import SpreadsheetError
from app.services.user_schema import USER_FIELDS, field_for_header

HEADER_SCAN_ROWS = 20  # title rows above the headers are common; deeper than this is not a header
MIN_RECOGNISED_HEADERS = 2


@dataclass
class Table:
    """Headers and rows of one sheet; row numbers are the spreadsheet's own (1-based)."""

    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    sheet_name: str = ""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building ~10^6 strings and lists: it would make that 3-4x slower.

    Nothing built here forms cycles, so nothing is left for the collector when it resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def is_header_row(cells: list[str]) -> bool:
    """True when at least two cells name fields of the user record."""
    recognised = 0
    for cell in cells:
        if cell and field_for_header(cell):
            recognised += 1
            if recognised >= MIN_RECOGNISED_HEADERS:
                return True
    return False


def build_table(records: Iterable[tuple[int, list[str]]], *, sheet_name: str, max_rows: int,
                max_columns: int) -> Table:
    """Find the header row, then align every later row to the header width.

    `records` hold only non-empty rows (the readers drop the empty ones, cheaply, as they go).
    """
    records = iter(records)
    header = _find_header(records)
    header_row, headers = header
    width = len(headers)
    if width > max_columns:
        raise SpreadsheetError(f"The header row (row {header_row}) has more than {max_columns} "
                               f"columns. Keep only the user columns and upload again.",
                               E.TOO_MANY_COLUMNS)
    rows: list[tuple[int, list[str]]] = []
    append = rows.append
    for record in records:
        if len(record[1]) != width:  # calamine rows are already the sheet's width: rarely taken
            record = _fit(record, width)
            if record is None:
                continue
        append(record)  # the same tuple, not a new one: 10^5 new objects would wake the GC
        if len(rows) > max_rows:
            raise SpreadsheetError(f"The file has more than {max_rows:,} users (rows below the "
                                   "header). Split it into smaller files.", E.TOO_MANY_ROWS)
    if not rows:
        raise SpreadsheetError(f"The file has column headers (row {header_row}) but no users "
                               "below them. Fill in one row per user and upload again.",
                               E.HEADERS_ONLY)
    return Table(header_row=header_row, headers=headers, rows=rows, sheet_name=sheet_name)


def _fit(record: tuple[int, list[str]], width: int) -> tuple[int, list[str]] | None:
    """A row cut or padded to the header width; None when nothing is left under the headers."""
    number, cells = record
    cells = cells[:width] if len(cells) > width else cells + [""] * (width - len(cells))
    return (number, cells) if any(cells) else None


def _find_header(records) -> tuple[int, list[str]]:
    """(row number, headers without trailing empty cells) of the first header-like row."""
    seen = 0
    for number, cells in records:
        if any(cells):
            if is_header_row(cells):
                end = len(cells)
                while end and not cells[end - 1]:
                    end -= 1
                return number, list(cells[:end])
            seen += 1
        if seen >= HEADER_SCAN_ROWS:
            break
    if not seen:
        raise SpreadsheetError("The file is empty: it has no rows with values.", E.EMPTY_FILE)
    examples = ", ".join(f.template_header for f in USER_FIELDS if f.mandatory)
    raise SpreadsheetError(f"No header row found in the first {HEADER_SCAN_ROWS} rows. The file "
                           f"needs a row of column headers such as {examples}.", E.NO_HEADER_ROW)
