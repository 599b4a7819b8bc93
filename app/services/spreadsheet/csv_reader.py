"""CSV files as technicians get them: Excel's encodings and delimiters, detected, not asked."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator

from app.services.spreadsheet import errors as E
from app.services.spreadsheet.errors import SpreadsheetError
from app.services.spreadsheet.export import FORMULA_TRIGGERS, NEUTRALISING_PREFIX
from app.services.spreadsheet.table import HEADER_SCAN_ROWS, is_header_row

DELIMITERS = (",", ";", "\t")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_UTF16_SAMPLE = 4096
_DELIMITER_SAMPLE_CHARS = 64 * 1024
_SEP_HINT = re.compile(r'^"?sep=(.)"?\r?\n')  # Excel's "sep=;" first line


def decode(data: bytes) -> str:
    """The text of a CSV file: BOM, else UTF-16 by its NULs, else UTF-8, else Windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom):], encoding.replace("-sig", ""))
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _decode_as(data, utf16)
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise SpreadsheetError(f"The file contains a NUL byte (at byte {offset:,}): it is not a "
                               "text CSV file. Save it from Excel as CSV UTF-8 and upload again.",
                               E.NUL_BYTE)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError("The file's text encoding is not recognised (not UTF-8, UTF-16 or "
                               "Windows-1252). In Excel, use Save As > CSV UTF-8 and upload again.",
                               E.UNKNOWN_ENCODING) from exc


def _decode_as(data: bytes, encoding: str) -> str:
    """Decode with a known encoding; a failure means the file is damaged, not guessable."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(f"The file says it is {encoding.upper()} but is not valid "
                               f"{encoding.upper()} text. Save it again as CSV UTF-8.",
                               E.UNKNOWN_ENCODING) from exc
    if "\x00" in text:
        raise SpreadsheetError("The file contains a NUL character: it is not a text CSV file. "
                               "Save it from Excel as CSV UTF-8 and upload again.", E.NUL_BYTE)
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NULs fill one byte of each pair, as in mostly-Latin UTF-16."""
    sample = data[:_UTF16_SAMPLE]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    if odd_nuls >= 0.4 * pairs and even_nuls <= 0.05 * pairs:
        return "utf-16-le"
    if even_nuls >= 0.4 * pairs and odd_nuls <= 0.05 * pairs:
        return "utf-16-be"
    return None


def detect_delimiter(text: str) -> str:
    """The delimiter that makes the most header-like first lines: comma, semicolon or tab."""
    lines = text[:_DELIMITER_SAMPLE_CHARS].splitlines()[:HEADER_SCAN_ROWS]
    sample = "\n".join(lines)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
        # A recognised header row beats raw counts; counts break ties (csv.Sniffer guesses badly).
        score = (sum(1 for row in rows if is_header_row([c.strip() for c in row])),
                 sum(line.count(delimiter) for line in lines))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _cell(raw: str) -> str:
    """A trimmed cell; "'=..." as our own exports write it comes back as "=..."."""
    text = raw.strip()
    if text[:1] == NEUTRALISING_PREFIX and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:].strip()
    return text


def read_records(data: bytes, *, width_cap: int) -> Iterator[tuple[int, list[str]]]:
    """(record number, cleaned cells) of each non-empty record; numbers are Excel's rows."""
    text = decode(data)
    if not unicodedata.is_normalized("NFC", text):  # once for the file, not once per cell
        text = unicodedata.normalize("NFC", text)
    hint = _SEP_HINT.match(text)
    if hint and hint.group(1) in DELIMITERS:
        text, delimiter = text[hint.end():], hint.group(1)
    else:
        delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, 1):
            cells = [_cell(cell) for cell in row[:width_cap]]
            if any(cells):  # the table builder expects empty rows dropped, as the child does
                yield number, cells
    except csv.Error as exc:
        raise SpreadsheetError(f"The CSV file cannot be read near row {reader.line_num:,} "
                               f"({exc}). A quote is probably left open; fix it in Excel and "
                               "save again as CSV.", E.CORRUPT_FILE) from exc
