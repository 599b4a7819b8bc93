"""Zendesk Support client: find or create the client's organization, fetch its end users."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from app.services.integrations.http import (
    INVALID,
    NOT_FOUND,
    ApiSession,
    IntegrationError,
    OnWait,
    RetryPolicy,
    ServiceProfile,
    json_body,
    sentences,
)
from app.services.integrations.results import (
    ZENDESK,
    ConnectionCheck,
    FetchResult,
    OnProgress,
    SkippedRecord,
    source_key,
)

MAX_PAGE_SIZE = 100  # cursor pagination's page[size] ceiling


@dataclass(frozen=True)
class ZendeskCredentials:
    """What a technician types to connect Enlist to their Zendesk."""

    subdomain: str  # "acme" of acme.zendesk.com
    email: str  # the agent or admin the API token belongs to
    api_token: str

    def __repr__(self) -> str:
        return (f"ZendeskCredentials(subdomain={self.subdomain!r}, email={self.email!r}, "
                "api_token='***')")

    __str__ = __repr__


@dataclass(frozen=True)
class Organization:
    """A Zendesk organization, as shown in a picker."""

    id: int
    name: str
    external_id: str | None

    @classmethod
    def from_json(cls, data: dict) -> Organization:
        """Build from the API's organization object."""
        return cls(id=int(data["id"]), name=data.get("name") or "",
                   external_id=data.get("external_id"))


def clean_subdomain(text: str) -> str:
    """The subdomain alone, whether typed as "acme", "acme.zendesk.com" or a full URL."""
    host = re.sub(r"^[a-z]+://", "", text.strip(), flags=re.IGNORECASE).split("/")[0]
    return re.sub(r"\.zendesk\.com$", "", host, flags=re.IGNORECASE)


def _error_text(response) -> str | None:
    """Zendesk's own words: field details first, then description, then error."""
    body = json_body(response)
    if not isinstance(body, dict):
        return (response.text or "").strip()[:300] or None
    details = [d.get("description") for errors in (body.get("details") or {}).values()
               for d in (errors if isinstance(errors, list) else []) if isinstance(d, dict)]
    if any(details):
        return sentences(details)
    error = body.get("error")
    if isinstance(error, dict):  # some endpoints nest {"title", "message"}
        return error.get("message") or error.get("title")
    return body.get("description") or error


def _auth_message(status: int, detail: str | None) -> str:
    """The sentence for a 401 or 403, never quoting the token."""
    if status == 401:
        return ("Zendesk refused the email and API token (401). Check the email, the token, "
                "and that token access is enabled in the Admin Center.")
    return ("Zendesk refused access (403): the token's user cannot do this; an agent or admin "
            f"is needed. {detail or ''}").strip()


PROFILE = ServiceProfile("Zendesk", _error_text, _auth_message)


class ZendeskClient:
    """The calls Enlist makes to one Zendesk account."""

    def __init__(self, credentials: ZendeskCredentials, *, base_url: str | None = None,
                 policy: RetryPolicy | None = None, on_wait: OnWait | None = None):
        self.credentials = credentials
        self.subdomain = clean_subdomain(credentials.subdomain)
        # base_url is for the local stand-in server; the real one is derived from the subdomain
        self.base_url = (base_url or f"https://{self.subdomain}.zendesk.com/api/v2").rstrip("/")
        user = f"{credentials.email}/token:{credentials.api_token}"
        self.http = ApiSession(PROFILE, {
            "Authorization": "Basic " + base64.b64encode(user.encode()).decode("ascii"),
        }, policy=policy, on_wait=on_wait)

    def __repr__(self) -> str:
        return f"ZendeskClient(base_url={self.base_url!r})"

    def __enter__(self) -> ZendeskClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

    def test_connection(self) -> ConnectionCheck:
        """Check subdomain, email and token; the outcome in plain words."""
        try:
            user = (self.http.get(f"{self.base_url}/users/me") or {}).get("user") or {}
        except IntegrationError as exc:
            return ConnectionCheck(False, exc.message, exc.kind)
        # Zendesk answers /users/me for anyone: an unauthenticated caller is an anonymous user.
        if user.get("id") is None:
            return ConnectionCheck(False, "Zendesk did not recognise the email and API token "
                                          "(it answered as an anonymous visitor).", "auth")
        if user.get("role") not in ("agent", "admin"):
            return ConnectionCheck(False, f"{user.get('email')} is an end user in Zendesk: use "
                                          "the API token of an agent or an admin.", "auth")
        return ConnectionCheck(True, f"Connected to Zendesk {self.subdomain} as "
                                     f"{user.get('name')} ({user.get('role')}).")

    def search_organizations(self, text: str, *, limit: int = 25) -> list[Organization]:
        """Organizations whose name starts with text (the first ones when text is short)."""
        text = text.strip()
        if len(text) >= 2:  # autocomplete needs two characters at least
            body = self.http.get(f"{self.base_url}/organizations/autocomplete",
                                 params={"name": text})
        else:
            body = self.http.get(f"{self.base_url}/organizations",
                                 params={"page[size]": max(1, min(limit, MAX_PAGE_SIZE))})
        orgs = (body or {}).get("organizations") or []
        return [Organization.from_json(org) for org in orgs[:limit]]

    def get_organization(self, org_id: int) -> Organization:
        """One organization by id; a not_found error naming the id when it does not exist."""
        try:
            body = self.http.get(f"{self.base_url}/organizations/{int(org_id)}")
        except IntegrationError as exc:
            if exc.kind == NOT_FOUND:
                raise IntegrationError(f"Zendesk has no organization with id {org_id}.",
                                       kind=NOT_FOUND, status=404, detail=exc.detail) from None
            raise
        return Organization.from_json(body["organization"])

    def create_organization(self, name: str, external_id: str | None = None) -> Organization:
        """Create an organization; a taken name says to link the existing one instead."""
        org = {"name": name, **({"external_id": external_id} if external_id else {})}
        try:
            body = self.http.request("POST", f"{self.base_url}/organizations",
                                     json={"organization": org})
        except IntegrationError as exc:
            if exc.kind != INVALID:
                raise
            if _is_duplicate_name(exc.body):
                message = (f"An organization named {name} already exists in Zendesk: "
                           "link it instead")
            else:
                message = f"Zendesk did not create the organization {name}: {exc.detail}"
            raise IntegrationError(message, kind=INVALID, status=exc.status, detail=exc.detail,
                                   body=exc.body) from None
        return Organization.from_json(body["organization"])

    def fetch_org_users(self, org_id: int, *, page_size: int = MAX_PAGE_SIZE,
                        on_progress: OnProgress | None = None) -> FetchResult:
        """Every end user of an organization over all cursor pages; others skipped, counted."""
        org = self.get_organization(org_id)
        result = FetchResult(ZENDESK, org.id, org.name)
        url: str | None = f"{self.base_url}/organizations/{org.id}/users"
        params: dict | None = {"page[size]": max(1, min(page_size, MAX_PAGE_SIZE))}
        while url:
            body = self.http.get(url, params=params) or {}
            users = body.get("users") or []
            result.pages += 1
            for user in users:
                _keep_or_skip(result, user)
            if on_progress is not None:
                on_progress(result.total_seen, None)
            # links.next is present on the last page too: has_more is what says stop.
            has_more = (body.get("meta") or {}).get("has_more") and users
            url = self.http.next_page_url(
                (body.get("links") or {}).get("next") if has_more else None, self.base_url)
            params = None
        return result


def _is_duplicate_name(body: object) -> bool:
    """True for a 422 whose details say the name is already taken."""
    if not isinstance(body, dict):
        return False
    errors = (body.get("details") or {}).get("name") or []
    return any(isinstance(e, dict) and e.get("error") == "DuplicateValue" for e in errors)


def skip_reason(user: dict) -> str | None:
    """Why a Zendesk user is not an importable end user, or None when they are."""
    role = user.get("role") or "end-user"
    if role != "end-user":
        return role if role in ("agent", "admin") else "agent"
    if user.get("suspended"):
        return "suspended"
    if user.get("active") is False:
        return "inactive"
    return None


def _keep_or_skip(result: FetchResult, user: dict) -> None:
    """Add one user to the records, or to the skipped list with the reason."""
    reason = skip_reason(user)
    if reason is None:
        result.records.append(user)
    else:
        result.skipped.append(SkippedRecord(
            source_key(ZENDESK, "user", user.get("id")), user.get("name") or "", reason))
