"""The one exception the spreadsheet layer raises, with a code the UI and the tests can rely on."""

from __future__ import annotations

from app.services.errors import DomainError

# Error codes: stable identifiers; the message is for the technician and may change.
EMPTY_FILE = "empty_file"
HEADERS_ONLY = "headers_only"
NO_HEADER_ROW = "no_header_row"
NOT_A_SPREADSHEET = "not_a_spreadsheet"
UNSUPPORTED_FORMAT = "unsupported_format"
MACRO_ENABLED = "macro_enabled"
PASSWORD_PROTECTED = "password_protected"
LEGACY_XLS = "legacy_xls"
CORRUPT_FILE = "corrupt_file"
FILE_TOO_LARGE = "file_too_large"
ZIP_BOMB = "zip_bomb"
SHEET_TOO_LARGE = "sheet_too_large"
READER_CRASHED = "reader_crashed"
READER_TIMEOUT = "reader_timeout"
NUL_BYTE = "nul_byte"
UNKNOWN_ENCODING = "unknown_encoding"
TOO_MANY_ROWS = "too_many_rows"
TOO_MANY_COLUMNS = "too_many_columns"


class SpreadsheetError(DomainError):
    """A file that cannot be read as a user list; `code` says why, `message` what to do."""

    status = 422

    def __init__(self, message: str, code: str = CORRUPT_FILE):
        super().__init__(message)
        self.code = code

    def __repr__(self) -> str:
        return f"SpreadsheetError({self.code!r}, {self.message!r})"
