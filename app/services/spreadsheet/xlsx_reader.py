"""Run the calamine child; turn its frames, or its death, into rows or a SpreadsheetError."""

from __future__ import annotations

import logging
import marshal
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from app.services.spreadsheet import errors as E
from app.services.spreadsheet.child import clean_text
from app.services.spreadsheet.errors import SpreadsheetError
from app.services.spreadsheet.table import gc_paused

log = logging.getLogger(__name__)

CHILD_SCRIPT = str(Path(__file__).with_name("child.py"))
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
TIMEOUT_SECONDS = 60.0
MAX_FRAME_BYTES = 256 * 1024 * 1024
EXIT_GRACE_SECONDS = 5.0
# The first stderr line ("memory allocation of N bytes failed") is the useful one, not a backtrace.
_CHILD_ENV = {**os.environ, "RUST_BACKTRACE": "0"}

_CRASHED = ("The workbook could not be read: reading it needed more memory than allowed. This "
            "usually means a sheet has a stray cell far below or to the right of the data (for "
            "example in cell XFD1048576). Delete the empty rows and columns after your data, save, "
            "and upload again.")
_TIMED_OUT = ("Reading the workbook took longer than {seconds:.0f} seconds and was stopped. Remove "
              "unused sheets, formulas and formatting, or save it as CSV, and upload again.")


@dataclass
class SheetRows:
    """What the child read: the non-empty rows, the sheet's name, the child's peak memory."""

    records: list[tuple[int, list[str]]]
    sheet_name: str
    peak_rss_kib: int


def read_rows(path: str, sheet_name: str, *, row_cap: int, width_cap: int) -> SheetRows:
    """Read one worksheet in a memory- and time-limited child process; its death is an error."""
    command = [sys.executable, "-P", CHILD_SCRIPT, path, sheet_name, str(row_cap),
               str(width_cap), str(MEMORY_LIMIT_BYTES), str(int(TIMEOUT_SECONDS) + 1)]
    # stderr goes to a file: a pipe nobody reads could fill up and stall the child.
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=stderr, close_fds=True, env=_CHILD_ENV)
        timed_out = threading.Event()
        watchdog = threading.Timer(TIMEOUT_SECONDS, _expire, (child, timed_out))
        watchdog.daemon = True
        watchdog.start()
        try:
            frames = _receive(child.stdout)
        finally:
            watchdog.cancel()
            child.stdout.close()
            returncode = _reap(child)
        stderr.seek(0)
        return _outcome(frames, returncode, timed_out.is_set(), stderr.read(2000))


def _reap(child: subprocess.Popen) -> int:
    """The child's exit code; one still running after its output ended (bad frame) is killed."""
    try:
        return child.wait(timeout=EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def _expire(child: subprocess.Popen, timed_out: threading.Event) -> None:
    """Kill a child that outlived its wall-clock budget."""
    timed_out.set()
    child.kill()


def _receive(stream) -> list[tuple]:
    """Every frame the child sent before it ended; a torn frame ends the list."""
    frames: list[tuple] = []
    with gc_paused():
        while True:
            size = stream.read(8)
            if len(size) < 8:
                return frames
            length = int.from_bytes(size, "big")
            if length > MAX_FRAME_BYTES:
                return frames
            payload = stream.read(length)
            if len(payload) < length:
                return frames
            frame = marshal.loads(payload)
            if frame[0] == "rows":
                normalise_chunk(frame[1])
            frames.append(frame)


def normalise_chunk(chunk: list[tuple[int, list[str]]]) -> None:
    """Make a chunk of rows NFC: one C-speed check per chunk instead of one call per cell."""
    if unicodedata.is_normalized("NFC", "".join(chain.from_iterable(c for _, c in chunk))):
        return
    for _, cells in chunk:
        cells[:] = [clean_text(cell) for cell in cells]


def _outcome(frames: list[tuple], returncode: int, timed_out: bool, stderr: bytes) -> SheetRows:
    """The rows of a child that finished; the right SpreadsheetError for one that did not."""
    last = frames[-1] if frames else ("",)
    if last[0] == "done" and returncode == 0:
        records = [record for frame in frames if frame[0] == "rows" for record in frame[1]]
        return SheetRows(records=records, sheet_name=last[1], peak_rss_kib=last[2])
    if last[0] == "error":
        raise _child_error(last[1], last[2])
    log.warning("spreadsheet child ended with %s (timed out: %s): %s", returncode, timed_out,
                stderr.decode("utf-8", "replace"))
    if timed_out or returncode == -signal.SIGXCPU:
        raise SpreadsheetError(_TIMED_OUT.format(seconds=TIMEOUT_SECONDS), E.READER_TIMEOUT)
    raise SpreadsheetError(_CRASHED, E.READER_CRASHED)


def _child_error(kind: str, detail: str) -> SpreadsheetError:
    """Word an exception python-calamine raised in the child for a technician."""
    if kind == "PasswordError":
        return SpreadsheetError("This workbook is password-protected. Remove the password in "
                                "Excel, save, and upload it again.", E.PASSWORD_PROTECTED)
    if kind == "MemoryError":
        return SpreadsheetError(_CRASHED, E.READER_CRASHED)
    log.info("calamine refused a workbook: %s: %s", kind, detail)
    return SpreadsheetError(f"The workbook is damaged and could not be read ({detail}). Open it "
                            "in Excel, save it again as .xlsx, and upload it again.",
                            E.CORRUPT_FILE)
