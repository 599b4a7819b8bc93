"""Backups: an online, consistent copy of the database, and its restore.

SQLite: the sqlite3 backup API copies every page inside one read transaction, so the copy is a snapshot
even while the portal and its workers write (WAL lets them go on). PostgreSQL: pg_dump / pg_restore.
The data key is not part of a backup: without ENLIST_DATA_KEYS (or instance/data.key) the encrypted
secrets of a backup cannot be read, so keep the key too, somewhere else.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

# pg_dump and pg_restore run with an argument list, never through a shell.
import subprocess  # nosec B404
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from app.services.errors import DomainError


@dataclass
class BackupResult:
    """Where the copy went and what it holds."""

    path: Path
    size: int
    tables: int = 0
    tool: str = "sqlite3"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise DomainError("The database is in memory: there is nothing on disk to back up or restore.")
    return Path(parsed.database)


def backup(url: str, target: str | os.PathLike) -> BackupResult:
    """Copy the database to target (which must not exist yet)."""
    target = Path(target)
    if target.exists():
        raise DomainError(f"{target} already exists: choose a new file name (a backup never overwrites).")
    if not target.parent.is_dir():
        raise DomainError(f"The folder {target.parent} does not exist.")
    source = sqlite_path(url)
    if source is not None:
        return _sqlite_backup(source, target)
    if make_url(url).get_backend_name() == "postgresql":
        return _pg_dump(url, target)
    raise DomainError(f"Backups of {make_url(url).get_backend_name()} databases are not supported.")


def _sqlite_backup(source: Path, target: Path, *, check: bool = True) -> BackupResult:
    """Snapshot the live SQLite file into target (written aside, checked, then renamed into place)."""
    if not source.exists():
        raise DomainError(f"There is no database at {source}.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source, timeout=30), sqlite3.connect(partial)
    try:
        src.backup(dst)  # every page in one step: one read transaction, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        tables = _check_sqlite(dst, partial) if check else 0
    finally:
        src.close()
        dst.close()
    os.chmod(partial, 0o600)  # password hashes and encrypted secrets: for the owner's eyes only
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, tables)


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> int:
    """The number of tables of a sound Enlist database; DomainError otherwise."""
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise DomainError(f"{path} is not a SQLite database: {exc}.") from exc
    if verdict != "ok":
        raise DomainError(f"{path} is damaged: {verdict}.")
    if "alembic_version" not in names or "operators" not in names:
        raise DomainError(f"{path} is not an Enlist database (it has no operators or alembic_version table).")
    return len(names)


def backup_revisions(path: Path) -> set[str]:
    """The migration revisions a SQLite backup was made at."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _check_sqlite(conn, path)
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    finally:
        conn.close()


def restore(url: str, source: str | os.PathLike, known_revisions: set[str]) -> Path | None:
    """Replace the database's content with a backup; returns the copy kept of what was there (SQLite)."""
    source = Path(source)
    if not source.is_file():
        raise DomainError(f"There is no backup at {source}.")
    target = sqlite_path(url)
    if target is None:
        if make_url(url).get_backend_name() == "postgresql":
            _pg_restore(url, source)
            return None
        raise DomainError(f"Restoring {make_url(url).get_backend_name()} databases is not supported.")
    unknown = backup_revisions(source) - known_revisions
    if unknown:
        raise DomainError(f"This backup comes from a newer Enlist (schema {', '.join(sorted(unknown))}): "
                          "upgrade Enlist first, then restore.")
    kept = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        _sqlite_backup(target, kept, check=False)  # whatever was there, even half set up
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # page by page under the destination's write lock: all or nothing
    finally:
        src.close()
        dst.close()
    return kept


def _pg_environment(url: str) -> tuple[dict, str]:
    """libpq settings for pg_dump/pg_restore (the password in the environment, not on the command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    for name, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                        ("PGPASSWORD", parsed.password)):
        if value:
            env[name] = str(value)
    return env, parsed.database or ""


def _pg_tool(name: str, advice: str) -> str:
    """The path of a PostgreSQL client tool, or DomainError with what to run instead."""
    path = shutil.which(name)
    if path is None:
        raise DomainError(f"{name} is not installed here. Back up PostgreSQL with its own tools: {advice}")
    return path


def _pg_dump(url: str, target: Path) -> BackupResult:
    """pg_dump in its custom format: consistent (one snapshot) while the portal keeps running."""
    tool = _pg_tool("pg_dump", f"pg_dump --format=custom --file {target} <database>")
    env, database = _pg_environment(url)
    command = [tool, "--format=custom", "--no-owner", f"--file={target}", database]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)  # nosec B603
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise DomainError(f"pg_dump failed: {done.stderr.strip()}")
    os.chmod(target, 0o600)
    return BackupResult(target, target.stat().st_size, tool="pg_dump")


def _pg_restore(url: str, source: Path) -> None:
    """pg_restore of a custom-format dump over the current database (its tables are replaced)."""
    tool = _pg_tool("pg_restore", f"pg_restore --clean --if-exists --no-owner --dbname <database> {source}")
    env, database = _pg_environment(url)
    command = [tool, "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={database}",
               str(source)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)  # nosec B603
    if done.returncode != 0:
        raise DomainError(f"pg_restore failed: {done.stderr.strip()}")
