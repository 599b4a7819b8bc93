"""Deployment: one client of the MSP and its directory connection."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow
from app.services.naming import DEFAULT_POLICY
from app.services.secrets import encrypted_column

# The fields whose change invalidates a verified directory connection.
DIRECTORY_FIELDS = ("ldaps_url", "fallback_urls", "bind_user", "bind_secret", "ca_cert",
                    "verify_tls", "base_ou", "users_ou", "upn_suffix", "default_groups", "tls_server_name")
PASSWORD_MODES = {"generated": "Generated: a random password per user, shown once after the send",
                  "typed": "Typed: the technician types one initial password when sending"}
WELCOME_EMAILS = {"": "No welcome email",
                  "details": "Welcome email with the sign-in name (no password)",
                  "password": "Welcome email with the sign-in name and the initial password"}


class Deployment(db.Model):
    """A client: short code, name, and how to reach its Active Directory."""

    __tablename__ = "deployments"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(6), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False)
    notes = sa.Column(sa.Text, nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    ldaps_url = sa.Column(sa.String(255), nullable=False, default="")
    fallback_urls = sa.Column(sa.Text, nullable=False, default="")
    bind_user = sa.Column(sa.String(255), nullable=False, default="")
    bind_secret = encrypted_column()  # Fernet ciphertext, never the password
    ca_cert = sa.Column(sa.Text, nullable=False, default="")
    verify_tls = sa.Column(sa.Boolean, nullable=False, default=True)
    base_ou = sa.Column(sa.String(255), nullable=False, default="")
    users_ou = sa.Column(sa.String(255), nullable=False, default="")
    upn_suffix = sa.Column(sa.String(255), nullable=False, default="")
    default_groups = sa.Column(sa.Text, nullable=False, default="")
    naming_policy = sa.Column(sa.String(20), nullable=False, default=DEFAULT_POLICY)
    # The name the DC's certificate carries, when the URL uses an address or another name.
    tls_server_name = sa.Column(sa.String(255), nullable=False, default="", server_default="")
    # New accounts: how the initial password is chosen, and the account options.
    password_mode = sa.Column(sa.String(10), nullable=False, default="generated", server_default="generated")
    must_change_password = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    password_never_expires = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    account_expires = sa.Column(sa.Date)
    extension_in_phone = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    welcome_email = sa.Column(sa.String(10), nullable=False, default="", server_default="")
    directory_verified_at = sa.Column(sa.DateTime(timezone=True))
    directory_verified_digest = sa.Column(sa.String(64))

    users = db.relationship("User", back_populates="deployment", lazy="dynamic",
                            cascade="all, delete-orphan", passive_deletes=True)

    def directory_digest(self) -> str:
        """A fingerprint of the connection settings, to tell whether a verification still holds."""
        text = "\x1f".join(str(getattr(self, name) or "") for name in DIRECTORY_FIELDS)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def directory_configured(self) -> bool:
        """Whether every setting needed to reach the directory is filled in."""
        return bool(self.ldaps_url and self.bind_user and self.bind_secret and self.base_ou
                    and self.upn_suffix)

    @property
    def on_cloud(self) -> bool:
        """Configured and verified with the settings as they are now."""
        return (self.directory_configured and self.directory_verified_at is not None
                and self.directory_verified_digest == self.directory_digest())

    @property
    def group_list(self) -> list[str]:
        """The default groups, one per line."""
        return [g.strip() for g in self.default_groups.splitlines() if g.strip()]

    @property
    def target_ou(self) -> str:
        """Where new accounts go: the configured OU, or OU=Users,OU=<code>,<base>."""
        if self.users_ou:
            return self.users_ou
        return f"OU=Users,OU={self.code},{self.base_ou}" if self.base_ou else ""
