"""Bulk import figures: upload to preview ready, preview pages, inline save, peak memory.

Usage: .venv/bin/python bench/bench_import.py [--rows 10000 100000] [--database URL]

For each generated file (bench/generate_files.py) it prints: python-calamine's raw read time, the
time from upload to preview ready (guarded read in a child process + validation + staging in the
database) and its ratio to the raw read, the peak memory of the web process and of the reader
child, and for the largest batch: the first preview page, the errors-only page, and an inline save.
Goals (issue 3): 10,000 rows <= 1 s, 100,000 rows <= 8 s, peak <= 400 MB, pages <= 100 ms, save <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def raw_calamine_seconds(path: Path) -> float:
    """Seconds python-calamine alone takes to read every row of the first sheet."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    book.get_sheet_by_index(0).to_python()
    return time.perf_counter() - start


def peak_mb(who: int) -> float:
    """Peak resident memory in MB of this process (RUSAGE_SELF) or its children."""
    return resource.getrusage(who).ru_maxrss / 1024


def timed(fn, repeat: int = 5) -> float:
    """Median milliseconds of fn() over a few runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    """Generate the files, then measure each step."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="enlist-bench-"))
    os.environ["ENLIST_INSTANCE_PATH"] = str(work / "instance")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

    from flask_migrate import upgrade

    from app import create_app
    from app.services import deployments, operators
    from app.services.staging.spreadsheet_import import stage_spreadsheet
    from bench.generate_files import write_xlsx

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database or f"sqlite:///{work}/bench.db",
                      "WTF_CSRF_ENABLED": False, "ENLIST_PASSWORD_METHOD": "pbkdf2:sha256:1000",
                      "ENLIST_LOGIN_LIMIT": "1000 per minute"})
    with app.app_context():
        upgrade(revision="heads")
        operator = operators.create_operator("bench@msp.example", "bench-password-long", role="admin")
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        print(f"{'rows':>8} {'calamine s':>11} {'to preview s':>13} {'ratio':>7} {'web peak MB':>12} "
              f"{'reader peak MB':>15}")
        batch_ids = {}
        for rows in args.rows:
            path = work / f"users_{rows}.xlsx"
            write_xlsx(path, rows, seed=rows)
            deployment = deployments.create_deployment(f"BN{len(batch_ids)}", f"Bench {rows}", operator,
                                                       upn_suffix="client.example")
            raw = min(raw_calamine_seconds(path) for _ in range(2))
            start = time.perf_counter()
            batch = stage_spreadsheet(deployment, str(path), path.name, operator)
            staged = time.perf_counter() - start
            batch_ids[rows] = (deployment.code, batch.id)
            print(f"{rows:>8} {raw:>11.2f} {staged:>13.2f} {staged / raw:>6.1f}x "
                  f"{peak_mb(resource.RUSAGE_SELF):>12.0f} {peak_mb(resource.RUSAGE_CHILDREN):>15.0f}")
        code, batch_id = batch_ids[max(args.rows)]
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = operator.get_id()
            session["_fresh"] = True
        base = f"/deployments/{code}/imports/{batch_id}"
        first = timed(lambda: client.get(base).status_code)
        errors = timed(lambda: client.get(base + "?errors=1").status_code)
        deep = timed(lambda: client.get(base + "?page=900").status_code)
        from app.extensions import db
        from app.models import ImportRow
        row = db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch_id).limit(1).offset(500))
        values = {"first_name": row.first_name, "last_name": "Fixed", "email": row.email,
                  "username": "", "phone": "5551234567"}
        save = timed(lambda: client.put(f"{base}/rows/{row.row_number}", data=values,
                                        headers={"HX-Request": "true"}).status_code)
        print(f"\n{max(args.rows)}-row batch: first preview page {first:.0f} ms, errors-only page {errors:.0f} ms, "
              f"page 900 {deep:.0f} ms, inline save {save:.0f} ms (medians of 5)")


if __name__ == "__main__":
    main()
