"""Operator: a technician or admin who signs in to the portal."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models._base import utcnow

ROLES = ("admin", "technician")


class Operator(UserMixin, db.Model):
    """A person who signs in: email, password hash and role."""

    __tablename__ = "operators"

    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False, default="")
    password_hash = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(20), nullable=False, default="technician")
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = sa.Column(sa.DateTime(timezone=True))
    # Changing it signs the operator out everywhere (it is part of the session's identity).
    session_version = sa.Column(sa.Integer, nullable=False, default=1)

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password, never the password."""
        method = current_app.config.get("ENLIST_PASSWORD_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login's session identity: id and session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        """Disabled operators cannot sign in."""
        return bool(self.active)

    @property
    def is_admin(self) -> bool:
        """Whether the operator may reach admin-only pages."""
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        """The name shown in the portal and the audit log."""
        return self.name or self.email
