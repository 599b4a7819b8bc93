"""Running one task: claim it in the database, do the directory work, record each step and the outcome.

The database, not Redis, says what is done: a run first claims its task (queued or retrying to
running, in one UPDATE), so a job that runs twice (re-enqueued by the reconciler, retried by RQ
after a worker died) does nothing the second time. The objectGUID and the step reached are
committed after every step, so a run after a crash continues where the last one stopped.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from app.extensions import db
from app.models import Action, CloudSend, Outcome, ProvisionTask, User, UserStatus
from app.models._base import record_of, utcnow
from app.services import secrets
from app.services.directory import AccountConflict, DirectoryError
from app.services.provisioning import finish
from app.services.provisioning.actions import ACTIONS, TaskContext
from app.services.provisioning.pool import POOL
from app.services.provisioning.settings import directory_settings, enlist_id

log = logging.getLogger(__name__)
SKIPPED = "skipped"


def claim(task_id: int, worker: str) -> bool:
    """Take a waiting task for this run; False when another run has it or it is finished."""
    started = utcnow()
    claimed = db.session.execute(
        sa.update(ProvisionTask)
        .where(ProvisionTask.id == task_id, ProvisionTask.outcome.in_(Outcome.WAITING))
        .values(outcome=Outcome.RUNNING, attempts=ProvisionTask.attempts + 1, worker=worker[:120],
                started_at=started)).rowcount
    if claimed:
        db.session.execute(
            sa.update(User).where(User.id == sa.select(ProvisionTask.user_id).where(
                ProvisionTask.id == task_id).scalar_subquery(), User.status == UserStatus.QUEUED)
            .values(status=UserStatus.PROVISIONING))
    db.session.commit()
    return bool(claimed)


def run_task(task_id: int, *, worker: str = "", final_attempt: bool = True, retry_in: int = 0) -> str:
    """Run a task once; its outcome lands in the database. Errors are recorded, then raised again."""
    began = time.perf_counter()
    if not claim(task_id, worker):
        log.info("task %s: already taken or finished; nothing to do", task_id)
        return SKIPPED
    timings = {"claim": _ms(began)}
    task = db.session.get(ProvisionTask, task_id)
    ref = finish.TaskRef(task.id, task.user_id, task.send_id, task.action,
                         bool(task.user and task.user.deployment.welcome_email))
    try:
        ctx, key = _context(task, timings)
        mark = time.perf_counter()
        changes = POOL.run(key, ctx.settings, lambda entry: ACTIONS[task.action](ctx, entry))
        timings["directory"] = _ms(mark)
    except AccountConflict as error:
        finish.record(ref, Outcome.CONFLICT, error=error, timings=timings, began=began)
        raise
    except DirectoryError as error:
        if error.transient and not final_attempt:
            finish.note_retry(ref, error, retry_in)
        else:
            finish.record(ref, Outcome.FAILED, error=error, timings=timings, began=began)
        raise
    except Exception as error:  # a timeout, a lost database, a bug: recorded as plainly as possible, raised
        db.session.rollback()
        failure = DirectoryError(_unexpected(error), code=type(error).__name__[:40], raw=repr(error)[:2000],
                                 transient=True)
        if final_attempt:
            finish.record(ref, Outcome.FAILED, error=failure, timings=timings, began=began)
        else:
            finish.note_retry(ref, failure, retry_in)
        raise
    finish.record(ref, Outcome.OK, changes=changes, timings=timings, began=began)
    return Outcome.OK


def _context(task: ProvisionTask, timings: dict) -> tuple[TaskContext, str]:
    """Everything the directory work needs, read once; and the pool key of the deployment."""
    mark = time.perf_counter()
    user = task.user
    if user is None:
        raise DirectoryError("The user was deleted from Enlist before the change ran.", code="user_deleted")
    deployment = user.deployment
    send = db.session.get(CloudSend, task.send_id)
    step_ms = {"steps_db": 0.0}
    step_clock = [time.perf_counter()]

    def step_done(step: str, guid: str) -> None:
        """Commit the step reached and the GUID before the next step starts."""
        now = time.perf_counter()
        timings[step] = round((now - step_clock[0]) * 1000, 2)
        values = {"step": step}
        if step == "password":
            values["password_set"] = True
        db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.id == task.id).values(**values))
        user_values = {"object_guid": guid} if guid else {}
        if task.action in (Action.CREATE, Action.LINK):
            user_values["step"] = step
        if user_values:
            db.session.execute(sa.update(User).where(User.id == task.user_id).values(**user_values))
        db.session.commit()
        step_clock[0] = time.perf_counter()
        step_ms["steps_db"] += (step_clock[0] - now) * 1000
        timings["steps_db"] = round(step_ms["steps_db"], 2)

    ctx = TaskContext(
        action=task.action, settings=directory_settings(deployment), enlist_id=enlist_id(user),
        username=user.username, record=record_of(user), guid=user.object_guid,
        password=secrets.box().decrypt(task.password_secret), options=dict(send.options or {}),
        step_done=step_done)
    key = deployment.directory_digest()
    db.session.commit()  # end the read transaction: the directory work may take a while
    timings["load"] = _ms(mark)
    step_clock[0] = time.perf_counter()
    return ctx, key


def _unexpected(error: Exception) -> str:
    """A plain sentence for a failure that is not the directory's answer."""
    from rq.timeouts import JobTimeoutException

    if isinstance(error, JobTimeoutException):
        return "The change took longer than the job's time limit and was stopped."
    return f"Enlist could not finish this change ({type(error).__name__}); the task log has the details."


def _ms(since: float) -> float:
    """Milliseconds since a perf_counter() reading."""
    return round((time.perf_counter() - since) * 1000, 2)
