"""RQ entry points of Send to cloud: a task id in, the outcome in the database, errors raised.

Transient directory failures (DC unreachable, busy, timed out) are retried by RQ with the
intervals the job was enqueued with; permanent ones (conflict, password policy, permission,
missing OU) turn the job's remaining retries off before propagating, so RQ records them as
failed at once instead of trying again.
"""

from __future__ import annotations

from rq import get_current_job

from app.services import provisioning
from app.services.directory import DirectoryError
from app.services.mailer import MailError


def _attempt():
    """The running job, whether this is its last attempt, and the seconds before the next one."""
    job = get_current_job()
    if job is None:  # called directly (tests, console): one attempt, no retry
        return None, True, 0
    left = job.retries_left or 0
    intervals = job.retry_intervals or [0]
    done = job.number_of_retries or 0
    return job, left <= 0, intervals[min(done, len(intervals) - 1)]


def _no_retry(job) -> None:
    """Make RQ fail the job now: the error will not go away by waiting."""
    if job is not None:
        job.retries_left = 0


def run_task(task_id: int) -> str:
    """Create, link, update, reset, regroup, disable or delete one user's account."""
    job, final, retry_in = _attempt()
    try:
        return provisioning.run_task(task_id, worker=job.worker_name if job else "", final_attempt=final,
                                     retry_in=retry_in)
    except DirectoryError as error:
        if not error.transient:
            _no_retry(job)
        raise


def send_welcome_email(task_id: int) -> str:
    """Send one new user's welcome email."""
    job, final, _ = _attempt()
    try:
        return provisioning.send_welcome(task_id, final_attempt=final)
    except MailError as error:
        if not error.transient:
            _no_retry(job)
        raise


def reconcile() -> dict:
    """Enqueue again what Redis lost or a dead worker left (also run by workers on start)."""
    report = provisioning.reconcile()
    return report.__dict__
