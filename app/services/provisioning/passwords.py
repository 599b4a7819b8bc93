"""Initial passwords: encrypted in the database, shown once and downloaded once, then erased.

They never go to Redis (jobs get task ids), never to a log, and never into the results file. A
send's passwords are erased once they were both shown and downloaded (and any welcome email
carrying them went out), or when they expire, whichever comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import CloudSend, ProvisionTask
from app.models._base import utcnow
from app.services import audit, secrets
from app.services.errors import Conflict
from app.services.provisioning.progress import column_labels
from app.services.provisioning.settings import setting

DEFAULT_HOURS = 24
HEADERS = ("Name", "Username", "Sign-in name (UPN)", "Email", "Initial password", "Outcome")


@dataclass
class PasswordRow:
    """One user's initial password as the technician receives it."""

    full_name: str
    username: str
    sign_in: str
    email: str
    password: str = field(repr=False)
    outcome: str

    def cells(self) -> tuple[str, ...]:
        """The row of the download file."""
        return (self.full_name, self.username, self.sign_in, self.email, self.password, self.outcome)


def expiry():
    """When the passwords of a send created now expire."""
    hours = setting("ENLIST_INITIAL_PASSWORD_HOURS", DEFAULT_HOURS)
    return utcnow() + timedelta(hours=hours)


def pending_count(send: CloudSend) -> int:
    """How many initial passwords of the send are still stored."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        ProvisionTask.send_id == send.id, ProvisionTask.password_set.is_(True),
        ProvisionTask.password_secret.is_not(None))) or 0


def availability(send: CloudSend) -> str | None:
    """Why the passwords cannot be had now, or None when they can."""
    if send.passwords_purged_at is not None or _expired(send):
        return "The initial passwords of this send were erased (delivered or expired)."
    if send.finished_at is None:
        return "The initial passwords are available once every user of the send has an outcome."
    return None


def take(send: CloudSend, actor, *, channel: str) -> list[PasswordRow]:
    """The passwords for the one showing or the one download; Conflict when that was used already."""
    reason = availability(send)
    if reason:
        raise Conflict(reason)
    column = CloudSend.passwords_shown_at if channel == "show" else CloudSend.passwords_downloaded_at
    taken = db.session.execute(sa.update(CloudSend).where(CloudSend.id == send.id, column.is_(None))
                               .values({column: utcnow()})).rowcount
    if not taken:
        db.session.rollback()
        verb = "shown" if channel == "show" else "downloaded"
        raise Conflict(f"The initial passwords of this send were already {verb} once; they are not "
                       "shown or downloaded again. Reset a user's password to get a new one.")
    rows = _rows(send)
    verb = "shown" if channel == "show" else "downloaded"
    audit.record(actor, f"cloud.passwords_{verb}", deployment=send.deployment_id, obj=send,
                 summary=f"Initial passwords of send #{send.id} {verb} ({len(rows)})")
    db.session.commit()
    purge_if_delivered(send)
    return rows


def _rows(send: CloudSend) -> list[PasswordRow]:
    """Every stored password of the send, decrypted."""
    box = secrets.box()
    tasks = db.session.scalars(sa.select(ProvisionTask).where(
        ProvisionTask.send_id == send.id, ProvisionTask.password_set.is_(True),
        ProvisionTask.password_secret.is_not(None)).order_by(ProvisionTask.full_name, ProvisionTask.id))
    suffix = send.deployment.upn_suffix
    labels = column_labels(send.action)
    rows = []
    for task in tasks:
        user = task.user
        rows.append(PasswordRow(task.full_name, task.username, f"{task.username}@{suffix.lstrip('@')}"
                                if suffix else task.username, user.email if user else "",
                                box.decrypt(task.password_secret), labels.get(task.outcome, task.outcome)))
    return rows


def purge_if_delivered(send: CloudSend) -> bool:
    """Erase the send's passwords when shown, downloaded and no welcome email still needs them."""
    db.session.refresh(send)
    if send.passwords_purged_at or not (send.passwords_shown_at and send.passwords_downloaded_at):
        return False
    waiting = db.session.scalar(sa.select(sa.func.count()).where(
        ProvisionTask.send_id == send.id, ProvisionTask.email_state == "pending"))
    if waiting:
        return False
    return _purge(send.id)


def purge_expired() -> int:
    """Erase the passwords of every send whose passwords expired; returns how many sends."""
    ids = list(db.session.scalars(sa.select(CloudSend.id).where(
        CloudSend.passwords_purged_at.is_(None), CloudSend.passwords_expire_at < utcnow())))
    for send_id in ids:
        _purge(send_id)
    return len(ids)


def _purge(send_id: int) -> bool:
    """Erase every stored password of a send."""
    db.session.execute(sa.update(ProvisionTask).where(ProvisionTask.send_id == send_id)
                       .values(password_secret=None))
    db.session.execute(sa.update(CloudSend).where(CloudSend.id == send_id).values(passwords_purged_at=utcnow()))
    db.session.commit()
    return True


def _expired(send: CloudSend) -> bool:
    """Whether the send's passwords are past their expiry."""
    expires = send.passwords_expire_at
    if expires is None:
        return False
    if expires.tzinfo is None:  # SQLite gives back naive UTC
        expires = expires.replace(tzinfo=UTC)
    return expires < utcnow()
