"""User: a Cloud Desktops user of a deployment, on its way into Active Directory."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import UserFieldsMixin, utcnow


class UserStatus:
    """The states a user moves through; every user is always in exactly one."""

    DRAFT = "draft"
    QUEUED = "queued"
    PROVISIONING = "provisioning"
    IN_CLOUD = "in_cloud"
    FAILED = "failed"
    CONFLICT = "conflict"
    DISABLED = "disabled"  # the account exists in AD and was disabled from Enlist
    ALL = (DRAFT, QUEUED, PROVISIONING, IN_CLOUD, FAILED, CONFLICT, DISABLED)
    LABELS = {DRAFT: "draft", QUEUED: "queued", PROVISIONING: "provisioning",
              IN_CLOUD: "in cloud", FAILED: "failed", CONFLICT: "conflict", DISABLED: "disabled"}
    SENDABLE = (DRAFT, FAILED, DISABLED)  # Send to cloud takes these (a disabled account is enabled again)
    IN_AD = (IN_CLOUD, DISABLED)  # an account Enlist manages exists


ORIGINS = ("manual", "excel", "catalog", "connectwise", "zendesk", "api")


class User(UserFieldsMixin, db.Model):
    """One end user: the canonical fields, where it came from, and where it stands."""

    __tablename__ = "users"
    __table_args__ = (
        # Uniqueness is enforced by the database too, case-insensitively, through the key columns.
        sa.UniqueConstraint("deployment_id", "username_key", name="uq_users_deployment_username"),
        sa.UniqueConstraint("deployment_id", "email_key", name="uq_users_deployment_email"),
        sa.Index("ix_users_deployment_status", "deployment_id", "status"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"),
                              nullable=False)
    username_key = sa.Column(sa.String(20), nullable=False)
    email_key = sa.Column(sa.String(254), nullable=False)
    origin = sa.Column(sa.String(20), nullable=False, default="manual")
    status = sa.Column(sa.String(20), nullable=False, default=UserStatus.DRAFT)
    step = sa.Column(sa.String(20), nullable=False, default="")
    last_error = sa.Column(sa.Text, nullable=False, default="")
    ad_dn = sa.Column(sa.String(512), nullable=False, default="")
    object_guid = sa.Column(sa.String(36), nullable=False, default="")
    catalog_entry_id = sa.Column(sa.Integer, sa.ForeignKey("catalog_entries.id", ondelete="SET NULL"))
    import_batch_id = sa.Column(sa.Integer, sa.ForeignKey("import_batches.id", ondelete="SET NULL"))
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    deployment = db.relationship("Deployment", back_populates="users")

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def status_label(self) -> str:
        """The status as the pages show it."""
        return UserStatus.LABELS.get(self.status, self.status)

    @property
    def editable(self) -> bool:
        """Drafts and failed users can be edited freely; others are in or on their way to AD."""
        return self.status in (UserStatus.DRAFT, UserStatus.FAILED, UserStatus.CONFLICT)

    @property
    def sendable(self) -> bool:
        """Whether Send to cloud takes this user."""
        return self.status in UserStatus.SENDABLE

    @property
    def manageable(self) -> bool:
        """In AD and no change waiting: edit, reset password, groups, disable and remove apply."""
        return self.status in UserStatus.IN_AD and not self.step
