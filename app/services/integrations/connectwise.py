"""ConnectWise Manage (PSA) client: find or create the client's company, fetch its contacts."""

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
    CONNECTWISE,
    ConnectionCheck,
    FetchResult,
    OnProgress,
    SkippedRecord,
    source_key,
)

MAX_PAGE_SIZE = 1000  # the API's own ceiling for pageSize
IDENTIFIER_MAX, NAME_MAX = 30, 50


@dataclass(frozen=True)
class ConnectWiseCredentials:
    """What a technician types to connect Enlist to their ConnectWise Manage."""

    site: str  # e.g. "na.myconnectwise.net" or "cw.msp.example"
    company_id: str  # the company typed at the ConnectWise login
    public_key: str
    private_key: str
    client_id: str
    codebase: str | None = None  # e.g. "v4_6_release/"; discovered when missing

    def __repr__(self) -> str:
        return (f"ConnectWiseCredentials(site={self.site!r}, company_id={self.company_id!r}, "
                f"public_key='***', private_key='***', client_id='***', "
                f"codebase={self.codebase!r})")

    __str__ = __repr__


@dataclass(frozen=True)
class Company:
    """A ConnectWise company, as shown in a picker."""

    id: int
    identifier: str
    name: str

    @classmethod
    def from_json(cls, data: dict) -> Company:
        """Build from the API's company object."""
        return cls(id=int(data["id"]), identifier=data.get("identifier") or "",
                   name=data.get("name") or "")


def clean_site(site: str) -> str:
    """The bare host of a site typed with or without scheme and slashes."""
    return re.sub(r"^[a-z]+://", "", site.strip(), flags=re.IGNORECASE).strip("/")


def condition_string(text: str) -> str:
    """A conditions string literal: quotes and backslashes escaped, so input stays a value."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error_text(response) -> str | None:
    """ConnectWise's own message: {"message": ..., "errors": [{"message": ...}]}."""
    body = json_body(response)
    if not isinstance(body, dict):
        return (response.text or "").strip()[:300] or None
    parts = [str(e.get("message")) for e in body.get("errors") or [] if isinstance(e, dict)]
    head = body.get("message")
    if parts and head and head.endswith("object is invalid"):
        head = None  # the generic header says less than the field errors below it
    return sentences([head, *parts])


def _auth_message(status: int, detail: str | None) -> str:
    """The sentence for a 401 or 403, never quoting a key."""
    if status == 401 and detail and "clientid" in detail.lower():
        return ("ConnectWise refused the request (401): the clientId is missing or not valid. "
                "Check the client id.")
    if status == 401:
        return ("ConnectWise refused the API keys (401). Check the public and private key "
                "and the company id.")
    return ("ConnectWise refused access (403): the API member's security role does not allow "
            f"this. {detail or ''}").strip()


PROFILE = ServiceProfile("ConnectWise", _error_text, _auth_message)


class ConnectWiseClient:
    """The calls Enlist makes to one ConnectWise Manage site."""

    def __init__(self, credentials: ConnectWiseCredentials, *, scheme: str = "https",
                 policy: RetryPolicy | None = None, on_wait: OnWait | None = None):
        self.credentials = credentials
        self.scheme = scheme  # "http" only for the local stand-in server
        self.site = clean_site(credentials.site)
        self.codebase = _clean_codebase(credentials.codebase) if credentials.codebase else None
        user = f"{credentials.company_id}+{credentials.public_key}:{credentials.private_key}"
        self.http = ApiSession(PROFILE, {
            "Authorization": "Basic " + base64.b64encode(user.encode()).decode("ascii"),
            "clientId": credentials.client_id,
            "Content-Type": "application/json",
        }, policy=policy, on_wait=on_wait)

    def __repr__(self) -> str:
        return f"ConnectWiseClient(site={self.site!r}, codebase={self.codebase!r})"

    def __enter__(self) -> ConnectWiseClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

    def discover_codebase(self) -> str:
        """Ask the site which codebase serves the company (e.g. "v4_6_release/")."""
        cid = self.credentials.company_id
        url = f"{self.scheme}://{self.site}/login/companyinfo/{cid}"
        try:  # a public endpoint: the keys are not sent to it
            info = self.http.get(url, headers={"Authorization": None})
        except IntegrationError as exc:
            if exc.kind != NOT_FOUND:
                raise
            info = None
        codebase = (info or {}).get("Codebase") if isinstance(info, dict) else None
        if not codebase:
            raise IntegrationError(
                f"ConnectWise at {self.site} does not know the company id '{cid}'. Check the "
                "site and the company id (the one typed at the ConnectWise login).",
                kind=NOT_FOUND)
        self.codebase = _clean_codebase(codebase)
        return self.codebase

    @property
    def base_url(self) -> str:
        """https://{site}/{codebase}apis/3.0, discovering the codebase on first use."""
        codebase = self.codebase or self.discover_codebase()
        return f"{self.scheme}://{self.site}/{codebase}apis/3.0"

    def test_connection(self) -> ConnectionCheck:
        """Check site, company id, keys and clientId; the outcome in plain words."""
        try:
            count = self.http.get(f"{self.base_url}/company/companies/count")["count"]
        except IntegrationError as exc:
            return ConnectionCheck(False, exc.message, exc.kind)
        return ConnectionCheck(True, f"Connected to ConnectWise at {self.site} (codebase "
                                     f"{self.codebase.strip('/')}): {count:,} companies visible.")

    def search_companies(self, text: str, *, limit: int = 25) -> list[Company]:
        """Companies whose name or identifier starts with text (all, by name, when empty)."""
        params = {"orderBy": "name asc", "pageSize": min(limit, MAX_PAGE_SIZE)}
        if text.strip():
            prefix = condition_string(text.strip() + "%")
            params["conditions"] = f"name like {prefix} or identifier like {prefix}"
        rows = self.http.get(f"{self.base_url}/company/companies", params=params)
        return [Company.from_json(row) for row in rows or []]

    def get_company(self, company_id: int) -> Company:
        """One company by id; a not_found error naming the id when it does not exist."""
        try:
            return Company.from_json(
                self.http.get(f"{self.base_url}/company/companies/{int(company_id)}"))
        except IntegrationError as exc:
            if exc.kind == NOT_FOUND:
                raise IntegrationError(f"ConnectWise has no company with id {company_id}.",
                                       kind=NOT_FOUND, status=404, detail=exc.detail) from None
            raise

    def create_company(self, identifier: str, name: str, address_line1: str = "",
                       city: str = "", *, state: str = "", zip_code: str = "",
                       extra: dict | None = None) -> Company:
        """Create a company; ConnectWise's own validation message surfaces on refusal."""
        body = {"identifier": identifier, "name": name, "addressLine1": address_line1,
                "city": city, "state": state, "zip": zip_code, **(extra or {})}
        body = {k: v for k, v in body.items() if v not in ("", None)}
        try:
            created = self.http.request("POST", f"{self.base_url}/company/companies", json=body)
        except IntegrationError as exc:
            if exc.kind == INVALID:
                raise IntegrationError(
                    f"ConnectWise did not create the company {name}: {exc.detail or exc.message}",
                    kind=INVALID, status=exc.status, detail=exc.detail) from None
            raise
        return Company.from_json(created)

    def count_contacts(self, company_id: int) -> int:
        """How many contacts (active or not) the company has."""
        params = {"conditions": f"company/id={int(company_id)}"}
        return int(self.http.get(f"{self.base_url}/company/contacts/count", params=params)["count"])

    def fetch_contacts(self, company_id: int, *, page_size: int = MAX_PAGE_SIZE,
                       on_progress: OnProgress | None = None) -> FetchResult:
        """Every contact of a company over all pages; inactive ones skipped and counted."""
        company = self.get_company(company_id)
        total = self.count_contacts(company.id)
        result = FetchResult(CONNECTWISE, company.id, company.name)
        url: str | None = f"{self.base_url}/company/contacts"
        params: dict | None = {"conditions": f"company/id={company.id}", "orderBy": "id asc",
                               "pageSize": max(1, min(page_size, MAX_PAGE_SIZE)), "page": 1}
        while url:
            response = self.http.request("GET", url, params=params, expect_json=False)
            page = self.http.decode(response) or []
            result.pages += 1
            for contact in page:
                _keep_or_skip(result, contact)
            if on_progress is not None:
                on_progress(result.total_seen, total)
            # The next link carries every parameter; an empty page ends a looping server.
            url = self.http.next_page_url(
                response.links.get("next", {}).get("url") if page else None, self.base_url)
            params = None
        return result


def _keep_or_skip(result: FetchResult, contact: dict) -> None:
    """Add one contact to the records, or to the skipped list when inactive."""
    if contact.get("inactiveFlag"):
        name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
        result.skipped.append(SkippedRecord(
            source_key(CONNECTWISE, "contact", contact.get("id")), name, "inactive"))
    else:
        result.records.append(contact)


def _clean_codebase(codebase: str) -> str:
    """The codebase as "v4_6_release/": no leading slash, exactly one trailing slash."""
    return codebase.strip().strip("/") + "/"

