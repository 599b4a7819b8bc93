"""Cheap checks on an upload before any parser sees it: kind, size, zip bombs, macros, ranges."""

from __future__ import annotations

import os
import posixpath
import re
import zipfile

from defusedxml import DefusedXmlException, ElementTree

from app.services.spreadsheet import errors as E
from app.services.spreadsheet.errors import SpreadsheetError

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 5_000
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
# Worksheet XML compresses 5-30x; deflate bombs reach ~1000x. Small entries may do as they like.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_FLOOR = 1024 * 1024
MAX_XML_PART_BYTES = 16 * 1024 * 1024  # workbook.xml, its rels and [Content_Types].xml
# calamine allocates rows x columns of the used range at once: 10M cells is ~320 MB.
MAX_DECLARED_CELLS = 10_000_000
DIMENSION_SCAN_BYTES = 64 * 1024

XLSX_EXTENSIONS = {".xlsx", ".xltx"}
CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
MACRO_EXTENSIONS = {".xlsm", ".xltm", ".xlam"}
OTHER_SHEET_FORMATS = {".xlsb": "an Excel binary workbook (.xlsb)",
                       ".ods": "an OpenDocument spreadsheet (.ods)",
                       ".numbers": "an Apple Numbers file"}
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BINARY_MAGIC = {b"MZ": "a Windows program (.exe or .dll)", b"%PDF": "a PDF document",
                b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive", b"\x7fELF": "a program",
                b"{\\rtf": "an RTF document"}
_SAVE_AS_XLSX = "Save it as .xlsx (Excel Workbook) or .csv and upload it again."
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]+)\"")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")


def classify(path: str, filename: str) -> str:
    """'xlsx' or 'csv' for a file worth parsing; SpreadsheetError for anything else."""
    size = os.path.getsize(path)
    if size == 0:
        raise SpreadsheetError("The file is empty.", E.EMPTY_FILE)
    if size > MAX_FILE_BYTES:
        raise SpreadsheetError(f"The file is {size / 2**20:.0f} MB; the limit is "
                               f"{MAX_FILE_BYTES // 2**20} MB. Split it into smaller files.",
                               E.FILE_TOO_LARGE)
    ext = os.path.splitext(filename or "")[1].lower()
    if ext in MACRO_EXTENSIONS:
        raise _macro_error()
    with open(path, "rb") as stream:
        head = stream.read(8)
    if head.startswith(CFB_MAGIC):
        raise _cfb_error(path)
    for magic, what in BINARY_MAGIC.items():
        if head.startswith(magic):
            raise SpreadsheetError(f"This file is {what}, not a spreadsheet. "
                                   "Upload an .xlsx or .csv file.", E.NOT_A_SPREADSHEET)
    if head.startswith(b"PK"):
        if ext in OTHER_SHEET_FORMATS:
            raise SpreadsheetError(f"This file is {OTHER_SHEET_FORMATS[ext]}. {_SAVE_AS_XLSX}",
                                   E.UNSUPPORTED_FORMAT)
        return "xlsx"  # by content: an .xlsx renamed .csv is still read as a workbook
    if ext in CSV_EXTENSIONS:
        return "csv"
    if ext in XLSX_EXTENSIONS or ext == ".xls":
        raise SpreadsheetError(f"This file is named {ext} but is not an Excel workbook (it looks "
                               "like text). If it is a CSV file, name it .csv.",
                               E.NOT_A_SPREADSHEET)
    raise SpreadsheetError(f"Files of type {ext or '(no extension)'} are not accepted. "
                           "Upload an .xlsx or .csv file.", E.NOT_A_SPREADSHEET)


def _macro_error() -> SpreadsheetError:
    """The refusal for a macro-enabled workbook."""
    return SpreadsheetError("This file is a macro-enabled workbook (.xlsm). Save it as .xlsx "
                            "(Excel Workbook) and upload it again.", E.MACRO_ENABLED)


def _cfb_error(path: str) -> SpreadsheetError:
    """An OLE compound file is either an encrypted .xlsx or an Excel 97-2003 .xls."""
    with open(path, "rb") as stream:
        content = stream.read()
    # An encrypted OOXML package stores its key material in a stream named "EncryptionInfo".
    if "EncryptionInfo".encode("utf-16-le") in content:
        return SpreadsheetError("This workbook is password-protected. Open it in Excel, remove the "
                                "password (File > Info > Protect Workbook > Encrypt with Password, "
                                "clear it), save, and upload it again.", E.PASSWORD_PROTECTED)
    return SpreadsheetError("This is an old Excel 97-2003 workbook (.xls). Open it in Excel, "
                            "remove any password, and save it as .xlsx (Excel Workbook) or .csv, "
                            "then upload it again.", E.LEGACY_XLS)


def inspect_workbook(path: str) -> str:
    """Check the zip container of an .xlsx and return the name of the sheet to read."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_zip_sizes(infos)
            names = {info.filename for info in infos}
            _check_not_macro(archive, names)
            if "xl/workbook.xml" not in names:
                what = ("an Excel binary workbook (.xlsb)" if "xl/workbook.bin" in names
                        else "a zip archive, not an Excel workbook")
                raise SpreadsheetError(f"This file is {what}. {_SAVE_AS_XLSX}", E.NOT_A_SPREADSHEET)
            sheet_name, sheet_path = _first_visible_sheet(archive, names)
            if sheet_path:
                _check_dimension(archive, sheet_path)
            return sheet_name
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError,
            NotImplementedError) as exc:
        raise SpreadsheetError("The workbook is damaged (incomplete or corrupt): it could not be "
                               "opened. Open it in Excel, save it again, and upload it again.",
                               E.CORRUPT_FILE) from exc


def _check_zip_sizes(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse archives whose declared contents are far larger than any user list."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bomb(f"it holds {len(infos):,} parts")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _bomb(f"it expands to {total / 2**20:,.0f} MB")
    for info in infos:
        if (info.file_size > RATIO_CHECK_FLOOR
                and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
            raise _bomb(f"{info.filename} expands {info.file_size // max(info.compress_size, 1):,} "
                        "times")


def _bomb(reason: str) -> SpreadsheetError:
    """The refusal for a zip bomb, with the measured reason."""
    return SpreadsheetError(f"This workbook cannot be read safely: {reason}, far more than a list "
                            f"of users needs. {_SAVE_AS_XLSX}", E.ZIP_BOMB)


def _check_not_macro(archive: zipfile.ZipFile, names: set[str]) -> None:
    """A workbook renamed from .xlsm to .xlsx still declares its macro content type."""
    if "xl/vbaProject.bin" in names:
        raise _macro_error()
    if "[Content_Types].xml" in names:
        if b"macroenabled" in _read_part(archive, "[Content_Types].xml").lower():
            raise _macro_error()


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    """A small XML part, refused when it declares an unreasonable size."""
    if archive.getinfo(name).file_size > MAX_XML_PART_BYTES:
        raise _bomb(f"{name} is unusually large")
    return archive.read(name)


def _local(tag: str) -> str:
    """An XML tag or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _first_visible_sheet(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, str | None]:
    """(name, part path) of the first visible worksheet; the path is None when rels are missing."""
    try:
        book = ElementTree.fromstring(_read_part(archive, "xl/workbook.xml"))
        rels = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for rel in ElementTree.fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels")):
                rels[rel.get("Id")] = (rel.get("Type", ""), rel.get("Target", ""))
    except (ElementTree.ParseError, DefusedXmlException) as exc:  # the latter: entity bombs
        raise SpreadsheetError("The workbook is damaged: its sheet list cannot be read. Open it "
                               "in Excel, save it again, and upload it again.",
                               E.CORRUPT_FILE) from exc
    sheets = []
    for element in book.iter():
        if _local(element.tag) != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        kind, target = rels.get(rid, ("", ""))
        if kind and not kind.endswith("/worksheet"):
            continue  # a chart sheet or dialog sheet has no cells
        path = _resolve(target) if target else None
        sheets.append((element.get("name", ""), path, element.get("state", "visible")))
    if not sheets:
        raise SpreadsheetError("The workbook has no worksheet.", E.EMPTY_FILE)
    visible = [s for s in sheets if s[2] == "visible"] or sheets
    name, path, _ = visible[0]
    return name, path if path in names else None


def _resolve(target: str) -> str:
    """A relationship target (relative to xl/ or absolute) as a zip entry name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _check_dimension(archive: zipfile.ZipFile, sheet_path: str) -> None:
    """Refuse a sheet whose declared used range would make the parser allocate gigabytes."""
    with archive.open(sheet_path) as stream:
        head = stream.read(DIMENSION_SCAN_BYTES)
    found = _DIMENSION.search(head)
    if not found:
        return
    ref = found.group(1).decode("ascii", "replace")
    corners = [_cell(part) for part in ref.split(":")]
    if None in corners:
        return
    rows = max(r for _, r in corners) - min(r for _, r in corners) + 1
    cols = max(c for c, _ in corners) - min(c for c, _ in corners) + 1
    if rows * cols > MAX_DECLARED_CELLS:
        raise SpreadsheetError(
            f"The sheet declares a used range of {ref} ({rows:,} rows x {cols:,} columns), far "
            "beyond a list of users. Select the empty rows below your data and the empty columns "
            "to its right, delete them (right-click > Delete), save, and upload again.",
            E.SHEET_TOO_LARGE)


def _cell(ref: str) -> tuple[int, int] | None:
    """'XFD1048576' → (16384, 1048576); None when it is not a cell reference."""
    match = _CELL_REF.fullmatch(ref.strip())
    if not match:
        return None
    col = 0
    for letter in match.group(1).upper():
        col = col * 26 + ord(letter) - 64
    return col, int(match.group(2))
