"""Faults in sequence on one big send, and the web process killed mid-request: nothing is lost or doubled.

Issue 7: a worker SIGKILLed, Redis flushed and the DC stopped, one after the other, during one send
of 500 users; afterwards every user is in exactly one final state with a reason, the counts add up,
and AD holds each account once. Then the real portal (gunicorn, its own process) is SIGKILLed while
it stages an uploaded file and while it commits a big batch: no half-staged batch, no half import.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import BatchState, ImportBatch, ImportRow, Outcome, ProvisionTask, RowState, User, UserStatus
from app.services import provisioning
from bench.generate_files import write_csv
from tests.conftest import TEST_PASSWORD, csrf_token_of
from tests.jobs.support import (
    assert_every_user_accounted_for,
    in_cloud_count,
    make_users,
    open_tasks,
    start_worker,
    stop_worker,
    wait_until,
)
from tests.reliability import portal

BATCH = 500
# Seconds before the 2nd and 3rd attempt of a transient failure: the product's own retries, shortened.
RETRY_INTERVALS = (1, 2)


def _failed_ids() -> list[int]:
    """Users whose send ended in failure."""
    return list(db.session.scalars(sa.select(User.id).where(User.status == UserStatus.FAILED)))


def _worker_settings(app, monkeypatch) -> None:
    """Short retries and timeouts for the sends and the worker processes; workers reconcile every 5 s."""
    app.config.update(ENLIST_PROVISION_RETRY_INTERVALS=list(RETRY_INTERVALS), ENLIST_LDAP_CONNECT_TIMEOUT=2,
                      ENLIST_LDAP_RECEIVE_TIMEOUT=5)
    for name, value in (("ENLIST_PROVISION_RETRY_INTERVALS", ",".join(map(str, RETRY_INTERVALS))),
                        ("ENLIST_LDAP_CONNECT_TIMEOUT", "2"), ("ENLIST_LDAP_RECEIVE_TIMEOUT", "5"),
                        ("ENLIST_RECONCILE_SECONDS", "5")):
        monkeypatch.setenv(name, value)  # start_worker passes the environment on


@pytest.mark.samba
def test_500_users_survive_a_killed_worker_a_flushed_redis_and_a_dc_restart_each_in_cloud_once(
        app, spare_dc, spare_deployment, tmp_path, monkeypatch, figures):
    _worker_settings(app, monkeypatch)
    started = time.monotonic()
    make_users(spare_deployment, BATCH, prefix="f")
    provisioning.send_to_cloud(spare_deployment, "tests")
    logs = iter(tmp_path / f"worker{n}.log" for n in range(1, 10))
    worker = start_worker(app, log=next(logs))
    faults, resent, rounds = [], 0, 0
    try:
        # 1. The worker is SIGKILLed (its whole process group) mid-batch; a new one takes over.
        wait_until(lambda: in_cloud_count() >= 100, 120, what="100 users in the cloud")
        stop_worker(worker, signal.SIGKILL)
        faults.append(f"worker SIGKILLed at {in_cloud_count()}")
        worker = start_worker(app, log=next(logs))

        # 2. Redis loses everything (queues, jobs, scheduled retries); the reconciler puts the work back.
        wait_until(lambda: in_cloud_count() >= 200, 120, what="200 users in the cloud")
        redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
        faults.append(f"Redis flushed at {in_cloud_count()}")
        db.session.rollback()
        assert open_tasks() > 0
        assert provisioning.reconcile(grace_seconds=0).requeued > 0

        # 3. The DC stops mid-batch and comes back: tasks retry on their own; some give up first.
        wait_until(lambda: in_cloud_count() >= 300, 120, what="300 users in the cloud")
        spare_dc.stop()
        faults.append(f"DC stopped at {in_cloud_count()}")
        try:
            down = time.monotonic()
            waiting = sa.select(sa.func.count()).where(ProvisionTask.outcome == Outcome.RETRYING)
            wait_until(lambda: _failed_ids() or time.monotonic() - down > 8 or None, 30,
                       what="a user to fail while the DC is down")
            during = db.session.scalar(waiting)
        finally:
            spare_dc.start()
        faults[-1] += f" for {time.monotonic() - down:.1f} s"

        # Users that gave up while the DC was down say so and why; the technician sends them again.
        wait_until(lambda: open_tasks() == 0, 120, what="every task to have an outcome")
        while (failed := _failed_ids()) and rounds < 3:
            reasons = db.session.scalars(sa.select(User.last_error).where(User.id.in_(failed)))
            assert all("send the user again to retry" in reason.lower() for reason in reasons)
            rounds += 1
            resent += len(failed)
            provisioning.send_to_cloud(spare_deployment, "technician", user_ids=failed)
            wait_until(lambda: open_tasks() == 0, 120, what="every resent task to have an outcome")
    finally:
        stop_worker(worker)
    elapsed = time.monotonic() - started

    conn = spare_dc.admin_connection()
    try:
        statuses = assert_every_user_accounted_for(conn, spare_deployment.target_ou)
    finally:
        conn.unbind()
    assert sum(statuses.values()) == BATCH
    assert statuses == {UserStatus.IN_CLOUD: BATCH}, statuses
    retried = db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.attempts > 1,
                                                                 ProvisionTask.outcome == Outcome.OK))
    figures(f"faults: 500 users, {len(faults)} faults ({'; '.join(faults)}); {during} tasks waiting to retry "
            f"while the DC was down; {retried} finished on a later attempt; {resent} failed users sent again "
            f"in {rounds} round(s); in cloud {statuses.get(UserStatus.IN_CLOUD, 0)}, "
            f"failed {statuses.get(UserStatus.FAILED, 0)}; {elapsed:.0f} s")


# The web process killed mid-request -------------------------------------------------------------

UPLOAD_ROWS, COMMIT_ROWS = 30_000, 20_000


def _written(pid: int) -> int:
    """Bytes the process has written so far (files, database, sockets): /proc/<pid>/io wchar."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar for {pid}")


PORTAL_NAME = "enlist-fault-suite-portal"  # the portal's application_name on PostgreSQL


def _mid_insert(web: portal.Portal, statement: str, sqlite_bytes: int):
    """A check that the portal is inside its transaction, inserting rows, not yet committed.

    PostgreSQL: its connection's current or last statement in pg_stat_activity starts with
    `statement`, in a transaction still open. SQLite: its worker has written `sqlite_bytes` more
    bytes (files and the WAL, where the insert spills pages before the commit) since the check began.
    """
    if db.engine.dialect.name == "postgresql":
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                        "AND state IN ('active', 'idle in transaction') AND query ILIKE :statement")
        return lambda: db.session.scalar(query, {"name": PORTAL_NAME, "statement": f"{statement}%"}) > 0
    [pid] = web.worker_pids()
    before = _written(pid)
    return lambda: _written(pid) - before >= sqlite_bytes


def _kill_mid_request(web: portal.Portal, send, inside, timeout: float = 60) -> float:
    """send() in a thread; SIGKILL the portal once inside() says the request is where it should
    die, before the portal answers. Seconds from the request to the kill."""
    outcome = {}

    def request():
        try:
            outcome["answer"] = send()
        except requests.ConnectionError as error:
            outcome["error"] = error

    thread = threading.Thread(target=request, daemon=True)
    started = time.monotonic()
    thread.start()
    while not inside():
        db.session.rollback()
        assert thread.is_alive(), f"the request finished before the kill: {outcome}"
        assert time.monotonic() < started + timeout, f"the request was not where it should die after {timeout} s"
        time.sleep(0.005)
    web.kill()
    elapsed = time.monotonic() - started
    thread.join(30)
    assert "error" in outcome, f"the portal answered before it was killed: {outcome}"
    return elapsed


class Technician:
    """A technician's browser on the real portal: signed in, sending forms with the page's CSRF token."""

    def __init__(self, web: portal.Portal, code: str = "ACME"):
        self.web, self.imports = web, f"/deployments/{code}/imports/"
        self.session = portal.signed_in(web, "tech@msp.example", TEST_PASSWORD)

    def page(self, path: str) -> str:
        """A page's HTML (200 expected)."""
        answer = self.session.get(self.web.url + path, timeout=60)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.text

    def post(self, path: str, page: str, data: dict | None = None, **kwargs) -> requests.Response:
        """An htmx form post with the CSRF token of the page that shows it."""
        return self.session.post(self.web.url + path, data={**(data or {}), "csrf_token": csrf_token_of(
            self.page(page))}, headers={"HX-Request": "true"}, timeout=120, **kwargs)

    def upload(self, path: Path) -> requests.Response:
        """Upload a file on the Import page."""
        with path.open("rb") as stream:
            return self.post(self.imports, self.imports, files={"file": (path.name, stream, "text/csv")})

    def staged(self, path: Path) -> str:
        """Upload a file and return the preview page's path it sends the browser to."""
        answer = self.upload(path)
        assert answer.status_code == 204 and answer.headers.get("HX-Redirect"), (answer.status_code, answer.text[:500])
        return answer.headers["HX-Redirect"]


@pytest.fixture
def web(app, make_operator, make_deployment, tmp_path):
    """start(): the real portal on the test database, as a process of its own (stopped afterwards)."""
    make_operator("admin@msp.example", role="admin")
    make_operator("tech@msp.example")
    make_deployment("ACME")
    started: list[portal.Portal] = []
    env = {"TMPDIR": str(tmp_path / "web-tmp")}
    if db.engine.dialect.name == "postgresql":  # so the tests can see the portal's statements
        env["DATABASE_URL"] = f"{app.config['SQLALCHEMY_DATABASE_URI']}?application_name={PORTAL_NAME}"

    def start() -> portal.Portal:
        server = portal.start(app, log=tmp_path / "web.log", env=env)
        started.append(server)
        return server

    (tmp_path / "web-tmp").mkdir()
    yield start
    for server in started:
        server.stop()


def _batches() -> list[tuple]:
    """Every batch as (filename, state, row_count, imported_rows, rows it really holds, by state)."""
    db.session.rollback()
    rows = dict(db.session.execute(sa.select(ImportRow.batch_id, sa.func.count()).group_by(ImportRow.batch_id)).all())
    return [(b.filename, b.state, b.row_count, b.imported_rows, rows.get(b.id, 0))
            for b in db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id))]


def _users() -> list[tuple]:
    """Every user as (id, username, status)."""
    db.session.rollback()
    return list(db.session.execute(sa.select(User.id, User.username, User.status).order_by(User.id)).all())


def test_the_web_killed_while_staging_an_upload_leaves_no_half_staged_batch_and_keeps_saved_data(
        app, web, tmp_path, figures):
    make_users(_deployment(), 20, prefix="saved")
    earlier, big = tmp_path / "earlier.csv", tmp_path / "big.csv"
    write_csv(earlier, 200, seed=1)
    write_csv(big, UPLOAD_ROWS, seed=2)
    server = web()
    tech = Technician(server)
    tech.staged(earlier)
    before_batches, before_users = _batches(), _users()
    assert before_batches == [("earlier.csv", BatchState.STAGED, 200, 0, 200)]

    # Killed while the rows are being inserted (SQLite: after the two spooled copies of the file,
    # werkzeug's and stage_upload's, a megabyte more written).
    killed_at = _kill_mid_request(server, lambda: tech.upload(big),
                                  _mid_insert(server, "COPY import_rows", 2 * big.stat().st_size + 1_000_000))

    server = web()
    tech = Technician(server)
    assert _batches() == before_batches and _users() == before_users
    listing = tech.page(tech.imports)
    assert "earlier.csv" in listing and "big.csv" not in listing
    uploads = tmp_path / "web-tmp"
    assert len(list(uploads.glob("enlist-upload-*"))) == 1  # the killed request's copy of the file

    # The same file uploaded again after the restart is staged whole; the copy the killed request
    # left (end users' personal data) is removed.
    again = time.monotonic()
    preview = tech.page(tech.staged(big))
    took = time.monotonic() - again
    assert not list(uploads.glob("enlist-upload-*"))
    assert _batches()[-1] == ("big.csv", BatchState.STAGED, UPLOAD_ROWS, 0, UPLOAD_ROWS)
    assert f"{UPLOAD_ROWS:,}" in preview or str(UPLOAD_ROWS) in preview
    figures(f"web killed {killed_at:.2f} s into staging a {UPLOAD_ROWS:,}-row upload: no batch from it after "
            f"the restart, the earlier batch and {len(before_users)} users intact; uploaded again: "
            f"{UPLOAD_ROWS:,} rows staged in {took:.1f} s")


def _deployment():
    """The portal's deployment (ACME)."""
    from app.models import Deployment

    return db.session.scalar(sa.select(Deployment).where(Deployment.code == "ACME"))


def _imported_from(batch_id: int) -> tuple[int, int, int, int]:
    """(users made from the batch, distinct usernames among them, rows marked imported, distinct user ids)."""
    db.session.rollback()
    users = db.session.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(User.username_key)))
                               .where(User.import_batch_id == batch_id)).one()
    rows = db.session.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(ImportRow.user_id)))
                              .where(ImportRow.batch_id == batch_id, ImportRow.state == RowState.IMPORTED)).one()
    return users[0], users[1], rows[0], rows[1]


def test_the_web_killed_mid_commit_imports_all_rows_or_none_and_a_second_commit_imports_each_row_once(
        app, web, tmp_path, figures):
    make_users(_deployment(), 20, prefix="saved")
    big = tmp_path / "commit.csv"
    write_csv(big, COMMIT_ROWS, seed=3)
    server = web()
    tech = Technician(server)
    preview = tech.staged(big)
    batch_id = int(preview.rstrip("/").rsplit("/", 1)[1])
    for field, code in (("username", "missing"), ("phone", "not_digits")):  # Fix all, as the technician would
        assert tech.post(f"{preview}/fix-all", preview, {"field": field, "code": code}).status_code == 204
    db.session.rollback()
    batch = db.session.get(ImportBatch, batch_id)
    importable, saved = batch.importable_rows, _users()
    assert importable > COMMIT_ROWS * 0.9

    # Killed while the users are being inserted.
    killed_at = _kill_mid_request(server, lambda: tech.post(f"{preview}/commit", preview, {"only_valid": "1"}),
                                  _mid_insert(server, "INSERT INTO users", 1_000_000))

    server = web()
    tech = Technician(server)
    users, distinct, rows, row_users = _imported_from(batch_id)
    batch = db.session.get(ImportBatch, batch_id)
    assert users in (0, importable), f"half an import: {users} of {importable} rows became users"
    assert (users, distinct, rows, row_users) == (users,) * 4 and batch.imported_rows == users
    assert batch.state == (BatchState.STAGED if users == 0 else BatchState.PARTIAL)
    assert _users()[:20] == saved[:20]
    first = "none" if users == 0 else "all"
    # The preview says where the batch stands: the valid rows still to import, or how many were imported.
    page = tech.page(preview)
    assert f"Import the {importable} valid rows" in page if users == 0 else f"<strong>{users}</strong> imported" in page

    answer = tech.post(f"{preview}/commit", preview, {"only_valid": "1"})
    assert answer.status_code == 204 and answer.headers["HX-Redirect"].endswith("/users/")
    flashed = re.search(r"(\d+) users imported as drafts", tech.page(answer.headers["HX-Redirect"]))
    assert flashed and int(flashed.group(1)) == importable - users
    assert _imported_from(batch_id) == (importable,) * 4
    db.session.rollback()
    assert db.session.get(ImportBatch, batch_id).imported_rows == importable
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 20 + importable
    figures(f"web killed {killed_at:.2f} s into committing {importable:,} rows: {first} became users (one "
            f"transaction); the second commit imported {importable - users:,}, each row once")
