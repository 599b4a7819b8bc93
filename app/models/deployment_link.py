"""DeploymentLink: the ConnectWise company or Zendesk organization a deployment stands for."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models._base import utcnow


class DeploymentLink(db.Model):
    """One link per deployment and provider: which account, which company, and where to open it."""

    __tablename__ = "deployment_links"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "provider", name="uq_deployment_links_deployment_provider"),)

    id = sa.Column(sa.Integer, primary_key=True)
    deployment_id = sa.Column(sa.Integer, sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    provider = sa.Column(sa.String(20), nullable=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("integration_accounts.id", ondelete="CASCADE"),
                           nullable=False)
    remote_id = sa.Column(sa.String(64), nullable=False)  # the company or organization id
    remote_name = sa.Column(sa.String(255), nullable=False, default="")
    remote_identifier = sa.Column(sa.String(255), nullable=False, default="")  # ConnectWise identifier
    remote_url = sa.Column(sa.String(500), nullable=False, default="")
    created = sa.Column(sa.Boolean, nullable=False, default=False)  # made by Enlist, not found
    linked_by = sa.Column(sa.String(254), nullable=False, default="")
    linked_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    account = db.relationship("IntegrationAccount")
    deployment = db.relationship("Deployment", backref=db.backref(
        "integration_links", cascade="all, delete-orphan", passive_deletes=True,
        order_by="DeploymentLink.provider"))

    @property
    def provider_label(self) -> str:
        """ConnectWise or Zendesk."""
        return self.account.provider_label if self.account else self.provider
