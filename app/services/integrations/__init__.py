"""ConnectWise Manage and Zendesk: fetch a client's people and map them to the user schema.

Pure services: no Flask here. The clients raise IntegrationError with a plain message and a kind.
"""

from app.services.integrations.connectwise import Company, ConnectWiseClient, ConnectWiseCredentials
from app.services.integrations.http import IntegrationError, RetryPolicy
from app.services.integrations.mapping import (
    MappedRecord,
    SourceField,
    apply_mapping,
    default_mapping,
    extract,
    source_fields,
)
from app.services.integrations.names import NameSplit, split_name
from app.services.integrations.results import (
    CONNECTWISE,
    PROVIDERS,
    ZENDESK,
    ConnectionCheck,
    FetchResult,
    SkippedRecord,
    empty_message,
)
from app.services.integrations.zendesk import Organization, ZendeskClient, ZendeskCredentials

__all__ = [
    "CONNECTWISE", "PROVIDERS", "ZENDESK", "Company", "ConnectWiseClient",
    "ConnectWiseCredentials", "ConnectionCheck", "FetchResult", "IntegrationError",
    "MappedRecord", "NameSplit", "Organization", "RetryPolicy", "SkippedRecord", "SourceField",
    "ZendeskClient", "ZendeskCredentials", "apply_mapping", "default_mapping", "empty_message",
    "extract", "source_fields", "split_name",
]
