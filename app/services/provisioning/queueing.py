"""Putting tasks on the provisioning queue: ids only, a job id derived from the user, retries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app.models import ProvisionTask
from app.services.provisioning.settings import setting
from app.services.queue import connection, get_queue

QUEUE = "provisioning"
MAIL_QUEUE = "provisioning"  # served by the same non-forking workers
RUN_TASK = "app.jobs.provision.run_task"
SEND_WELCOME = "app.jobs.provision.send_welcome_email"
# RQ states in which a job will still run (or is running): the reconciler leaves these alone.
LIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED}
DEFAULT_RETRY_INTERVALS = (10, 30, 60)  # seconds before the 2nd, 3rd and 4th attempt
DEFAULT_TIMEOUT = 90  # the whole job; each LDAP call has its own, shorter timeout


def job_id(task: ProvisionTask) -> str:
    """The job id of a task: one per user and action, so enqueuing the same work twice adds nothing."""
    return f"{task.action}-user-{task.user_id}"


def mail_job_id(task: ProvisionTask) -> str:
    """The job id of a task's welcome email."""
    return f"welcome-user-{task.user_id}-task-{task.id}"


def retry_intervals() -> list[int]:
    """Seconds to wait before each retry of a transient failure (ENLIST_PROVISION_RETRY_INTERVALS)."""
    return [int(v) for v in setting("ENLIST_PROVISION_RETRY_INTERVALS", list(DEFAULT_RETRY_INTERVALS))]


def max_attempts() -> int:
    """How many times a task runs at most: the first attempt and one per retry interval."""
    return len(retry_intervals()) + 1


def _retry() -> Retry | None:
    """RQ's retry for transient failures; the job turns it off for permanent ones."""
    intervals = retry_intervals()
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def enqueue_tasks(tasks: Sequence[ProvisionTask], conn=None, chunk: int = 1000) -> list[str]:
    """Enqueue one job per task, a thousand per Redis round trip; returns the job ids."""
    queue = get_queue(QUEUE, conn)
    timeout = setting("ENLIST_PROVISION_TIMEOUT", DEFAULT_TIMEOUT)
    ids: list[str] = []
    for start in range(0, len(tasks), chunk):
        datas = [Queue.prepare_data(RUN_TASK, args=(t.id,), job_id=t.job_id or job_id(t), timeout=timeout,
                                    retry=_retry(), result_ttl=3600, failure_ttl=7 * 86400,
                                    description=f"{t.action} user {t.user_id} (task {t.id})")
                 for t in tasks[start:start + chunk]]
        with queue.connection.pipeline() as pipe:
            jobs = queue.enqueue_many(datas, pipeline=pipe)
            pipe.execute()
        ids += [j.id for j in jobs]
    return ids


def enqueue_welcome(task: ProvisionTask, conn=None) -> str:
    """Enqueue the welcome email of a task (its own job: a mail problem never fails the account)."""
    queue = get_queue(MAIL_QUEUE, conn)
    job = queue.enqueue(SEND_WELCOME, task.id, job_id=mail_job_id(task), retry=_retry(),
                        job_timeout=60, result_ttl=3600, failure_ttl=7 * 86400,
                        description=f"welcome email user {task.user_id} (task {task.id})")
    return job.id


def job_states(job_ids: Iterable[str], conn=None) -> dict[str, tuple[str | None, str]]:
    """Each job's RQ status (None when Redis no longer has it) and worker name, in one round trip."""
    ids = list(dict.fromkeys(job_ids))
    redis = conn or connection()
    with redis.pipeline(transaction=False) as pipe:
        for jid in ids:
            pipe.hmget(Job.key_for(jid), "status", "worker_name")
        answers = pipe.execute()
    return {jid: (_text(status) or None, _text(worker)) for jid, (status, worker) in zip(ids, answers)}


def _text(value) -> str:
    """A Redis answer as text."""
    return value.decode() if isinstance(value, bytes) else (value or "")


def is_live(state: str | None) -> bool:
    """Whether a job in this RQ state will still run."""
    return state in {s.value for s in LIVE}


def fetch_job(jid: str, conn=None) -> Job | None:
    """The job, or None when Redis no longer has it."""
    try:
        return Job.fetch(jid, connection=conn or connection())
    except NoSuchJobError:
        return None
