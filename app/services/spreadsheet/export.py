"""Error reports and results files as .xlsx or .csv, every cell defused against formula injection.

A cell that begins with = + - @ tab or CR is run as a formula by Excel, LibreOffice or Google Sheets
when the file is opened (or when the cell is edited): an uploaded "=HYPERLINK(...)" must come back
as text. CSV has only one way to say "text": a leading apostrophe. In .xlsx the same test
(is_formula_like, the one neutralise uses) makes the cell a string with the quotePrefix style,
so the value reads back unchanged and stays text when edited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"
INVALID_FILL = PatternFill(fill_type="solid", fgColor="FFC7CE")  # Excel's "Bad" red
INVALID_FONT = Font(color="9C0006")
HEADER_FONT = Font(bold=True)
COMMENT_AUTHOR = "Enlist"
MAX_COLUMN_WIDTH = 60
SHOWN_FOR_ILLEGAL = "\ufffd"  # an .xlsx cannot hold most control characters: the cell shows where one was


def cell_text(value: object) -> str:
    """Any exported value as text; None is empty."""
    return "" if value is None else str(value)


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would treat the text as a formula."""
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(value: object) -> str:
    """The value as text that no spreadsheet runs: formula-like text gets a leading apostrophe."""
    text = cell_text(value)
    return NEUTRALISING_PREFIX + text if is_formula_like(text) else text


def write_csv(stream: IO[bytes], headers: Sequence[object],
              rows: Iterable[Sequence[object]]) -> None:
    """Write UTF-8 CSV with a BOM (so Excel shows accents right), every cell neutralised."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow([neutralise(h) for h in headers])
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
        text.flush()
    finally:
        text.detach()  # the caller owns the stream: leave it open


def write_xlsx(stream: IO[bytes], headers: Sequence[object], rows: Iterable[Sequence[object]], *,
               cell_notes: dict[tuple[int, int], str] | None = None,
               invalid_cells: set[tuple[int, int]] | None = None,
               sheet_title: str = "Users") -> None:
    """Write one sheet; (row index, column index) keys, 0-based over data rows, mark cells."""
    notes, invalid = cell_notes or {}, invalid_cells or set()
    book = Workbook(write_only=True)  # streams rows: a 100k-row results file stays small in memory
    sheet = book.create_sheet(title=_sheet_title(sheet_title))
    _set_widths(sheet, [len(cell_text(h)) for h in headers])
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, h, font=HEADER_FONT) for h in headers])
    for r, row in enumerate(rows):
        sheet.append([_cell(sheet, value, note=notes.get((r, c)), bad=(r, c) in invalid)
                      for c, value in enumerate(row)])
    book.save(stream)


def _cell(sheet, value: object, *, note: str | None = None, bad: bool = False,
          font: Font | None = None):
    """A plain text value, or a styled cell when it needs a comment, red fill or defusing."""
    text = ILLEGAL_CHARACTERS_RE.sub(SHOWN_FOR_ILLEGAL, cell_text(value))
    risky = is_formula_like(text)
    if not (risky or note or bad or font):
        return text or None  # an empty cell, not an empty string
    cell = WriteOnlyCell(sheet, value=text)
    if risky:
        cell.data_type = "s"  # openpyxl made it a formula from the leading "="; it is text
        cell.quotePrefix = True
    if note:
        cell.comment = Comment(note, COMMENT_AUTHOR, width=300, height=100)
    if bad:
        cell.fill, cell.font = INVALID_FILL, INVALID_FONT
    if font:
        cell.font = font
    return cell


def _set_widths(sheet, widths: list[int]) -> None:
    """Columns wide enough for their headers (rows are streamed, so the header decides)."""
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 4, 12),
                                                                      MAX_COLUMN_WIDTH)


def _sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (cleaned or "Sheet")[:31]
