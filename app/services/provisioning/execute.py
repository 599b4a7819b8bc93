"""Running one task: claim it in the database, do the directory work, record each step and the outcome.

The database, not Redis, says what is done: a run first claims its task (queued or retrying to
running, in one UPDATE), so a job that runs twice (re-enqueued by the reconciler, retried by RQ
after a worker died) does nothing the second time. The objectGUID and the step reached are
committed after every step, so a run after a crash continues where the last one stopped.
"""

from __future__ import annotations

import logging
import time

from app.extensions import db
from app.models import Action, CloudSend, Deployment, Outcome, User
from app.models._base import record_of
from app.services import secrets
from app.services.directory import AccountConflict, DirectoryError
from app.services.provisioning import finish, records
from app.services.provisioning.actions import ACTIONS, TaskContext
from app.services.provisioning.pool import POOL
from app.services.provisioning.settings import directory_settings, enlist_id

log = logging.getLogger(__name__)
SKIPPED = "skipped"


def run_task(task_id: int, *, worker: str = "", final_attempt: bool = True, retry_in: int = 0) -> str:
    """Run a task once; its outcome lands in the database. Errors are recorded, then raised again."""
    with db.engine.connect() as conn:
        return _run(records.Writer(conn), task_id, worker, final_attempt, retry_in)


def _run(writer: records.Writer, task_id: int, worker: str, final_attempt: bool, retry_in: int) -> str:
    """run_task with the job's database connection."""
    began = time.perf_counter()
    if not records.claim(writer, task_id, worker):
        log.info("task %s: already taken or finished; nothing to do", task_id)
        return SKIPPED
    timings = {"claim": _ms(began)}
    task, user, deployment, send = records.load(task_id)
    ref = finish.TaskRef(task.id, task.user_id, task.send_id, task.action, bool(deployment.welcome_email))
    done = {"timings": timings, "began": began, "writer": writer}
    try:
        ctx, key = _context(writer, ref, user, deployment, send, task.password_secret, timings)
        mark = time.perf_counter()
        changes = POOL.run(key, ctx.settings, lambda entry: ACTIONS[ref.action](ctx, entry))
        timings["directory"] = _ms(mark)
    except AccountConflict as error:
        finish.record(ref, Outcome.CONFLICT, error=error, **done)
        raise
    except DirectoryError as error:
        if error.transient and not final_attempt:
            finish.note_retry(ref, error, retry_in)
        else:
            finish.record(ref, Outcome.FAILED, error=error, **done)
        raise
    except Exception as error:  # a timeout, a lost database, a bug: recorded as plainly as possible, raised
        writer.rollback()
        db.session.rollback()
        failure = DirectoryError(_unexpected(error), code=type(error).__name__[:40], raw=repr(error)[:2000],
                                 transient=True)
        if final_attempt:
            finish.record(ref, Outcome.FAILED, error=failure, **done)
        else:
            finish.note_retry(ref, failure, retry_in)
        raise
    finish.record(ref, Outcome.OK, changes=changes, **done)
    return Outcome.OK


def _context(writer: records.Writer, ref: finish.TaskRef, user: User | None, deployment: Deployment, send: CloudSend,
             password_secret: str | None, timings: dict) -> tuple[TaskContext, str]:
    """Everything the directory work needs, read once; and the pool key of the deployment."""
    mark = time.perf_counter()
    if user is None:
        raise DirectoryError("The user was deleted from Enlist before the change ran.", code="user_deleted")
    creating = ref.action in (Action.CREATE, Action.LINK)
    clock = {"last": time.perf_counter(), "db": 0.0}

    def step_done(step: str, guid: str) -> None:
        """Commit the step reached and the GUID before the next step starts."""
        now = time.perf_counter()
        timings[step] = round((now - clock["last"]) * 1000, 2)
        records.step(writer, ref.task_id, ref.user_id, step, guid, creating=creating)
        clock["last"] = time.perf_counter()
        clock["db"] += (clock["last"] - now) * 1000
        timings["steps_db"] = round(clock["db"], 2)

    ctx = TaskContext(
        action=ref.action, settings=directory_settings(deployment), enlist_id=enlist_id(user),
        username=user.username, record=record_of(user), guid=user.object_guid,
        password=secrets.box().decrypt(password_secret), options=dict(send.options or {}), step_done=step_done)
    key = deployment.directory_digest()
    db.session.commit()  # end the read transaction: the directory work may take a while
    timings["load"] = _ms(mark)
    clock["last"] = time.perf_counter()
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
