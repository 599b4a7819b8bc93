"""The spreadsheet layer of bulk import: read uploads safely, match headers, write templates and reports.

Pure services: no Flask. read_table() raises SpreadsheetError (with a `code`) for every file it
refuses; everything it returns is text, aligned to the header row.
"""

from app.services.spreadsheet.errors import SpreadsheetError
from app.services.spreadsheet.reader import read_table
from app.services.spreadsheet.table import Table

__all__ = ["SpreadsheetError", "Table", "read_table"]
