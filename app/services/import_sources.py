"""The ways into the Users module, and whether each is ready for a deployment."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Deployment
from app.services import catalog
from app.services.integration_imports.links import NOT_LINKED, link_for


@dataclass(frozen=True)
class ImportSource:
    """One entry of the green "+" menu: enabled with the endpoint to open, or disabled with why."""

    key: str
    label: str
    endpoint: str | None
    reason: str | None = None


def for_deployment(deployment: Deployment) -> list[ImportSource]:
    """The five ways to add users, each enabled or disabled with a reason a technician understands."""
    catalog_reason = None if catalog.catalog_size(deployment) else \
        "The catalog is empty: run the PC agent or network discovery first."
    return [
        ImportSource("catalog", "Import from catalog", None if catalog_reason else "catalog.index", catalog_reason),
        ImportSource("excel", "Import from Excel", "imports.index"),
        *(_linked_source(deployment, provider, label) for provider, label in
          (("connectwise", "Import from ConnectWise"), ("zendesk", "Import from Zendesk"))),
        ImportSource("manual", "Add manually", "users.new"),
    ]


def _linked_source(deployment: Deployment, provider: str, label: str) -> ImportSource:
    """ConnectWise or Zendesk: enabled once the deployment is linked to a company or organization."""
    if link_for(deployment, provider) is None:
        return ImportSource(provider, label, None, NOT_LINKED[provider])
    return ImportSource(provider, label, f"integrations.import_{provider}")
