"""Faults in sequence on one big send, and the web process killed mid-request: nothing is lost or doubled.

Issue 7: a worker SIGKILLed, Redis flushed and the DC stopped, one after the other, during one send
of 500 users; afterwards every user is in exactly one final state with a reason, the counts add up,
and AD holds each account once.
"""

from __future__ import annotations

import signal
import time

import pytest
import redis
import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.services import provisioning
from tests.jobs.support import (
    assert_every_user_accounted_for,
    in_cloud_count,
    make_users,
    open_tasks,
    start_worker,
    stop_worker,
    wait_until,
)

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

        # The technician sends the users that failed while the DC was down again, until none is left.
        wait_until(lambda: open_tasks() == 0, 120, what="every task to have an outcome")
        while (failed := _failed_ids()) and rounds < 3:
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
