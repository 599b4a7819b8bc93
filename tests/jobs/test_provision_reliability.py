"""Every user accounted for when things break: a killed worker, a flushed Redis, a DC that is down."""

from __future__ import annotations

import dataclasses
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

pytestmark = pytest.mark.samba
BATCH = 200


def test_sigkill_a_worker_mid_batch_and_start_a_new_one(app, cloud_deployment, admin_conn, test_ou, tmp_path):
    make_users(cloud_deployment, BATCH)
    provisioning.send_to_cloud(cloud_deployment, "tests")
    first = start_worker(app, log=tmp_path / "worker1.log")
    try:
        wait_until(lambda: in_cloud_count() >= 40, 60, what="40 users in the cloud")
    finally:
        stop_worker(first, signal.SIGKILL)
    db.session.rollback()
    interrupted = set(db.session.scalars(sa.select(ProvisionTask.id).where(ProvisionTask.outcome == Outcome.RUNNING)))
    assert in_cloud_count() < BATCH
    second = start_worker(app, log=tmp_path / "worker2.log")
    try:
        wait_until(lambda: open_tasks() == 0, 90, what="every task to have an outcome")
    finally:
        stop_worker(second)
    assert_every_user_accounted_for(admin_conn, test_ou)
    assert in_cloud_count() == BATCH, (tmp_path / "worker2.log").read_text()[-3000:]
    # The task the killed worker was running (if it was between steps) ran again and finished once.
    again = set(db.session.scalars(sa.select(ProvisionTask.id).where(ProvisionTask.attempts == 2)))
    assert again == interrupted


def test_flush_redis_mid_batch_then_reconcile(app, cloud_deployment, admin_conn, test_ou, tmp_path):
    make_users(cloud_deployment, BATCH)
    provisioning.send_to_cloud(cloud_deployment, "tests")
    worker = start_worker(app, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: in_cloud_count() >= 40, 60, what="40 users in the cloud")
        redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()  # every queued job is gone
        time.sleep(0.5)
        db.session.rollback()
        assert open_tasks() > 0
        report = provisioning.reconcile(grace_seconds=0)
        assert report.requeued > 0
        wait_until(lambda: open_tasks() == 0, 90, what="every task to have an outcome")
    finally:
        stop_worker(worker)
    assert_every_user_accounted_for(admin_conn, test_ou)
    assert in_cloud_count() == BATCH, (tmp_path / "worker.log").read_text()[-3000:]


def test_a_dc_that_is_down_fails_users_with_a_reason_then_they_succeed(app, spare_dc, spare_deployment, work):
    make_users(spare_deployment, 3, prefix="down")
    spare_dc.stop()
    try:
        started = time.monotonic()
        provisioning.send_to_cloud(spare_deployment, "tests")
        work()  # three attempts each (retries without waiting in the tests)
        elapsed = time.monotonic() - started
    finally:
        spare_dc.start()
    assert elapsed < 15
    users = db.session.scalars(sa.select(User)).all()
    assert all(u.status == UserStatus.FAILED for u in users)
    assert all(u.last_error.startswith("Could not reach the domain controller") and "gave up" in u.last_error
               for u in users)
    assert set(db.session.scalars(sa.select(ProvisionTask.attempts))) == {3}
    assert set(db.session.scalars(sa.select(ProvisionTask.error_code))) == {"unreachable"}
    provisioning.send_to_cloud(spare_deployment, "tests", user_ids=[u.id for u in users])  # the DC is back
    work()
    assert all(u.status == UserStatus.IN_CLOUD for u in db.session.scalars(sa.select(User)))


def test_a_dc_briefly_down_is_retried_until_it_is_back(app, spare_dc, spare_deployment, work):
    app.config["ENLIST_PROVISION_RETRY_INTERVALS"] = [1, 1]
    [user_id] = make_users(spare_deployment, 1, prefix="blip")
    spare_dc.stop()
    try:
        provisioning.send_to_cloud(spare_deployment, "tests")
        work()  # the first attempt fails; RQ schedules the retry
    finally:
        spare_dc.start()
    user = db.session.get(User, user_id)
    assert user.status == UserStatus.QUEUED and "Retrying in 1 s" in user.last_error
    assert db.session.scalar(sa.select(ProvisionTask.outcome)) == Outcome.RETRYING
    time.sleep(1.2)
    work(with_scheduler=True)  # the scheduler puts the due retry back on the queue
    user = db.session.get(User, user_id)
    assert (user.status, user.last_error) == (UserStatus.IN_CLOUD, "")
    assert db.session.scalar(sa.select(ProvisionTask.attempts)) == 2


def test_a_hung_dc_times_out_within_the_limit(app, spare_dc, spare_deployment, work):
    import os

    app.config.update(ENLIST_PROVISION_RETRY_INTERVALS=[], ENLIST_LDAP_RECEIVE_TIMEOUT=1)
    make_users(spare_deployment, 1, prefix="hung")
    provisioning.send_to_cloud(spare_deployment, "tests")
    os.killpg(spare_dc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        work()
        elapsed = time.monotonic() - started
    finally:
        os.killpg(spare_dc.pid, signal.SIGCONT)
    user = db.session.scalars(sa.select(User)).one()
    assert elapsed < 8 and user.status == UserStatus.FAILED and "did not answer in time" in user.last_error


def test_dataclass_settings_are_not_shared_between_deployments(app, spare_deployment):
    from app.services.provisioning.settings import directory_settings

    settings = directory_settings(spare_deployment)
    assert dataclasses.replace(settings).groups is not None and settings.bind_password
