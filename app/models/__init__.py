"""The models, one module per entity; imported here so Alembic and the app see every table."""

from app.models.api_token import ApiToken
from app.models.audit_event import AuditEvent
from app.models.catalog_entry import CatalogEntry
from app.models.deployment import Deployment
from app.models.deployment_link import DeploymentLink
from app.models.discovery_run import DiscoveryRun, RunState
from app.models.discovery_token import DiscoveryToken
from app.models.import_batch import BatchState, ImportBatch, ImportRow, RowState
from app.models.integration_account import IntegrationAccount
from app.models.integration_fetch import FetchState, IntegrationFetch
from app.models.network_source import NetworkSource
from app.models.operator import Operator
from app.models.provision_task import Action, CloudSend, Outcome, ProvisionTask
from app.models.user import User, UserStatus

__all__ = ["Action", "ApiToken", "AuditEvent", "BatchState", "CatalogEntry", "CloudSend", "Deployment",
           "DeploymentLink", "DiscoveryRun", "DiscoveryToken", "FetchState", "ImportBatch", "ImportRow",
           "IntegrationAccount", "IntegrationFetch", "NetworkSource", "Operator", "Outcome", "ProvisionTask",
           "RowState", "RunState", "User", "UserStatus"]
