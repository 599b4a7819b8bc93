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
from app.services.provisioning import records

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


def record(ref: TaskRef, outcome: str, *, error: DirectoryError | None = None, changes: dict | None = None,
           timings: dict | None = None, began: float | None = None,
           writer: records.Writer = records.SESSION) -> None:
    """Write a final outcome in one transaction; the user's row says where it stands and why."""
    message = error.message if error else ""
    if error is not None and error.transient:
        message = f"{message} Enlist gave up after the last retry; send the user again to retry."
    now = utcnow()
    writer.run(records.FINISH, b_task=ref.task_id, b_outcome=outcome, b_now=now, b_message=message,
               b_code=error.code if error else "", b_raw=_raw(error), b_timings=timings,
               b_duration=int((time.perf_counter() - began) * 1000) if began is not None else None)
    if ref.user_id is not None and outcome == Outcome.OK and changes and "ad_dn" in changes \
            and changes.get("status") == UserStatus.IN_CLOUD:
        writer.run(records.USER_CREATED, b_user=ref.user_id, b_dn=changes["ad_dn"], b_guid=changes["object_guid"])
    elif ref.user_id is not None:
        values = _user_values(ref.action, outcome, error, message, changes or {})
        writer.run(records.USERS.update().where(records.USERS.c.id == ref.user_id).values(**values))
    finished = writer.run(records.FINISH_SEND, b_send=ref.send_id, b_now=now)
    writer.commit()
    log.info("task %s (%s user %s): %s%s", ref.task_id, ref.action, ref.user_id, outcome,
             f" [{error.code}]" if error else "")
    if outcome == Outcome.OK and ref.action in CREATING and ref.welcome_email:
        _welcome_email(ref.task_id)
    if finished:
        _audit_finished(ref.send_id)


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
    finished = records.SESSION.run(records.FINISH_SEND, b_send=send_id, b_now=utcnow())
    db.session.commit()
    if finished:
        _audit_finished(send_id)
    return bool(finished)


def _audit_finished(send_id: int) -> None:
    """The audit log's line for a finished send, with its counts."""
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
