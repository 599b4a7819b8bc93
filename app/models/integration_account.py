"""IntegrationAccount: the MSP's ConnectWise Manage or Zendesk credentials and saved field mappings."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow
from app.services.secrets import encrypted_column

PROVIDER_LABELS = {"connectwise": "ConnectWise", "zendesk": "Zendesk"}


class IntegrationAccount(db.Model):
    """One ConnectWise site or Zendesk account: settings in clear, the key or token encrypted."""

    __tablename__ = "integration_accounts"
    __table_args__ = (sa.UniqueConstraint("provider", "name", name="uq_integration_accounts_provider_name"),)

    id = sa.Column(sa.Integer, primary_key=True)
    provider = sa.Column(sa.String(20), nullable=False)  # connectwise | zendesk
    name = sa.Column(sa.String(120), nullable=False)
    # ConnectWise: site, company_id, public_key, client_id, codebase; Zendesk: subdomain, email.
    settings = sa.Column(sa.JSON, nullable=False, default=dict)
    secret = encrypted_column()  # Fernet ciphertext of the private key or API token
    # The field-matching screen's last choice: {Enlist field name: source key or None}.
    field_mapping = sa.Column(sa.JSON, nullable=False, default=dict)
    last_check_ok = sa.Column(sa.Boolean)
    last_check_message = sa.Column(sa.Text, nullable=False, default="")
    last_checked_at = sa.Column(sa.DateTime(timezone=True))
    created_by = sa.Column(sa.String(254), nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def provider_label(self) -> str:
        """ConnectWise or Zendesk."""
        return PROVIDER_LABELS.get(self.provider, self.provider)

    def setting(self, name: str) -> str:
        """One non-secret setting ("" when unset)."""
        return str((self.settings or {}).get(name) or "")
