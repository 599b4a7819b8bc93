"""Time read_table against a raw read of the same file; print the calamine child's peak memory.

Usage: python bench/bench_read.py [DIR_OR_FILES...]   (default: bench/out/, see generate_files.py)

Times are the best of --repeat runs. The child's peak RSS is what it reports (VmHWM) to the
reader, caught here by wrapping xlsx_reader.read_rows.
The baseline for .xlsx is python-calamine itself (open, load the sheet, list its rows); for .csv
it is csv.reader over the decoded text.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def raw_read(path: Path) -> int:
    """Rows read by the baseline reader: calamine for .xlsx, csv.reader for .csv."""
    if path.suffix == ".xlsx":
        import python_calamine

        sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        return len(list(sheet.iter_rows()))
    text = path.read_bytes().decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text, newline=""))))


def best_time(action, repeat: int) -> float:
    """The fastest of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def measure_one(path: Path, repeat: int) -> str:
    """One result line for one file."""
    from app.services.spreadsheet import read_table, xlsx_reader

    peaks: list[int] = []
    read_rows = xlsx_reader.read_rows

    def spying_read_rows(*args, **kwargs):
        """read_rows, noting the child's peak memory."""
        result = read_rows(*args, **kwargs)
        peaks.append(result.peak_rss_kib)
        return result

    xlsx_reader.read_rows = spying_read_rows
    try:
        rows = len(read_table(str(path), path.name).rows)
        raw = best_time(lambda: raw_read(path), repeat)
        ours = best_time(lambda: read_table(str(path), path.name), repeat)
    finally:
        xlsx_reader.read_rows = read_rows
    child = f"{max(peaks) / 1024:5.0f} MiB" if peaks else "  (none, parsed in-process)"
    baseline = "calamine" if path.suffix == ".xlsx" else "csv.reader"
    return (f"{path.name:18} {rows:>7} rows  {baseline:>10} {raw:6.3f} s  read_table "
            f"{ours:6.3f} s  ratio {ours / raw:4.2f}  +{ours - raw:5.3f} s  child peak RSS {child}")


def main() -> None:
    """Measure every .xlsx and .csv given (or found in bench/out/)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "bench" / "out")])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files: list[Path] = []
    for given in map(Path, args.paths):
        found = sorted(given.glob("*.xlsx")) + sorted(given.glob("*.csv"))
        files += found if given.is_dir() else [given]
    if not files:
        sys.exit("no .xlsx or .csv files: run bench/generate_files.py first")
    for path in files:
        print(measure_one(path, args.repeat), flush=True)


if __name__ == "__main__":
    main()
