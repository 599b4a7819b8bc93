"""A local ConnectWise Manage that follows the documented REST contract, for tests and benches.

It serves /login/companyinfo/{companyId} and /{codebase}apis/3.0/company/{companies,contacts}
with the real rules: Basic auth of "{companyId}+{public}:{private}" and a clientId header,
`conditions` (=, !=, <, >, like; and/or; parentheses), orderBy, fields, page/pageSize capped
at 1000 with a Link header, /count, and company-create validation with ConnectWise's error body.

    fake = FakeConnectWise(companies=2, contacts_per_company=30).start()
    client = fake.client()            # a ConnectWiseClient over http to the fake
    fake.throttle(1, retry_after="2") # the next request gets 429 + Retry-After
    fake.stop()

BackgroundServer (the thread that serves a WSGI app on 127.0.0.1, port 0) is shared with
fake_zendesk.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from app.services.integrations.connectwise import ConnectWiseClient, ConnectWiseCredentials

FIRST_NAMES = ("Pat", "Mary Ann", "John", "Aoife", "José", "Li", "Fatima", "Olga", "Sam", "Kim")
LAST_NAMES = ("O'Leary", "Smith", "Ní Bhriain", "García", "Nguyen", "Okafor", "Kowalski", "Lee")
DEPARTMENTS = ("Finance", "Sales", "Operations", "IT", None)
MAX_PAGE_SIZE = 1000


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without a log line per request (a bench makes thousands)."""

    def log_request(self, *args, **kwargs) -> None:
        """Say nothing."""


@dataclass(frozen=True)
class SeenRequest:
    """One request the fake received, for tests that count or inspect calls."""

    method: str
    path: str
    args: dict
    headers: dict


class BackgroundServer:
    """Serve self.wsgi on 127.0.0.1 on a free port in a daemon thread."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None
        self._throttle_left, self._retry_after = 0, "1"

    def start(self):
        """Start serving; returns self (base_url is set)."""
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)  # a short poll: stop() returns fast
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """127.0.0.1:port of the running server."""
        return f"127.0.0.1:{self._server.server_port}"

    @property
    def request_count(self) -> int:
        """How many requests arrived since the start (or the last reset)."""
        return len(self.requests)

    def reset_requests(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()

    def throttle(self, count: int, retry_after: str | None = "1") -> None:
        """Answer the next `count` requests with 429 and this Retry-After (None: no header)."""
        with self._lock:
            self._throttle_left, self._retry_after = count, retry_after

    def wsgi(self, environ, start_response):
        """The WSGI entry point: log, throttle if asked, then dispatch."""
        request = Request(environ)
        with self._lock:
            self.requests.append(SeenRequest(request.method, request.path,
                                             request.args.to_dict(), dict(request.headers)))
            throttled = self._throttle_left > 0
            self._throttle_left -= throttled
        response = self.too_many_requests() if throttled else self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:  # pragma: no cover - overridden
        """Answer one request."""
        raise NotImplementedError

    def too_many_requests(self) -> Response:  # pragma: no cover - overridden
        """The 429 this service sends."""
        raise NotImplementedError


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response the way both services send it."""
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json; charset=utf-8")


def _error(status: int, code: str, message: str, errors: list | None = None) -> Response:
    """ConnectWise's error body: {"code", "message", "errors": [...]}."""
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


class FakeConnectWise(BackgroundServer):
    """A seeded ConnectWise Manage site answering on http://127.0.0.1:{port}."""

    def __init__(self, *, companies: int = 2, contacts_per_company: int = 10,
                 inactive_per_company: int = 0, company_id: str = "enlistmsp",
                 public_key: str = "PUBLICkey123", private_key: str = "PRIVATEkey456",
                 client_id: str = "6f1c2c1e-0000-4000-8000-client000001",
                 codebase: str = "v4_6_release/", seed: int = 7):
        super().__init__()
        self.company_id, self.public_key, self.private_key = company_id, public_key, private_key
        self.client_id, self.codebase = client_id, codebase
        self.companies: dict[int, dict] = {}
        self.contacts: dict[int, dict] = {}
        self._ids = itertools.count(250)
        self._rng = random.Random(seed)
        for n in range(companies):
            self.add_company(f"Client {n + 1} Ltd", contacts=contacts_per_company,
                             inactive=inactive_per_company)

    # --- seeding -------------------------------------------------------------------------

    def add_company(self, name: str, *, identifier: str | None = None, contacts: int = 0,
                    inactive: int = 0) -> dict:
        """Add a company (and generated contacts); returns the company object."""
        cid = next(self._ids)
        company = {"id": cid, "identifier": identifier or re.sub(r"\W", "", name)[:30],
                   "name": name, "addressLine1": "1 Main Street", "city": "Springfield",
                   "deletedFlag": False}
        self.companies[cid] = company
        self.add_contacts(cid, contacts, inactive=inactive)
        return company

    def add_contacts(self, company_id: int, count: int, *, inactive: int = 0) -> list[dict]:
        """Add `count` generated contacts, the last `inactive` of them inactive."""
        return [self.add_contact(company_id, **self._generated(i, i >= count - inactive))
                for i in range(count)]

    def add_contact(self, company_id: int, **fields) -> dict:
        """Add one contact; fields override the generated ones (communicationItems too)."""
        company = self.companies[company_id]
        contact = {"id": next(self._ids), "firstName": "", "lastName": "", "title": None,
                   "company": {k: company[k] for k in ("id", "identifier", "name")},
                   "site": {"id": 1, "name": "Main"}, "department": None,
                   "defaultPhoneNbr": None, "defaultPhoneExtension": None,
                   "inactiveFlag": False, "communicationItems": []}
        contact.update(fields)
        self.contacts[contact["id"]] = contact
        return contact

    def _generated(self, n: int, inactive: bool) -> dict:
        """Plausible contact fields, with the punctuation real phone numbers carry."""
        first, last = self._rng.choice(FIRST_NAMES), self._rng.choice(LAST_NAMES)
        phone = f"({self._rng.randint(200, 999)}) 555-{n % 10000:04d}"
        ext = str(self._rng.randint(10, 999)) if n % 3 == 0 else None
        dept = self._rng.choice(DEPARTMENTS)
        email = f"{first.split()[0].lower()}.{n}@client.example"
        return {"firstName": first, "lastName": last, "title": "Analyst", "inactiveFlag": inactive,
                "department": {"id": 1, "name": dept} if dept else None,
                "defaultPhoneNbr": phone, "defaultPhoneExtension": ext,
                "communicationItems": [
                    _item(1, "Email", email, "Email", default=True),
                    _item(2, "Direct", phone, "Phone", default=True, extension=ext),
                    _item(4, "Mobile", f"555 01{n % 100:02d}", "Phone")]}

    # --- client side helpers -------------------------------------------------------------

    def credentials(self, **overrides) -> ConnectWiseCredentials:
        """Credentials that this fake accepts, with any field overridden."""
        values = {"site": self.host, "company_id": self.company_id,
                  "public_key": self.public_key, "private_key": self.private_key,
                  "client_id": self.client_id, **overrides}
        return ConnectWiseCredentials(**values)

    def client(self, credentials: ConnectWiseCredentials | None = None,
               **kwargs) -> ConnectWiseClient:
        """A ConnectWiseClient talking plain http to this fake."""
        return ConnectWiseClient(credentials or self.credentials(), scheme="http", **kwargs)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:port (the site root)."""
        return f"http://{self.host}"

    # --- the HTTP contract ---------------------------------------------------------------

    def too_many_requests(self) -> Response:
        """ConnectWise's 429."""
        response = _error(429, "TooManyRequests", "Too many requests, slow down.")
        if self._retry_after is not None:
            response.headers["Retry-After"] = self._retry_after
        return response

    def dispatch(self, request: Request) -> Response:
        """Route one request: companyinfo is public, the API needs clientId and Basic auth."""
        match = re.fullmatch(r"/login/companyinfo/([^/]+)", request.path)
        if match and request.method == "GET":
            return self._company_info(match.group(1))
        prefix = f"/{self.codebase}apis/3.0/"
        if not request.path.startswith(prefix):
            return _error(404, "NotFound", f"Path {request.path} not found.")
        refused = self._refuse_auth(request)
        if refused is not None:
            return refused
        return self._api(request, request.path[len(prefix):].rstrip("/"))

    def _company_info(self, company_id: str) -> Response:
        """The codebase of a company (its id is case-insensitive, like the login)."""
        if company_id.casefold() != self.company_id.casefold():
            return _error(404, "NotFound", f"Company {company_id} not found.")
        return json_response({"CompanyName": "Enlist MSP", "Codebase": self.codebase,
                              "VersionCode": "v2025.1", "VersionNumber": "v4.6.1000",
                              "CompanyID": self.company_id, "IsCloud": False,
                              "SiteUrl": self.host})

    def _refuse_auth(self, request: Request) -> Response | None:
        """401 without a clientId or with the wrong Basic credentials; None when allowed."""
        if not (request.headers.get("clientId") or "").strip():
            return _error(401, "Unauthorized", "clientId header is required.")
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        try:
            given = base64.b64decode(token, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            given = ""
        company, _, keys = given.partition("+")
        # the company id is case-insensitive (as at the login), the keys are not
        if scheme.lower() != "basic" or company.casefold() != self.company_id.casefold() \
                or keys != f"{self.public_key}:{self.private_key}":
            return _error(401, "Unauthorized", "Authentication failed.")
        return None

    def _api(self, request: Request, path: str) -> Response:
        """The company endpoints Enlist uses."""
        resources = {"company/companies": self.companies, "company/contacts": self.contacts}
        base, _, tail = path.rpartition("/")
        if path in resources and request.method == "GET":
            return self._list(request, list(resources[path].values()))
        if path == "company/companies" and request.method == "POST":
            return self._create_company(request)
        if base in resources and tail == "count" and request.method == "GET":
            try:
                return json_response({"count": len(self._filter(request, resources[base]))})
            except ConditionsError as exc:
                return _error(400, "InvalidObject", str(exc))
        if base in resources and tail.isdigit() and request.method == "GET":
            found = resources[base].get(int(tail))
            noun = base.split("/")[-1][:-1].capitalize()
            return json_response(found) if found else \
                _error(404, "NotFound", f"{noun} with id {tail} not found.")
        return _error(404, "NotFound", f"Path /{path} not found.")

    def _filter(self, request: Request, records: dict | list) -> list[dict]:
        """The records matching the conditions parameter."""
        rows = list(records.values() if isinstance(records, dict) else records)
        text = request.args.get("conditions")
        if not text:
            return rows
        predicate = parse_conditions(text, template=rows[0] if rows else None)
        return [r for r in rows if predicate(r)]

    def _list(self, request: Request, rows: list[dict]) -> Response:
        """A filtered, ordered page, with the Link header ConnectWise sends."""
        try:
            rows = _ordered(self._filter(request, rows), request.args.get("orderBy"))
            page = int(request.args.get("page", 1))
            size = min(int(request.args.get("pageSize", 25)), MAX_PAGE_SIZE)
        except ConditionsError as exc:
            return _error(400, "InvalidObject", str(exc))
        except ValueError:
            return _error(400, "InvalidObject", "page and pageSize must be whole numbers.")
        if page < 1 or size < 1:
            return _error(400, "InvalidObject", "page and pageSize must be positive.")
        chunk = rows[(page - 1) * size: page * size]
        fields = [f for f in request.args.get("fields", "").split(",") if f]
        if fields:
            chunk = [{k: row[k] for k in fields if k in row} for row in chunk]
        last = max(1, -(-len(rows) // size))
        return json_response(chunk, headers=_link_header(request, page, last))

    def _create_company(self, request: Request) -> Response:
        """POST /company/companies with ConnectWise's validation errors."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, "InvalidObject", "The request body is not valid JSON.")
        errors = _company_errors(body, self.companies.values())
        if errors:
            return _error(400, "InvalidObject", "company object is invalid", errors)
        company = {"id": next(self._ids), "deletedFlag": False, **body}
        self.companies[company["id"]] = company
        return json_response(company, 201)


def _item(type_id: int, type_name: str, value: str, kind: str, *, default: bool = False,
          extension: str | None = None) -> dict:
    """One communicationItems entry."""
    return {"id": type_id, "type": {"id": type_id, "name": type_name}, "value": value,
            "extension": extension, "defaultFlag": default, "communicationType": kind}


def _ordered(rows: list[dict], order_by: str | None) -> list[dict]:
    """Rows sorted by an orderBy like "name asc" (ConnectWise's default is by id)."""
    field, _, direction = (order_by or "id asc").strip().partition(" ")
    if direction.strip().lower() not in ("", "asc", "desc"):
        raise ConditionsError(f"orderBy direction {direction!r} is not asc or desc.")
    if rows:
        resolve(rows[0], field)  # raises for an unknown field

    def key(row: dict):
        """Nulls last; numbers as numbers, text case-insensitively."""
        value = _get(row, field)
        return (value is None, value if isinstance(value, (int, float)) else
                str(value or "").casefold())

    return sorted(rows, key=key, reverse=direction.strip().lower() == "desc")


def _link_header(request: Request, page: int, last: int) -> dict:
    """Link: <...page=2>; rel="next", ... as ConnectWise announces pages."""
    if last <= 1:
        return {}
    args = request.args.to_dict()

    def url(n: int) -> str:
        """This request's URL at page n."""
        return f"{request.base_url}?{urlencode({**args, 'page': n})}"

    links = [(url(1), "first")]
    if page > 1:
        links.append((url(page - 1), "prev"))
    if page < last:
        links.append((url(page + 1), "next"))
    links.append((url(last), "last"))
    return {"Link": ", ".join(f'<{u}>; rel="{rel}"' for u, rel in links)}


def _company_errors(body: dict, existing) -> list[dict]:
    """ConnectWise's per-field errors for a company create."""
    errors = []
    for field, limit in (("identifier", 30), ("name", 50)):
        value = body.get(field)
        if not value:
            errors.append({"code": "NullField", "message": f"{field} may not be null.",
                           "resource": "company", "field": field})
        elif len(str(value)) > limit:
            errors.append({"code": "MaxLengthField", "resource": "company", "field": field,
                           "message": f"The field {field} must be a string with a maximum "
                                      f"length of {limit}."})
    if not any(body.get(f) for f in ("addressLine1", "addressLine2", "city", "state", "zip")):
        errors.append({"code": "NullField", "resource": "company", "field": "addressLine1",
                       "message": "An address is required: addressLine1, city, state or zip."})
    taken = {str(c.get("identifier", "")).casefold() for c in existing}
    if body.get("identifier") and str(body["identifier"]).casefold() in taken:
        errors.append({"code": "InvalidField", "resource": "company", "field": "identifier",
                       "message": f"The identifier {body['identifier']} is already in use."})
    return errors


# --- conditions: the small query language of the API ---------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)"""
                    r"""|(?P<op>!=|<=|>=|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][\w/]*))""")
_OPS = {"=": lambda a, b: _fold(a) == _fold(b), "!=": lambda a, b: _fold(a) != _fold(b),
        "<": lambda a, b: a is not None and a < b, ">": lambda a, b: a is not None and a > b,
        "<=": lambda a, b: a is not None and a <= b, ">=": lambda a, b: a is not None and a >= b}


class ConditionsError(ValueError):
    """A conditions or orderBy parameter the API would refuse with 400."""


def resolve(record: dict, path: str):
    """The value at a path like "company/id"; a field the record does not have raises."""
    value = record
    for step in path.split("/"):
        if value is None:  # a null object on the way (department: null): the field exists
            return None
        if not isinstance(value, dict) or step not in value:
            raise ConditionsError(f"Cannot find field {path}.")
        value = value[step]
    return value


def parse_conditions(text: str, template: dict | None = None):
    """A predicate for a conditions string; and binds tighter than or."""
    tokens = _tokens(text)
    predicate, rest = _parse_or(tokens, template)
    if rest:
        raise ConditionsError(f"Unexpected {rest[0][1]!r} in conditions.")
    return predicate


def _tokens(text: str) -> list[tuple[str, object]]:
    """(kind, value) pairs; strings unescaped, numbers as numbers."""
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ConditionsError(f"Cannot parse conditions near {text[pos:pos + 20]!r}.")
        kind = match.lastgroup
        raw = match.group(kind)
        if kind == "str":
            tokens.append((kind, re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "num":
            tokens.append((kind, float(raw) if "." in raw else int(raw)))
        else:
            tokens.append((kind, raw))
        pos = match.end()
    return tokens


def _parse_or(tokens, template):
    """or-joined groups of and-joined comparisons."""
    left, tokens = _parse_and(tokens, template)
    while tokens and tokens[0][0] == "word" and str(tokens[0][1]).lower() == "or":
        right, tokens = _parse_and(tokens[1:], template)
        left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
    return left, tokens


def _parse_and(tokens, template):
    """and-joined comparisons."""
    left, tokens = _parse_atom(tokens, template)
    while tokens and tokens[0][0] == "word" and str(tokens[0][1]).lower() == "and":
        right, tokens = _parse_atom(tokens[1:], template)
        left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
    return left, tokens


def _parse_atom(tokens, template):
    """A parenthesised group or one `field op value` comparison."""
    if tokens and tokens[0] == ("paren", "("):
        inner, rest = _parse_or(tokens[1:], template)
        if not rest or rest[0] != ("paren", ")"):
            raise ConditionsError("Unbalanced parentheses in conditions.")
        return inner, rest[1:]
    if len(tokens) < 3 or tokens[0][0] != "word":
        raise ConditionsError("Expected a comparison like name like \"Ac%\".")
    path = tokens[0][1]
    if template is not None:
        resolve(template, path)  # an unknown field is a 400, as in the real API
    negate = str(tokens[1][1]).lower() == "not"
    op_token, value_token = (tokens[2], tokens[3:4]) if negate else (tokens[1], tokens[2:3])
    if not value_token:
        raise ConditionsError(f"Missing value after {path}.")
    value = _literal(value_token[0])
    rest = tokens[(4 if negate else 3):]
    if str(op_token[1]).lower() == "like":
        pattern = re.compile(".*".join(map(re.escape, str(value).split("%"))), re.IGNORECASE | re.S)
        return (lambda r: bool(pattern.fullmatch(str(_get(r, path) or ""))) != negate), rest
    if op_token[0] != "op" or negate:
        raise ConditionsError(f"Unknown operator {op_token[1]!r}.")
    compare = _OPS[op_token[1]]
    return (lambda r: compare(_get(r, path), value)), rest


def _literal(token):
    """A value token: string, number, true/false/null."""
    kind, value = token
    if kind in ("str", "num"):
        return value
    words = {"true": True, "false": False, "null": None}
    if kind == "word" and str(value).lower() in words:
        return words[str(value).lower()]
    raise ConditionsError(f"Expected a value, found {value!r}; strings need double quotes.")


def _get(record: dict, path: str):
    """The value at a path, None when a step is missing."""
    value = record
    for step in path.split("/"):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def _fold(value):
    """Strings compare case-insensitively, as in the API's database."""
    return value.casefold() if isinstance(value, str) else value
