"""A local Zendesk Support API that follows the documented contract, for tests and benches.

Serves /api/v2 users/me, organizations (list, autocomplete, show, create) and the users of an
organization, with Basic auth of "{email}/token:{api_token}", cursor pagination (page[size] at
most 100, page[after]/page[before], meta.has_more, links.next present on the last page too),
offset pagination refused past 10,000 records, 422 DuplicateValue on a taken organization
name, X-Rate-Limit headers, and 429 + Retry-After (text/plain body by default) on demand.

    fake = FakeZendesk(organizations=1, users_per_org=250).start()
    client = fake.client()                # a ZendeskClient whose base_url is the fake
    fake.throttle(1, retry_after="2")     # the next request gets 429
    fake.stop()
"""

from __future__ import annotations

import base64
import itertools
import random
import re
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from app.services.integrations.zendesk import ZendeskClient, ZendeskCredentials
from tests.support.fake_connectwise import FIRST_NAMES, LAST_NAMES, BackgroundServer, json_response

MAX_PAGE_SIZE = 100
OFFSET_LIMIT = 10_000
RATE_LIMIT = 700


def _error(status: int, error: str, description: str, details: dict | None = None) -> Response:
    """Zendesk's error body: {"error", "description", "details"}."""
    body = {"error": error, "description": description}
    if details:
        body["details"] = details
    return json_response(body, status)


class FakeZendesk(BackgroundServer):
    """A seeded Zendesk account answering on http://127.0.0.1:{port}/api/v2."""

    def __init__(self, *, organizations: int = 2, users_per_org: int = 10,
                 email: str = "admin@msp.example", api_token: str = "TOKENabc123",
                 seed: int = 11):
        super().__init__()
        self.email, self.api_token = email, api_token
        self.organizations: dict[int, dict] = {}
        self.users: dict[int, dict] = {}
        self.org_users: dict[int, list[dict]] = {}
        self.text_429 = True
        self._ids = itertools.count(360_000_000_001)
        self._rng = random.Random(seed)
        self.me = self.add_user(None, name="MSP Admin", email=email, role="admin")
        for n in range(organizations):
            self.add_organization(f"Client {n + 1} Ltd", users=users_per_org)

    # --- seeding -------------------------------------------------------------------------

    def add_organization(self, name: str, *, external_id: str | None = None, users: int = 0,
                         agents: int = 0, admins: int = 0, suspended: int = 0,
                         inactive: int = 0) -> dict:
        """Add an organization with generated end users and the other kinds asked for."""
        org = {"id": next(self._ids), "name": name, "external_id": external_id,
               "domain_names": [], "details": "", "notes": "", "tags": []}
        self.organizations[org["id"]] = org
        self.org_users[org["id"]] = []
        for n in range(users):
            self.add_user(org["id"], **self._generated(n))
        for count, extra in ((agents, {"role": "agent"}), (admins, {"role": "admin"}),
                             (suspended, {"suspended": True}), (inactive, {"active": False})):
            for n in range(count):
                self.add_user(org["id"], **{**self._generated(n), **extra})
        return org

    def add_user(self, org_id: int | None, **fields) -> dict:
        """Add one user to an organization (None: to no organization); fields override."""
        uid = next(self._ids)
        user = {"id": uid, "url": f"/api/v2/users/{uid}.json", "name": "", "email": None,
                "phone": None, "organization_id": org_id, "role": "end-user",
                "external_id": None, "active": True, "suspended": False, "user_fields": {}}
        user.update(fields)
        self.users[uid] = user
        if org_id is not None:
            self.org_users[org_id].append(user)
        return user

    def _generated(self, n: int) -> dict:
        """A plausible end user: one name string, a phone with punctuation, custom fields."""
        first, last = self._rng.choice(FIRST_NAMES), self._rng.choice(LAST_NAMES)
        return {"name": f"{first} {last}", "email": f"user{n}@client.example",
                "phone": f"+1 (555) 01{n % 100:02d}", "external_id": f"EMP{n:05d}",
                "user_fields": {"department": self._rng.choice(("Finance", "Sales", None)),
                                "employee_id": f"{n:05d}"}}

    # --- client side helpers -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:port/api/v2, what ZendeskClient takes as base_url."""
        return f"http://{self.host}/api/v2"

    def credentials(self, **overrides) -> ZendeskCredentials:
        """Credentials this fake accepts, with any field overridden."""
        values = {"subdomain": "fake", "email": self.email, "api_token": self.api_token,
                  **overrides}
        return ZendeskCredentials(**values)

    def client(self, credentials: ZendeskCredentials | None = None, **kwargs) -> ZendeskClient:
        """A ZendeskClient talking to this fake."""
        return ZendeskClient(credentials or self.credentials(), base_url=self.base_url, **kwargs)

    # --- the HTTP contract ---------------------------------------------------------------

    def too_many_requests(self) -> Response:
        """Zendesk's 429: often a text/plain body, sometimes JSON."""
        if self.text_429:
            response = Response("Too Many Requests", status=429, content_type="text/plain")
        else:
            response = _error(429, "APIRateLimitExceeded", "Number of allowed API requests "
                                                           "per minute exceeded")
        if self._retry_after is not None:
            response.headers["Retry-After"] = self._retry_after
        return response

    def dispatch(self, request: Request) -> Response:
        """Authenticate, route, and stamp the rate-limit headers."""
        path = re.sub(r"\.json$", "", request.path.rstrip("/"))
        if not path.startswith("/api/v2/"):
            return _error(404, "InvalidEndpoint", "Not found")
        identity = self._identify(request)
        if identity == "refused":
            response = _error(401, "Couldn't authenticate you", "Couldn't authenticate you")
        elif identity == "anonymous" and path != "/api/v2/users/me":
            response = _error(401, "Couldn't authenticate you", "Couldn't authenticate you")
        else:
            response = self._route(request, path[len("/api/v2"):], identity)
        response.headers["X-Rate-Limit"] = str(RATE_LIMIT)
        response.headers["X-Rate-Limit-Remaining"] = str(max(0, RATE_LIMIT - self.request_count))
        return response

    def _identify(self, request: Request) -> str:
        """"user", "anonymous" (no Authorization header) or "refused"."""
        header = request.headers.get("Authorization")
        if not header:
            return "anonymous"
        scheme, _, token = header.partition(" ")
        try:
            given = base64.b64decode(token, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return "refused"
        ok = scheme.lower() == "basic" and given == f"{self.email}/token:{self.api_token}"
        return "user" if ok else "refused"

    def _route(self, request: Request, path: str, identity: str) -> Response:
        """The endpoints Enlist uses."""
        method = request.method
        if path == "/users/me" and method == "GET":
            return json_response({"user": self.me if identity == "user" else _ANONYMOUS})
        if path == "/users" and method == "GET":
            return self._page(request, [u for u in self.users.values()], "users")
        if path == "/organizations" and method == "GET":
            return self._page(request, list(self.organizations.values()), "organizations")
        if path == "/organizations" and method == "POST":
            return self._create_organization(request)
        if path == "/organizations/autocomplete" and method == "GET":
            return self._autocomplete(request)
        match = re.fullmatch(r"/organizations/(\d+)(/users)?", path)
        if match and method == "GET":
            org = self.organizations.get(int(match.group(1)))
            if org is None:
                return _error(404, "RecordNotFound", "Not found")
            if match.group(2):
                return self._page(request, self.org_users[org["id"]], "users")
            return json_response({"organization": org})
        return _error(404, "InvalidEndpoint", "Not found")

    def _autocomplete(self, request: Request) -> Response:
        """Organizations whose name starts with `name` (case-insensitive)."""
        prefix = (request.args.get("name") or "").strip().casefold()
        if len(prefix) < 2:
            return _error(400, "InvalidValue", "name must be at least 2 characters")
        found = sorted((o for o in self.organizations.values()
                        if o["name"].casefold().startswith(prefix)), key=lambda o: o["name"])
        return json_response({"organizations": found[:MAX_PAGE_SIZE], "next_page": None,
                              "previous_page": None, "count": len(found)})

    def _create_organization(self, request: Request) -> Response:
        """POST /organizations: a blank or taken name answers 422."""
        org = (request.get_json(silent=True) or {}).get("organization")
        if not isinstance(org, dict):
            return _error(400, "InvalidValue", "organization is required")
        name = str(org.get("name") or "").strip()
        details = {}
        if not name:
            details["name"] = [{"description": "Name: cannot be blank", "error": "BlankValue"}]
        elif any(o["name"].casefold() == name.casefold() for o in self.organizations.values()):
            details["name"] = [{"description": f"Name: {name} has already been taken",
                                "error": "DuplicateValue"}]
        ext = org.get("external_id")
        if ext and any(str(o.get("external_id") or "").casefold() == str(ext).casefold()
                       for o in self.organizations.values()):
            details["external_id"] = [{"description": "External ID: has already been taken",
                                       "error": "DuplicateValue"}]
        if details:
            return _error(422, "RecordInvalid", "Record validation errors", details)
        return json_response({"organization": self.add_organization(name, external_id=ext)},
                             201)

    def _page(self, request: Request, items: list[dict], key: str) -> Response:
        """Cursor pagination when page[size]/page[after] is sent, offset pagination otherwise."""
        args = request.args
        if any(k.startswith("page[") for k in args):
            return _cursor_page(request, sorted(items, key=lambda i: i["id"]), key)
        try:
            page, per_page = int(args.get("page", 1)), int(args.get("per_page", 100))
        except ValueError:
            return _error(400, "InvalidPaginationParameter", "page must be a number")
        if page * min(per_page, 100) > OFFSET_LIMIT:
            return json_response({"error": {"title": "Invalid Pagination Request", "message":
                                  "Offset pagination is limited to the first 10,000 records. "
                                  "Use cursor pagination instead."}}, 400)
        per_page = min(per_page, 100)
        chunk = items[(page - 1) * per_page: page * per_page]
        more = page * per_page < len(items)
        url = f"{request.base_url}?{urlencode({'page': page + 1, 'per_page': per_page})}"
        return json_response({key: chunk, "next_page": url if more else None,
                              "previous_page": None, "count": len(items)})


def _cursor(item_id: int) -> str:
    """An opaque cursor for a record id."""
    return base64.urlsafe_b64encode(f"id:{item_id}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    """The record id inside a cursor; ValueError for a cursor we did not issue."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    if not raw.startswith("id:"):
        raise ValueError(cursor)
    return int(raw[3:])


def _cursor_page(request: Request, items: list[dict], key: str) -> Response:
    """One cursor page: meta.has_more, after/before cursors, links.next and links.prev."""
    args = request.args
    try:
        size = int(args.get("page[size]", 100))
        after = _uncursor(args["page[after]"]) if "page[after]" in args else None
        before = _uncursor(args["page[before]"]) if "page[before]" in args else None
    except (ValueError, UnicodeDecodeError):
        return _error(400, "InvalidPaginationParameter", "Invalid page parameters")
    if not 1 <= size <= MAX_PAGE_SIZE:
        return _error(400, "InvalidPaginationParameter",
                      f"page[size] must be between 1 and {MAX_PAGE_SIZE}")
    if before is not None:
        earlier = [i for i in items if i["id"] < before]
        chunk, has_more = earlier[-size:], len(earlier) > size
    else:
        later = [i for i in items if after is None or i["id"] > after]
        chunk, has_more = later[:size], len(later) > size
    first, last = (_cursor(chunk[0]["id"]), _cursor(chunk[-1]["id"])) if chunk else (None, None)

    def link(direction: str, cursor: str | None) -> str | None:
        """This request's URL moved to a cursor."""
        if cursor is None:
            return None
        return f"{request.base_url}?{urlencode({f'page[{direction}]': cursor, 'page[size]': size})}"

    return json_response({key: chunk,
                          "meta": {"has_more": has_more, "after_cursor": last,
                                   "before_cursor": first},
                          "links": {"next": link("after", last), "prev": link("before", first)}})


_ANONYMOUS = {"id": None, "url": None, "name": "Anonymous user", "email": "invalid@example.com",
              "role": "end-user", "active": True, "suspended": False}
