"""The reconciler: work the database says is waiting or running, but that no job will finish, runs again.

Redis can lose jobs (restarted without persistence, flushed) and a worker can die mid-job
(SIGKILL, out of memory, machine lost). The database keeps every task's outcome, so on worker
start and every minute or so the reconciler compares the two: a waiting task without a live job
is enqueued again; a running task whose worker is gone goes back to waiting and is enqueued
again. Running a task twice is harmless (the job claims its task and every step is idempotent);
a task interrupted too often fails with that reason instead of looping forever.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.models._base import utcnow
from app.services.directory import DirectoryError
from app.services.processes import pid_running
from app.services.provisioning import finish, queueing
from app.services.provisioning.passwords import purge_expired
from app.services.queue import connection

log = logging.getLogger(__name__)
LOCK = "enlist:reconcile:lock"


@dataclass
class ReconcileReport:
    """What one pass did."""

    requeued: int = 0
    failed: int = 0
    emails: int = 0
    purged: int = 0


def worker_name() -> str:
    """A worker name that tells the reconciler where the worker runs: host, pid, random."""
    return f"{socket.gethostname()}.{os.getpid()}.{os.urandom(3).hex()}"


def worker_alive(name: str, redis=None) -> bool:
    """Whether the worker that claimed a task still runs: its pid on this host, else its RQ key."""
    if not name:
        return False
    host, _, rest = name.rpartition(".")[0].rpartition(".")
    pid = rest if rest.isdigit() else ""
    if host == socket.gethostname() and pid:
        return pid_running(int(pid))
    return bool((redis or connection()).exists(f"rq:worker:{name}"))


def reconcile(*, grace_seconds: float = 10, redis=None) -> ReconcileReport:
    """One pass over every open task and pending email; safe to run from several workers at once."""
    redis = redis or connection()
    if not redis.set(LOCK, worker_name(), nx=True, ex=60):
        return ReconcileReport()  # another worker is reconciling right now
    try:
        report = ReconcileReport(purged=purge_expired())
        _tasks(report, grace_seconds, redis)
        _emails(report, redis)
    finally:
        redis.delete(LOCK)
    if report.requeued or report.failed or report.emails:
        log.warning("reconciler: %s", report)
    return report


def _tasks(report: ReconcileReport, grace_seconds: float, redis) -> None:
    """Enqueue again (or fail) the open tasks that no live job or worker will finish."""
    tasks = list(db.session.scalars(sa.select(ProvisionTask).where(ProvisionTask.outcome.in_(Outcome.OPEN))))
    states = queueing.job_states([t.job_id for t in tasks], redis)
    recent = utcnow() - timedelta(seconds=grace_seconds)
    lost = []
    for task in tasks:
        state, job_worker = states.get(task.job_id, (None, ""))
        if task.outcome in Outcome.WAITING:
            if queueing.is_live(state) and (state != "started" or worker_alive(job_worker, redis)):
                continue
            if _aware(task.queued_at) > recent:  # its request may be enqueuing it right now
                continue
        elif worker_alive(task.worker, redis):
            continue
        lost.append(task)
    requeue = []
    for task in lost:
        if task.attempts >= queueing.max_attempts():
            error = DirectoryError(f"The change was interrupted {task.attempts} times (worker stopped or "
                                   "timed out); Enlist gave up. Send the user again to retry.",
                                   code="interrupted")
            finish.record(finish.TaskRef(task.id, task.user_id, task.send_id, task.action), Outcome.FAILED,
                          error=error)
            report.failed += 1
        elif _reset(task):
            requeue.append(task)
    db.session.commit()
    report.requeued = len(queueing.enqueue_tasks(requeue, redis)) if requeue else 0


def _reset(task: ProvisionTask) -> bool:
    """Put an open task back to waiting, unless it moved on meanwhile."""
    moved = db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.id == task.id,
                                                             ProvisionTask.outcome == task.outcome)
                               .values(outcome=Outcome.QUEUED, worker="")).rowcount
    if moved and task.user_id:
        db.session.execute(sa.update(User).where(User.id == task.user_id, User.status == UserStatus.PROVISIONING)
                           .values(status=UserStatus.QUEUED))
    return bool(moved)


def _emails(report: ReconcileReport, redis) -> None:
    """Enqueue again the welcome emails still pending whose job is gone."""
    tasks = list(db.session.scalars(sa.select(ProvisionTask).where(ProvisionTask.email_state == "pending")))
    states = queueing.job_states([queueing.mail_job_id(t) for t in tasks], redis)
    for task in tasks:
        state, job_worker = states.get(queueing.mail_job_id(task), (None, ""))
        if queueing.is_live(state) and (state != "started" or worker_alive(job_worker, redis)):
            continue
        queueing.enqueue_welcome(task, redis)
        report.emails += 1


def _aware(moment):
    """A stored time as timezone-aware UTC (SQLite gives back naive UTC)."""

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
