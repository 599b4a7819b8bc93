"""The spreadsheet layer of bulk import: read uploads, match headers, write templates and reports.

Pure services: no Flask. read_table() raises SpreadsheetError (with a `code` from
app.services.spreadsheet.errors) for every file it refuses; what it returns is text, aligned to
the header row, with the spreadsheet's own row numbers.
"""

from app.services.spreadsheet.errors import SpreadsheetError
from app.services.spreadsheet.export import neutralise, write_csv, write_xlsx
from app.services.spreadsheet.headers import HeaderMatch, match_headers
from app.services.spreadsheet.reader import read_table
from app.services.spreadsheet.table import Table
from app.services.spreadsheet.template import write_template

__all__ = ["HeaderMatch", "SpreadsheetError", "Table", "match_headers", "neutralise", "read_table",
           "write_csv", "write_template", "write_xlsx"]
