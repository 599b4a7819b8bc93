"""The reconciler on its own (real database and Redis, no DC): what it re-enqueues, leaves alone or fails."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import redis
import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.services import provisioning
from app.services.provisioning import queueing
from app.services.provisioning.reconcile import LOCK, worker_alive, worker_name
from tests.jobs.support import on_cloud


@pytest.fixture
def sent(app, make_deployment, make_user):
    """Two users sent to cloud; their jobs are on the queue."""
    deployment = on_cloud(make_deployment("ACME"))
    users = [make_user(deployment, first_name="Pat", last_name=n) for n in ("Adams", "Baker")]
    provisioning.send_to_cloud(deployment, "tests")
    return users


def queue_ids(app) -> list[str]:
    """Job ids on the provisioning queue."""
    return [i.decode() for i in redis.Redis.from_url(app.config["REDIS_URL"]).lrange("rq:queue:provisioning", 0, -1)]


def dead_worker_name() -> str:
    """The name a worker on this host would have had, with a pid that no longer runs."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}.{done.stdout.strip()}.abcdef"


def test_waiting_tasks_with_live_jobs_are_left_alone(app, sent):
    assert provisioning.reconcile(grace_seconds=0).requeued == 0
    assert len(queue_ids(app)) == 2


def test_waiting_tasks_whose_jobs_vanished_are_enqueued_again(app, sent):
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    assert provisioning.reconcile(grace_seconds=60).requeued == 0  # just queued: their request may still enqueue
    assert provisioning.reconcile(grace_seconds=0).requeued == 2
    assert sorted(queue_ids(app)) == sorted(f"create-user-{u.id}" for u in sent)


def test_running_tasks_of_dead_workers_go_back_to_the_queue(app, sent):
    mine, gone = db.session.scalars(sa.select(ProvisionTask).order_by(ProvisionTask.id)).all()
    mine.outcome, mine.worker, mine.attempts = Outcome.RUNNING, worker_name(), 1
    gone.outcome, gone.worker, gone.attempts = Outcome.RUNNING, dead_worker_name(), 1
    db.session.execute(sa.update(User).values(status=UserStatus.PROVISIONING))
    db.session.commit()
    redis.Redis.from_url(app.config["REDIS_URL"]).delete("rq:queue:provisioning")
    assert provisioning.reconcile(grace_seconds=0).requeued == 1
    db.session.expire_all()
    assert (mine.outcome, gone.outcome, gone.worker) == (Outcome.RUNNING, Outcome.QUEUED, "")
    assert db.session.get(User, gone.user_id).status == UserStatus.QUEUED
    assert queue_ids(app) == [gone.job_id]


def test_a_task_interrupted_too_often_fails_with_the_reason(app, sent):
    task = db.session.scalars(sa.select(ProvisionTask)).first()
    task.outcome, task.worker, task.attempts = Outcome.RUNNING, dead_worker_name(), queueing.max_attempts()
    db.session.commit()
    assert provisioning.reconcile(grace_seconds=0).failed == 1
    user = db.session.get(User, task.user_id)
    db.session.refresh(user)
    assert user.status == UserStatus.FAILED and "interrupted" in user.last_error and "gave up" in user.last_error


def test_pending_welcome_emails_whose_job_vanished_are_enqueued_again(app, sent):
    task = db.session.scalars(sa.select(ProvisionTask)).first()
    task.outcome, task.email_state = Outcome.OK, "pending"
    db.session.commit()
    assert provisioning.reconcile(grace_seconds=0).emails == 1
    assert queueing.mail_job_id(task) in queue_ids(app)
    assert provisioning.reconcile(grace_seconds=0).emails == 0  # now it has a live job


def test_only_one_reconciler_runs_at_a_time(app, sent):
    r = redis.Redis.from_url(app.config["REDIS_URL"])
    r.flushdb()
    r.set(LOCK, "another-worker", ex=60)
    assert provisioning.reconcile(grace_seconds=0).requeued == 0
    r.delete(LOCK)
    assert provisioning.reconcile(grace_seconds=0).requeued == 2


def test_worker_liveness(app):
    assert worker_alive(worker_name()) and not worker_alive(dead_worker_name()) and not worker_alive("")
    assert not worker_alive("other-host.1.abc")  # another machine's worker: its RQ key says, and it has none
