"""A bounded load on the real portal while a 1,000-user send runs: no errors, nothing lost, figures reported.

Issue 7: on loopback, 20 concurrent clients for ENLIST_LOAD_SECONDS (60 s by default) against the
real portal (gunicorn, 2 web workers as `enlist serve` runs it) and 2 real provisioning workers on
a Samba AD DC: 18 technicians' browsers loop over the Users page, search as you type and the
inline edit (GET the form, PUT a change to a draft kept out of the send), and 2 discovery agents
post batches of new records to /api/v1/discovery, while Send selected to cloud, posted through
the web like the button, creates 1,000 accounts. Every response is a success (a 429 counts as an
error: the clients stay within the production API limit of 600 a minute per token, and the
portal's sign-in limit is raised to 1,000 a minute for the 18 sign-ins from one address, as the
fault suite's portal does), every discovery record is in the Catalog, every saved edit is the
stored value, and every user of the send is in the cloud once.
"""

from __future__ import annotations

import html
import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
import redis
import requests
import sqlalchemy as sa
from rq.registry import FailedJobRegistry, StartedJobRegistry

from app.extensions import db
from app.models import CatalogEntry, ProvisionTask, User, UserStatus
from app.services.queue import get_queue
from app.services.user_schema import FIELD_NAMES
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

LOAD_SECONDS = float(os.environ.get("ENLIST_LOAD_SECONDS", "60"))
CLIENTS = 20
AGENTS = 2  # of the CLIENTS, the ones posting discovery records; the others are technicians' browsers
SENT, EDITABLE = 1000, 90  # users sent to cloud; drafts kept out of the send for the inline edits
RECORDS_PER_POST = 25
# Each agent posts at most twice a second: 4 posts a second on the one token, 240 a minute, within
# the production ENLIST_API_LIMIT (600 per minute per token), which the portal is given, so a 429 is an error here.
API_LIMIT, AGENT_INTERVAL = "600 per minute", 0.5
THINK = (0.05, 0.3)  # seconds a technician waits between two requests
SEARCHES = ("User s 1", "Editable B", "s07", "e00", "client.example", "5551234", "Sales", "nobody here")
KINDS = ("users page", "search", "edit form", "edit save", "discovery post")


@dataclass
class Load:
    """Every response of the run (kind, status, seconds), the errors, and what was written."""

    answers: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    posted_keys: list = field(default_factory=list)
    saved: dict = field(default_factory=dict)  # user id -> the job title last saved
    stop: threading.Event = field(default_factory=threading.Event)

    def call(self, kind: str, send, expect=200, check=None) -> requests.Response | None:
        """Time one request; an unexpected status, a failed check or a transport error is an error."""
        started = time.monotonic()
        try:
            answer = send()
        except requests.RequestException as error:
            self.answers.append((kind, 0, time.monotonic() - started))
            self.errors.append((kind, 0, repr(error)))
            return None
        self.answers.append((kind, answer.status_code, time.monotonic() - started))
        problem = None if answer.status_code == expect else f"status {answer.status_code}"
        if problem is None and check is not None:
            problem = check(answer)
        if problem:
            self.errors.append((kind, answer.status_code, f"{problem}: {answer.text[:300]}"))
            return None
        return answer


class Browser:
    """A technician's browser on the Users page: signed in through the form, htmx headers as the page sends them."""

    def __init__(self, web: portal.Portal, code: str, load: Load, number: int, user_ids: list[int]):
        self.session = portal.signed_in(web, "tech@msp.example", TEST_PASSWORD)
        self.users = f"{web.url}/deployments/{code}/users/"
        self.load, self.number, self.user_ids, self.edits = load, number, user_ids, 0
        self.token = ""

    def htmx(self, target: str = "") -> dict:
        """The headers htmx adds: HX-Request, the target, and the CSRF token of the page's hx-headers."""
        return {"HX-Request": "true", "X-CSRFToken": self.token, **({"HX-Target": target} if target else {})}

    def users_page(self) -> None:
        """The Users page, on one of its first pages and a sort order."""
        params = {"page": random.randint(1, 5), "sort": random.choice(("name", "status")), "dir": "asc"}
        answer = self.load.call("users page", lambda: self.session.get(self.users, params=params, timeout=30),
                                check=lambda a: None if 'id="users-table"' in a.text else "no users table")
        if answer is not None:
            self.token = csrf_token_of(answer.text)

    def search(self) -> None:
        """Search as you type: the table alone, for a prefix and then the whole term."""
        term = random.choice(SEARCHES)
        for typed in (term[:3], term):
            params = {"q": typed, "status": "", "sort": "name", "dir": "asc"}
            self.load.call("search", lambda p=params: self.session.get(
                self.users, params=p, headers=self.htmx("users-table"), timeout=30),
                check=lambda a: "a whole page instead of the table" if "<html" in a.text else None)

    def edit(self) -> None:
        """The pencil (the row as a form), then Save with a new job title: the saved row comes back."""
        user_id = self.user_ids[self.edits % len(self.user_ids)]
        self.edits += 1
        form = self.load.call("edit form", lambda: self.session.get(f"{self.users}{user_id}/edit",
                                                                    headers=self.htmx(), timeout=30))
        if form is None:
            return
        values = {name: html.unescape(value) for name, value in
                  re.findall(r'<input id="edit-\d+-\w+" name="(\w+)" value="([^"]*)"', form.text)}
        if set(values) != set(FIELD_NAMES):
            self.load.errors.append(("edit form", form.status_code, f"fields {sorted(values)}"))
            return
        title = f"Load c{self.number} n{self.edits}"
        values["job_title"] = title
        saved = self.load.call("edit save", lambda: self.session.put(f"{self.users}{user_id}", data=values,
                                                                     headers=self.htmx(), timeout=30),
                               check=lambda a: None if title in a.text else "the saved row lacks the new title")
        if saved is not None:
            self.load.saved[user_id] = title

    def run(self) -> None:
        """Loop until the load stops: page, search, edit, each after a short pause."""
        while not self.load.stop.is_set():
            for step in (self.users_page, self.search, self.edit):
                if self.load.stop.is_set():
                    return
                if self.token or step == self.users_page:
                    step()
                time.sleep(random.uniform(*THINK))


def agent(web: portal.Portal, token: str, load: Load, number: int) -> None:
    """A discovery agent: batches of new records (each with a unique objectGUID) until the load stops."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    post = 0
    while not load.stop.is_set():
        started = time.monotonic()
        post += 1
        records = [{"source": "network", "source_key": str(uuid.uuid4()), "first_name": "Found",
                    "last_name": f"Agent{number} Post{post} N{i}", "email": f"a{number}-{post}-{i}@client.example",
                    "username": f"a{number}p{post}n{i}", "department": "Discovered"}
                   for i in range(RECORDS_PER_POST)]
        answer = load.call("discovery post", lambda r=records: session.post(
            f"{web.url}/api/v1/discovery", json={"records": r}, timeout=30),
            check=lambda a: None if a.json()["counts"]["created"] == RECORDS_PER_POST else "not all created")
        if answer is not None:
            load.posted_keys.extend(r["source_key"] for r in records)
        load.stop.wait(max(0.0, AGENT_INTERVAL - (time.monotonic() - started)))


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    rank = lambda p: ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]  # noqa: E731
    return rank(50) * 1000, rank(95) * 1000, rank(99) * 1000


def _queues_settled(app) -> str | None:
    """Why RQ still holds provisioning work (queued, started or failed jobs), or None."""
    conn = redis.Redis.from_url(app.config["REDIS_URL"])
    queue = get_queue("provisioning", conn)
    left = {"queued": queue.count, "started": StartedJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count}
    return None if not any(left.values()) else str(left)


@pytest.mark.samba
def test_20_clients_for_a_minute_during_a_1000_user_send_get_no_errors_and_lose_no_record(
        app, spare_dc, spare_deployment, make_operator, tmp_path, figures):
    from app.services import discovery

    deployment, code = spare_deployment, spare_deployment.code
    make_operator("admin@msp.example", role="admin")
    make_operator("tech@msp.example")
    _, discovery_token = discovery.issue_token(deployment, "load agents", "tests")
    sent_ids = make_users(deployment, SENT, prefix="s")
    editable = make_users(deployment, EDITABLE, prefix="e")
    for n, user_id in enumerate(editable):  # names a save accepts (make_users' carry digits, which it refuses)
        db.session.execute(sa.update(User).where(User.id == user_id).values(
            last_name=f"Editable {chr(65 + n // 26)}{chr(97 + n % 26)}"))
    ou = deployment.target_ou
    db.session.commit()

    # Two web workers and provisioning workers at a lower CPU priority, as `enlist serve` runs them.
    web = portal.start(app, workers=2, log=tmp_path / "web.log", env={"ENLIST_API_LIMIT": API_LIMIT})
    workers = [start_worker(app, "--nice", "10", log=tmp_path / f"worker{n}.log") for n in (1, 2)]
    load = Load()
    try:
        browsers = [Browser(web, code, load, n, editable[n::CLIENTS - AGENTS]) for n in range(CLIENTS - AGENTS)]
        threads = [threading.Thread(target=b.run, daemon=True) for b in browsers]
        threads += [threading.Thread(target=agent, args=(web, discovery_token, load, n), daemon=True)
                    for n in range(AGENTS)]

        # Send selected to cloud, as the button posts it, while the clients start their loops.
        technician = portal.signed_in(web, "tech@msp.example", TEST_PASSWORD)
        page = technician.get(f"{web.url}/deployments/{code}/users/", timeout=30)
        form = {"csrf_token": csrf_token_of(page.text), "scope": "selected", "user_ids": sent_ids}
        began = time.monotonic()
        for thread in threads:
            thread.start()
        sent = technician.post(f"{web.url}/deployments/{code}/cloud/send", data=form, timeout=120,
                               allow_redirects=False)
        send_request = time.monotonic() - began
        assert sent.status_code == 303 and "/cloud/sends/" in sent.headers["Location"], (sent.status_code,
                                                                                         sent.text[:500])
        send_done = None
        while time.monotonic() - began < LOAD_SECONDS:
            if send_done is None:
                db.session.rollback()
                if open_tasks() == 0:
                    send_done = time.monotonic() - began
            time.sleep(1)
        load.stop.set()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads), "a client did not stop"
        loaded = time.monotonic() - began
        db.session.rollback()
        during_load = in_cloud_count()
        if send_done is None:
            wait_until(lambda: open_tasks() == 0, 300, step=1, what="every task of the send to have an outcome")
            send_done = time.monotonic() - began
        wait_until(lambda: _queues_settled(app) is None, 60, what="RQ to hold no provisioning job")
    finally:
        load.stop.set()
        for worker in workers:
            stop_worker(worker)
        web.stop()

    # No error response of any kind, no exception in a log, and every kind of request was made many times.
    assert not load.errors, f"{len(load.errors)} errors, first ones: {load.errors[:10]}\n{web.log_tail()}"
    for log in sorted(tmp_path.glob("*.log")):
        assert "Traceback" not in log.read_text(errors="replace"), f"an exception in {log.name}"
    by_kind = {kind: [s for k, _, s in load.answers if k == kind] for kind in KINDS}
    assert all(len(seconds) >= 10 for seconds in by_kind.values()), {k: len(v) for k, v in by_kind.items()}

    # Every discovery record posted is in the Catalog, once.
    db.session.rollback()
    posted = set(load.posted_keys)
    assert len(posted) == len(load.posted_keys)
    stored = db.session.scalar(sa.select(sa.func.count()).where(CatalogEntry.deployment_id == deployment.id))
    found = sum(db.session.scalar(sa.select(sa.func.count()).where(
        CatalogEntry.deployment_id == deployment.id, CatalogEntry.source_key.in_(chunk)))
        for chunk in (load.posted_keys[i:i + 500] for i in range(0, len(load.posted_keys), 500)))
    assert found == stored == len(posted)

    # Every saved edit is what the database holds; the edited drafts stayed drafts, out of the send.
    rows = dict(db.session.execute(sa.select(User.id, User.job_title).where(User.id.in_(editable))).all())
    assert load.saved and all(rows[user_id] == title for user_id, title in load.saved.items())
    assert set(db.session.scalars(sa.select(User.status).where(User.id.in_(editable)))) == {UserStatus.DRAFT}

    # Every user of the send is in the cloud, once (the drafts set aside: they were never sent).
    db.session.execute(sa.delete(User).where(User.id.in_(editable)))
    db.session.commit()
    conn = spare_dc.admin_connection()
    try:
        statuses = assert_every_user_accounted_for(conn, ou)
    finally:
        conn.unbind()
    assert statuses == {UserStatus.IN_CLOUD: SENT}, statuses
    retried = db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.attempts > 1))

    total = len(load.answers)
    figures(f"load: {CLIENTS} clients ({CLIENTS - AGENTS} browsers, {AGENTS} discovery agents) for {loaded:.0f} s "
            f"on {db.engine.dialect.name}: {total} requests, {total / loaded:.1f}/s, no errors; "
            f"{len(posted)} discovery records posted, all in the Catalog; {len(load.saved)} users edited")
    for kind, seconds in by_kind.items():
        p50, p95, p99 = percentiles(seconds)
        figures(f"load:   {kind}: {len(seconds)} requests, p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms")
    figures(f"load: send of {SENT} users (request {send_request:.1f} s) done {send_done:.0f} s after it began, "
            f"{SENT / send_done:.1f} users/s; {during_load} in the cloud when the load stopped; {retried} tasks "
            f"needed more than one attempt")
