"""Data safety: SQLite in WAL mode; `enlist backup` makes an online, consistent copy; `enlist restore` brings
it back (keeping what was there) and refuses what it must."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, User
from app.services import deployments, operators, secrets
from tests.conftest import TEST_PASSWORD

BIND_PASSWORD = "Backup-Bind-Pass-31"


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def cli(app, *args, **kwargs):
    """Run an enlist command; the test's own session lets go of the database first."""
    db.session.commit()
    db.session.close()
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


@pytest.fixture()
def data(app, make_operator, make_deployment, make_user):
    """An admin, a deployment with an encrypted bind password, and two users."""
    make_operator("admin@msp.example", role="admin")
    deployment = make_deployment("ACME", ldaps_url="ldaps://dc1.acme.example:636", bind_user="svc@acme.example",
                                 bind_password=BIND_PASSWORD)
    make_user(deployment, first_name="Ann", last_name="Lee")
    make_user(deployment, first_name="Bo", last_name="Ray")
    return deployment


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    if not is_sqlite():
        pytest.skip("WAL is SQLite's; PostgreSQL has its own write-ahead log")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_writer_commits_while_a_reader_holds_its_snapshot(app, data):
    if not is_sqlite():
        pytest.skip("SQLite only")
    reader = sqlite3.connect(db.engine.url.database, timeout=1, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM users WHERE department = 'Moved'").fetchone()[0] == 0
    writer = sqlite3.connect(db.engine.url.database, timeout=1)
    try:
        with writer:  # with a rollback journal this commit would fail: database is locked
            writer.execute("UPDATE users SET department = 'Moved'")
        assert reader.execute("SELECT count(*) FROM users WHERE department = 'Moved'").fetchone()[0] == 0
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM users WHERE department = 'Moved'").fetchone()[0] == 2
    finally:
        reader.close()
        writer.close()


def test_backup_is_an_online_consistent_copy(app, data, tmp_path):
    if not is_sqlite():
        pytest.skip("the SQLite backup API; PostgreSQL is covered by the pg_dump test")
    path = db.engine.url.database
    stop, committed = threading.Event(), []

    def write_pairs():
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        while not stop.is_set():
            with conn:  # one transaction: two events, or none
                for half in ("a", "b"):
                    conn.execute("INSERT INTO audit_events (at, actor, action, object_type, object_id, summary, "
                                 "outcome, detail) VALUES (CURRENT_TIMESTAMP, 'writer', 'pair', '', '', ?, 'ok', '{}')",
                                 (half,))
            committed.append(1)
        conn.close()

    thread = threading.Thread(target=write_pairs)
    thread.start()
    try:
        while len(committed) < 20:
            stop.wait(0.01)
        copies = [tmp_path / f"copy{i}.db" for i in range(3)]
        for copy in copies:
            result = cli(app, "backup", str(copy))
            assert result.exit_code == 0, result.output
            assert "The data key is not in the backup" in result.output
    finally:
        stop.set()
        thread.join(10)
    assert len(committed) > 20  # the writer went on while the copies were taken
    for copy in copies:
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        pairs = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'pair'").fetchone()[0]
        assert pairs % 2 == 0, "a transaction was copied half-way"
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 2
        conn.close()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600


def test_a_backup_opens_as_the_portal_database_with_the_same_key(app, data, tmp_path):
    if not is_sqlite():
        pytest.skip("SQLite only")
    from app import create_app
    from app.config import TestConfig

    copy = tmp_path / "copy.db"
    assert cli(app, "backup", str(copy)).exit_code == 0
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    restored = create_app({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{copy}"})
    with restored.app_context():
        assert operators.authenticate("admin@msp.example", TEST_PASSWORD) is not None
        deployment = deployments.get_by_code("ACME")
        assert secrets.box().decrypt(deployment.bind_secret) == BIND_PASSWORD
        assert sorted(u.first_name for u in deployment.users) == ["Ann", "Bo"]
        db.session.remove()
        db.engine.dispose()


def test_backup_never_overwrites_and_says_so(app, data, tmp_path):
    target = tmp_path / "exists.db"
    target.write_text("precious")
    result = cli(app, "backup", str(target))
    assert result.exit_code != 0 and "already exists" in result.output
    assert target.read_text() == "precious"
    result = cli(app, "backup", str(tmp_path / "no-such-folder" / "x.db"))
    assert result.exit_code != 0 and "does not exist" in result.output


def test_restore_brings_back_the_backup_and_keeps_what_was_there(app, data, tmp_path):
    copy = tmp_path / "before.dump"
    assert cli(app, "backup", str(copy)).exit_code == 0
    deployment = deployments.get_by_code("ACME")
    db.session.delete(db.session.scalar(sa.select(User).where(User.first_name == "Ann")))
    deployments.update_deployment(deployment, "tests", bind_password="Changed-After-Backup-1")
    deployments.create_deployment("LATE", "Created after the backup", "tests", upn_suffix="late.example")

    result = cli(app, "restore", "--yes", str(copy))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert sorted(db.session.scalars(sa.select(User.first_name))) == ["Ann", "Bo"]
    assert [d.code for d in db.session.scalars(sa.select(Deployment))] == ["ACME"]
    assert secrets.box().decrypt(deployments.get_by_code("ACME").bind_secret) == BIND_PASSWORD
    assert operators.authenticate("admin@msp.example", TEST_PASSWORD) is not None
    if is_sqlite():
        kept = Path(result.output.split("kept in ")[1].split()[0].rstrip("."))
        conn = sqlite3.connect(kept)
        assert conn.execute("SELECT code FROM deployments ORDER BY code").fetchall() == [("ACME",), ("LATE",)]
        conn.close()
        kept.unlink()


def test_restore_asks_before_replacing_everything(app, data, tmp_path):
    copy = tmp_path / "copy.db"
    assert cli(app, "backup", str(copy)).exit_code == 0
    result = cli(app, "restore", str(copy), input="n\n")
    assert result.exit_code != 0 and "replaces every deployment" in result.output


def test_restore_refuses_a_backup_of_a_newer_release_or_something_else(app, data, tmp_path):
    if not is_sqlite():
        pytest.skip("the checks of a SQLite backup file")
    newer = tmp_path / "newer.db"
    assert cli(app, "backup", str(newer)).exit_code == 0
    conn = sqlite3.connect(newer)
    with conn:
        conn.execute("INSERT INTO alembic_version (version_num) VALUES ('9999')")  # a head this release lacks
    conn.close()
    result = cli(app, "restore", "--yes", str(newer))
    assert result.exit_code != 0 and "newer Enlist" in result.output and "9999" in result.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = cli(app, "restore", "--yes", str(junk))
    assert result.exit_code != 0 and "not a SQLite database" in result.output
    assert sorted(db.session.scalars(sa.select(User.first_name))) == ["Ann", "Bo"]  # nothing was touched


def test_postgresql_backup_is_a_pg_dump_archive(app, data, tmp_path):
    if is_sqlite():
        pytest.skip("runs in the PostgreSQL pass")
    import shutil
    import subprocess

    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is not installed")
    copy = tmp_path / "enlist.pgdump"
    result = cli(app, "backup", str(copy))
    assert result.exit_code == 0, result.output
    listing = subprocess.run(["pg_restore", "--list", str(copy)], capture_output=True, text=True, check=True)
    assert "TABLE DATA public users" in listing.stdout and "TABLE DATA public deployments" in listing.stdout
