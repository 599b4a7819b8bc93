"""The ways into the Users module, and whether each is ready for a deployment."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Deployment
from app.services import catalog


@dataclass(frozen=True)
class ImportSource:
    """One entry of the green "+" menu: enabled with the endpoint to open, or disabled with why."""

    key: str
    label: str
    endpoint: str | None
    reason: str | None = None


def for_deployment(deployment: Deployment) -> list[ImportSource]:
    """The five ways to add users, each enabled or disabled with a reason a technician understands."""
    catalog_reason = None if catalog.catalog_size(deployment) else "The catalog is empty: run the PC agent or network discovery first."
    return [
        ImportSource("catalog", "Import from catalog", None if catalog_reason else "catalog.index", catalog_reason),
        ImportSource("excel", "Import from Excel", "imports.index"),
        ImportSource("connectwise", "Import from ConnectWise", None,
                     "No ConnectWise company is linked to this deployment."),
        ImportSource("zendesk", "Import from Zendesk", None,
                     "No Zendesk organization is linked to this deployment."),
        ImportSource("manual", "Add manually", "users.new"),
    ]
