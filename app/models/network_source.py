"""NetworkSource: the client's existing domain that network discovery reads, and where the last run stopped."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow
from app.services.secrets import encrypted_column

# sAMAccountName patterns (shell-style, case-insensitive) that name service accounts by convention.
DEFAULT_SERVICE_PATTERNS = "svc*\n*_svc\n*-svc\nsa_*\nsql*svc*\nhealthmailbox*\nmsol_*\naad_*"


class NetworkSource(db.Model):
    """One deployment's source domain: LDAPS connection, search base, skip rules, incremental watermark."""

    __tablename__ = "network_sources"

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False,
                              unique=True)
    ldaps_url = sa.Column(sa.String(255), nullable=False, default="")
    bind_user = sa.Column(sa.String(255), nullable=False, default="")
    bind_secret = encrypted_column()  # Fernet ciphertext of the read-only account's password
    ca_cert = sa.Column(sa.Text, nullable=False, default="")
    verify_tls = sa.Column(sa.Boolean, nullable=False, default=True)
    tls_server_name = sa.Column(sa.String(255), nullable=False, default="")
    search_base = sa.Column(sa.String(255), nullable=False, default="")
    skip_disabled = sa.Column(sa.Boolean, nullable=False, default=True)
    skip_builtin = sa.Column(sa.Boolean, nullable=False, default=True)
    skip_service = sa.Column(sa.Boolean, nullable=False, default=True)
    service_patterns = sa.Column(sa.Text, nullable=False, default=DEFAULT_SERVICE_PATTERNS)
    # Where the last successful run stopped: the DC's highestCommittedUSN when it began, which DC
    # (USNs are per DC) and under which base and rules (a change there needs a full run).
    usn_watermark = sa.Column(sa.BigInteger)
    dc_identity = sa.Column(sa.String(255), nullable=False, default="")
    scope_digest = sa.Column(sa.String(64), nullable=False, default="")
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    deployment = db.relationship("Deployment")

    @property
    def configured(self) -> bool:
        """Whether every setting a run needs is filled in."""
        return bool(self.ldaps_url and self.bind_user and self.bind_secret and self.search_base)

    @property
    def pattern_list(self) -> list[str]:
        """The service-account name patterns, one per line."""
        return [p.strip() for p in (self.service_patterns or "").splitlines() if p.strip()]
