"""Writing a task's outcome: the task, the user's status and reason, the send's end, the welcome email."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Action, CloudSend, Outcome, ProvisionTask, User, UserStatus
from app.models._base import utcnow
from app.services import audit
from app.services.directory import AccountConflict, DirectoryError

log = logging.getLogger(__name__)
CREATING = (Action.CREATE, Action.LINK)


@dataclass(frozen=True)
class TaskRef:
    """The ids a task's outcome is written to, read before the work starts."""

    task_id: int
    user_id: int | None
    send_id: int
    action: str
    welcome_email: bool = False


def record(ref: TaskRef, outcome: str, *, error: DirectoryError | None = None,
           changes: dict | None = None, timings: dict | None = None, began: float | None = None) -> None:
    """Write a final outcome; the user's row says where it stands and why."""
    task_id, user_id, send_id, action = ref.task_id, ref.user_id, ref.send_id, ref.action
    message = error.message if error else ""
    if error is not None and error.transient:
        message = f"{message} Enlist gave up after the last retry; send the user again to retry."
    values = {"outcome": outcome, "finished_at": utcnow(), "message": message,
              "error_code": error.code if error else "", "raw_error": _raw(error)}
    if began is not None:
        values["duration_ms"] = int((time.perf_counter() - began) * 1000)
    if timings is not None:
        values["timings"] = timings
    # Nobody will ever need a password that was not set; set ones wait to be delivered.
    db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.id == task_id,
                                                      ProvisionTask.password_set.is_(False))
                       .values(password_secret=None))
    db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.id == task_id).values(**values))
    if user_id is not None:
        db.session.execute(sa.update(User).where(User.id == user_id)
                           .values(**_user_values(action, outcome, error, message, changes or {})))
    db.session.commit()
    log.info("task %s (%s user %s): %s%s", task_id, action, user_id, outcome,
             f" [{error.code}]" if error else "")
    if outcome == Outcome.OK and action in CREATING and ref.welcome_email:
        _welcome_email(task_id)
    finish_send(send_id)


def _user_values(action: str, outcome: str, error: DirectoryError | None, message: str,
                 changes: dict) -> dict:
    """The user's new status, step and reason after a task."""
    values = {"last_error": message}
    if outcome == Outcome.OK:
        values.update(changes, step="")
    elif action in CREATING:  # the step reached stays on the row: "failed at password"
        values["status"] = UserStatus.CONFLICT if isinstance(error, AccountConflict) else UserStatus.FAILED
    elif error is not None and error.code == "account_missing":
        # The account was deleted in AD behind Enlist's back: sending the user again recreates it.
        values.update(status=UserStatus.FAILED, object_guid="", ad_dn="", step="")
    else:
        values["step"] = ""
    return values


def note_retry(ref: TaskRef, error: DirectoryError, retry_in: int) -> None:
    """A transient failure that RQ will retry: the task waits and the user's row says why."""
    task_id, user_id = ref.task_id, ref.user_id
    when = f"in {retry_in} s" if retry_in else "now"
    message = f"{error.message} Retrying {when}."
    db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.id == task_id).values(
        outcome=Outcome.RETRYING, message=message, error_code=error.code, raw_error=_raw(error)))
    if user_id is not None:
        db.session.execute(sa.update(User).where(User.id == user_id, User.status == UserStatus.PROVISIONING)
                           .values(status=UserStatus.QUEUED))
        db.session.execute(sa.update(User).where(User.id == user_id).values(last_error=message))
    db.session.commit()


def finish_send(send_id: int) -> bool:
    """Stamp the send finished when its last task has an outcome; True the one time it happens."""
    still_open = sa.select(ProvisionTask.id).where(ProvisionTask.send_id == send_id,
                                                   ProvisionTask.outcome.in_(Outcome.OPEN)).exists()
    done = db.session.execute(sa.update(CloudSend).where(CloudSend.id == send_id, CloudSend.finished_at.is_(None),
                                                         ~still_open).values(finished_at=utcnow())).rowcount
    if done:
        send = db.session.get(CloudSend, send_id)
        counts = dict(db.session.execute(sa.select(ProvisionTask.outcome, sa.func.count())
                                         .where(ProvisionTask.send_id == send_id)
                                         .group_by(ProvisionTask.outcome)).all())
        summary = ", ".join(f"{counts[o]} {o}" for o in Outcome.FINAL if counts.get(o))
        audit.record("system", "cloud.send_finished", deployment=send.deployment_id, obj=send,
                     summary=f"{send.label} #{send.id} finished: {summary}",
                     outcome="ok" if not counts.get(Outcome.FAILED) and not counts.get(Outcome.CONFLICT)
                     else "partial", detail={"counts": counts})
    db.session.commit()
    return bool(done)


def _welcome_email(task_id: int) -> None:
    """Queue the welcome email when an SMTP server is configured; say why not otherwise."""
    from app.services import mailer
    from app.services.provisioning.queueing import enqueue_welcome

    task = db.session.get(ProvisionTask, task_id)
    if mailer.smtp_settings() is None:
        task.email_state, task.email_error = "failed", "No SMTP server is configured (ENLIST_SMTP_HOST)."
        db.session.commit()
        return
    task.email_state = "pending"
    db.session.commit()
    enqueue_welcome(task)


def _raw(error: DirectoryError | None) -> str:
    """The raw error for the task log: code, LDAP result and server text, and a conflict's DN."""
    if error is None:
        return ""
    dn = f" (conflicting account {error.dn})" if isinstance(error, AccountConflict) else ""
    return f"{error.code}: {error.raw or error.message}{dn}"[:4000]
