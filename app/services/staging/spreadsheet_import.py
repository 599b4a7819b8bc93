"""Excel and CSV into staging: read the file safely, match its headers, stage its rows."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.models import Deployment, ImportBatch
from app.services.processes import pid_running
from app.services.spreadsheet import SpreadsheetError, read_table
from app.services.spreadsheet.errors import HEADERS_ONLY
from app.services.spreadsheet.headers import match_headers
from app.services.staging.batches import StagedRecord, stage_records
from app.services.user_schema import FIELDS_BY_NAME

ACCEPTED = (".xlsx", ".csv")
UPLOAD_PREFIX = "enlist-upload-"  # then the pid of the web process that spooled the file


def _missing_columns_error(missing: list[str], headers: list[str]) -> SpreadsheetError:
    """One clear message naming every mandatory column the file lacks."""
    names = ", ".join(FIELDS_BY_NAME[name].template_header for name in missing)
    found = ", ".join(h for h in headers if h) or "none"
    return SpreadsheetError(f"The file has no column for {names}. Columns found: {found}. "
                            "Download the template to see the expected headers.", "missing_columns")


def _username(value: str) -> str:
    """A UPN (pat@client.com, as Entra templates hold) gives its name part as the username."""
    return value.split("@", 1)[0] if "@" in value else value


def _email_from_upn(match, table) -> bool:
    """Files with a UPN column but no email column (the Entra template): the UPN is the address."""
    column = match.columns.get("username")
    if "email" not in match.missing_mandatory or column is None:
        return False
    if not any("@" in cells[column] for _, cells in table.rows[:50]):
        return False
    match.missing_mandatory.remove("email")
    return True


def stage_spreadsheet(deployment: Deployment, path: str, filename: str, actor) -> ImportBatch:
    """Read an uploaded .xlsx or .csv and stage every row; SpreadsheetError when it cannot be read."""
    table = read_table(path, filename)
    match = match_headers(table.headers)
    upn_as_email = _email_from_upn(match, table)
    if match.missing_mandatory:
        raise _missing_columns_error(match.missing_mandatory, table.headers)
    if not table.rows:
        raise SpreadsheetError("The file has headers but no user rows.", HEADERS_ONLY)
    records = []
    for row_number, cells in table.rows:
        values = {name: cells[index] for name, index in match.columns.items()}
        if upn_as_email:
            values["email"] = values["username"]
        if "username" in values:
            values["username"] = _username(values["username"])
        records.append(StagedRecord(row_number=row_number, values=values))
    meta = {"sheet": table.sheet_name, "header_row": table.header_row,
            "columns": {name: table.headers[index] for name, index in match.columns.items()},
            "unknown_columns": match.unknown, "duplicate_columns": match.duplicates}
    source = "csv" if filename.lower().endswith(".csv") else "excel"
    return stage_records(deployment, source, records, actor, filename=filename, meta=meta)


def remove_abandoned_uploads(folder: str | None = None) -> int:
    """Delete the spooled copies of uploads whose web process died mid-request (SIGKILL, crash, out of
    memory), which never reached the line that removes them; a live process's files stay. How many."""
    removed = 0
    if not os.path.isdir("/proc"):  # no way to tell a live process here: leave every file
        return removed
    for path in Path(folder or tempfile.gettempdir()).glob(f"{UPLOAD_PREFIX}*"):
        pid = path.name[len(UPLOAD_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_running(int(pid)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def stage_upload(deployment: Deployment, stream, filename: str, actor) -> ImportBatch:
    """Stage an uploaded file stream: spooled to a private temporary file, read, then removed.

    The file holds end users' personal data: what a killed request left behind is removed by the next upload.
    """
    filename = os.path.basename(filename or "").strip() or "upload"
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED and suffix != ".xlsm":
        raise SpreadsheetError(f"{filename} is not an .xlsx or .csv file. Save it from Excel as "
                               "Excel Workbook (.xlsx) or CSV and upload it again.", "unsupported_format")
    remove_abandoned_uploads()
    with tempfile.NamedTemporaryFile(suffix=suffix, prefix=f"{UPLOAD_PREFIX}{os.getpid()}-") as handle:
        while chunk := stream.read(1024 * 1024):
            handle.write(chunk)
        handle.flush()
        return stage_spreadsheet(deployment, handle.name, filename, actor)
