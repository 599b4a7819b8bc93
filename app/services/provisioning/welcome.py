"""Delivering a new user's welcome email (its own job: a mail problem never fails the account)."""

from __future__ import annotations

import logging

from app.extensions import db
from app.models import CloudSend, ProvisionTask
from app.services import mailer, secrets
from app.services.provisioning.passwords import purge_if_delivered

log = logging.getLogger(__name__)


def send_welcome(task_id: int, *, final_attempt: bool = True) -> str:
    """Send the welcome email of a task whose email is pending; the task records sent or failed."""
    task = db.session.get(ProvisionTask, task_id)
    if task is None or task.email_state != "pending" or task.user is None:
        return "skipped"
    user, send = task.user, db.session.get(CloudSend, task.send_id)
    deployment = send.deployment
    settings = mailer.smtp_settings()
    if settings is None:
        return _failed(task, send, "No SMTP server is configured (ENLIST_SMTP_HOST).")
    password = None
    if deployment.welcome_email == "password" and task.password_set:
        password = secrets.box().decrypt(task.password_secret)
    suffix = deployment.upn_suffix.lstrip("@")
    message = mailer.welcome_message(
        settings, to=user.email, full_name=user.full_name, client=deployment.name,
        sign_in=f"{user.username}@{suffix}" if suffix else user.username, password=password,
        must_change=deployment.must_change_password and not deployment.password_never_expires)
    try:
        mailer.send(settings, message)
    except mailer.MailError as error:
        if error.transient and not final_attempt:
            task.email_error = f"{error.message} Retrying."
            db.session.commit()
        else:
            _failed(task, send, error.message)
        raise
    task.email_state, task.email_error = "sent", ""
    db.session.commit()
    log.info("task %s: welcome email sent to user %s", task.id, user.id)
    purge_if_delivered(send)
    return "sent"


def _failed(task: ProvisionTask, send: CloudSend, reason: str) -> str:
    """Record that the email will not go out, so the passwords no longer wait for it."""
    task.email_state, task.email_error = "failed", reason
    db.session.commit()
    purge_if_delivered(send)
    return "failed"
