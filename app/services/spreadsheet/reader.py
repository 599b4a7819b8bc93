"""read_table: an uploaded .xlsx or .csv in, a Table of cell texts out, or a SpreadsheetError."""

from __future__ import annotations

from pathlib import Path

from app.services.spreadsheet import csv_reader, guards, xlsx_reader
from app.services.spreadsheet.table import HEADER_SCAN_ROWS, Table, build_table, gc_paused


def read_table(path: str, filename: str, *, max_rows: int = 100_000,
               max_columns: int = 64) -> Table:
    """Read the first visible sheet of an .xlsx, or a .csv, as a header row and data rows."""
    kind = guards.classify(path, filename)
    # One column past the limit is enough to tell the file is too wide; one row past
    # the limit (plus room for title rows) is enough to tell it is too long.
    width_cap = max_columns + 1
    if kind == "xlsx":
        sheet = guards.inspect_workbook(path)
        read = xlsx_reader.read_rows(path, sheet, row_cap=max_rows + HEADER_SCAN_ROWS + 1,
                                     width_cap=width_cap)
        records, sheet_name = read.records, read.sheet_name
    else:
        records = csv_reader.read_records(Path(path).read_bytes(), width_cap=width_cap)
        sheet_name = Path(filename).stem
    with gc_paused():
        return build_table(records, sheet_name=sheet_name, max_rows=max_rows,
                           max_columns=max_columns)
