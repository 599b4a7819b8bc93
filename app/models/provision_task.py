"""CloudSend and ProvisionTask: one send to cloud (or change in the cloud) and its task per user."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class Action:
    """What a send does in the directory; create is Send to cloud, the others manage accounts."""

    CREATE = "create"
    LINK = "link"
    UPDATE = "update"
    RESET_PASSWORD = "reset_password"
    GROUPS = "groups"
    DISABLE = "disable"
    DELETE = "delete"
    ALL = (CREATE, LINK, UPDATE, RESET_PASSWORD, GROUPS, DISABLE, DELETE)
    LABELS = {CREATE: "Send to cloud", LINK: "Link to the existing account", UPDATE: "Update in AD",
              RESET_PASSWORD: "Reset password", GROUPS: "Change groups", DISABLE: "Disable in AD",
              DELETE: "Delete from AD"}
    # Shown on a user's row while the change waits or runs.
    PENDING = {CREATE: "sending", LINK: "linking", UPDATE: "updating", RESET_PASSWORD: "resetting password",
               GROUPS: "changing groups", DISABLE: "disabling", DELETE: "deleting"}


class Outcome:
    """Where a task stands; ok, failed and conflict are final."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    OK = "ok"
    FAILED = "failed"
    CONFLICT = "conflict"
    WAITING = (QUEUED, RETRYING)
    OPEN = (QUEUED, RUNNING, RETRYING)
    FINAL = (OK, FAILED, CONFLICT)


class CloudSend(db.Model):
    """One click of Send to cloud (or one change to accounts in the cloud): its users are its tasks."""

    __tablename__ = "cloud_sends"
    __table_args__ = (sa.Index("ix_cloud_sends_deployment_created", "deployment_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    action = sa.Column(sa.String(20), nullable=False, default=Action.CREATE)
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at = sa.Column(sa.DateTime(timezone=True))
    total = sa.Column(sa.Integer, nullable=False, default=0)
    options = sa.Column(sa.JSON, nullable=False, default=dict)  # e.g. the groups to add and remove
    # Initial passwords: shown once and downloaded once, erased after both or when they expire.
    passwords_expire_at = sa.Column(sa.DateTime(timezone=True))
    passwords_shown_at = sa.Column(sa.DateTime(timezone=True))
    passwords_downloaded_at = sa.Column(sa.DateTime(timezone=True))
    passwords_purged_at = sa.Column(sa.DateTime(timezone=True))

    deployment = db.relationship("Deployment")

    @property
    def label(self) -> str:
        """What the send did, as the pages say it."""
        return Action.LABELS.get(self.action, self.action)


class ProvisionTask(db.Model):
    """One user's part of a send: job id, attempts, step reached, outcome, timings and raw error."""

    __tablename__ = "provision_tasks"
    __table_args__ = (
        sa.Index("ix_provision_tasks_send_outcome", "send_id", "outcome"),
        sa.Index("ix_provision_tasks_outcome", "outcome"),
        sa.Index("ix_provision_tasks_user", "user_id"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    send_id = sa.Column(sa.Integer, sa.ForeignKey("cloud_sends.id", ondelete="CASCADE"), nullable=False)
    # Kept when the user is deleted later: the send's results still list every user it had.
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    action = sa.Column(sa.String(20), nullable=False, default=Action.CREATE)
    username = sa.Column(sa.String(20), nullable=False, default="")
    full_name = sa.Column(sa.String(130), nullable=False, default="")
    job_id = sa.Column(sa.String(100), nullable=False, default="")
    outcome = sa.Column(sa.String(20), nullable=False, default=Outcome.QUEUED)
    step = sa.Column(sa.String(20), nullable=False, default="")
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    worker = sa.Column(sa.String(120), nullable=False, default="")
    message = sa.Column(sa.Text, nullable=False, default="")  # plain words for the technician
    error_code = sa.Column(sa.String(40), nullable=False, default="")
    raw_error = sa.Column(sa.Text, nullable=False, default="")  # the LDAP code and text, for the task log
    queued_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    started_at = sa.Column(sa.DateTime(timezone=True))
    finished_at = sa.Column(sa.DateTime(timezone=True))
    duration_ms = sa.Column(sa.Integer)
    timings = sa.Column(sa.JSON, nullable=False, default=dict)  # milliseconds per step of the last attempt
    password_secret = sa.Column(sa.Text)  # Fernet ciphertext of the initial password, erased once delivered
    password_set = sa.Column(sa.Boolean, nullable=False, default=False)
    email_state = sa.Column(sa.String(10), nullable=False, default="")  # "", pending, sent, failed
    email_error = sa.Column(sa.Text, nullable=False, default="")

    send = db.relationship("CloudSend")
    user = db.relationship("User")

    @property
    def final(self) -> bool:
        """Whether the task has its outcome."""
        return self.outcome in Outcome.FINAL
