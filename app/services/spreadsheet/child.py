"""Parse one worksheet with python-calamine in a child process with memory and CPU limits.

Run as a script (`python -P child.py ...`), not as a module of the app: it imports only the
standard library and python-calamine, so it starts in ~30 ms instead of importing Flask. A workbook
that makes calamine abort (a cell at XFD1048576 asks for 500 GB; Rust aborts with exit 134, which
Python cannot catch) then kills this process only; the parent turns that into a SpreadsheetError.

Output on stdout, a stream of frames (8-byte big-endian length + marshal payload):
("rows", [(row_number, [cell text, ...]), ...]) chunks, then ("done", sheet_name, peak_rss_kib),
or ("error", exception_class_name, detail).
"""

from __future__ import annotations

import datetime
import gc
import marshal
import resource
import sys
import unicodedata
from itertools import chain

CHUNK_ROWS = 2_000
_MIDNIGHT = datetime.time(0)


def clean_text(text: str) -> str:
    """Text as stored: Unicode NFC, surrounding spaces trimmed."""
    return unicodedata.normalize("NFC", text).strip()


def cell_text(value: object) -> str:
    """A cell as the text a technician typed: 5551234567.0 → "5551234567", ISO dates, TRUE."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel keeps 15 significant digits; beyond that int() would print binary noise.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date
        if value.time() == _MIDNIGHT:
            return value.date().isoformat()
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return clean_text(str(value))


def _text_row(row: list) -> list[str]:
    """A calamine row as trimmed text; strings (most cells) take the fast path."""
    return [v.strip() if v.__class__ is str else cell_text(v) for v in row]


def text_rows(sheet, row_cap: int, width_cap: int):
    """Yield chunks of (spreadsheet row number, trimmed cell texts) for the non-empty rows.

    NFC is left to the parent (xlsx_reader), which is idle while this process parses.
    """
    rows = sheet.iter_rows()
    first = next(rows, None)
    if first is None:
        return
    # python-calamine 0.9 yields the empty rows above the data too; older ones start at the data.
    padded = not any(_text_row(first)) or sheet.start is None
    number = 1 if padded else sheet.start[0] + 1
    chunk, kept = [], 0
    for row in chain((first,), rows):
        cells = _text_row(row if len(row) <= width_cap else row[:width_cap])
        if any(cells):
            chunk.append((number, cells))
            kept += 1
            if len(chunk) == CHUNK_ROWS or kept >= row_cap:
                yield chunk
                chunk = []
                if kept >= row_cap:  # the parent refuses the file anyway: stop early
                    return
        number += 1
    if chunk:
        yield chunk


def peak_rss_kib() -> int:
    """This process's peak resident memory since exec, in KiB.

    VmHWM, not ru_maxrss: the parent starts us with vfork, and ru_maxrss keeps the peak of the
    parent's memory we ran in before exec.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _send(stream, message: tuple) -> None:
    """Write one length-prefixed marshal frame."""
    payload = marshal.dumps(message)
    stream.write(len(payload).to_bytes(8, "big"))
    stream.write(payload)


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap this process's address space and CPU time (set here, in the child only)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not write a core file


def main(argv: list[str]) -> int:
    """Read argv = [script, path, sheet_name, row_cap, width_cap, memory_bytes, cpu_seconds]."""
    path, sheet_name, row_cap, width_cap, memory_bytes, cpu_seconds = argv[1:7]
    _limit(int(memory_bytes), int(cpu_seconds))
    gc.disable()  # short-lived, ~10^6 small objects, no cycles: collecting only costs time
    out = sys.stdout.buffer
    try:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(path)
        sheet = book.get_sheet_by_name(sheet_name) if sheet_name else book.get_sheet_by_index(0)
        for chunk in text_rows(sheet, int(row_cap), int(width_cap)):
            _send(out, ("rows", chunk))
    except Exception as exc:  # noqa: BLE001 - every failure goes to the parent, which words it
        _send(out, ("error", type(exc).__name__, str(exc)[:500]))
        out.flush()
        return 0
    _send(out, ("done", sheet.name, peak_rss_kib()))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
