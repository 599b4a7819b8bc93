"""A strict stand-in for the portal's discovery API, for testing the agents.

It implements the contract in the agent brief and nothing more: POST /api/v1/discovery with a
Bearer token and a JSON body of one record or {"records": [...]} (at most 1000). Anything the
contract does not allow is refused, so an agent that passes here speaks the contract exactly.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_PATH = "/api/v1/discovery"
RECORD_FIELDS = frozenset((
    "source", "source_key", "first_name", "last_name", "display_name", "email", "phone",
    "location", "department", "job_title", "username", "machine_name", "os",
))
MAX_RECORDS = 1000
MAX_BYTES = 2_000_000
TOKEN_ERROR = ("This discovery token is not valid or was revoked. "
               "Ask your IT provider for a new agent.")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PC_KEY = re.compile(r"(pc:[^:]+:.+\\.+|S-1-\d+(-\d+)+)")


def record_errors(record):
    """Return the contract's field errors for one record (empty when it is acceptable)."""
    if not isinstance(record, dict):
        return [{"field": "record", "message": "A record must be an object."}]
    errors = [{"field": key, "message": "Unknown field."} for key in record
              if key not in RECORD_FIELDS]
    errors += [{"field": key, "message": "Must be text."} for key, value in record.items()
               if key in RECORD_FIELDS and not isinstance(value, str)]
    if errors:
        return errors
    source, key = record.get("source"), record.get("source_key", "")
    if source not in ("pc", "network"):
        errors.append({"field": "source", "message": 'Must be "pc" or "network".'})
    elif not (_GUID if source == "network" else _PC_KEY).fullmatch(key):
        errors.append({"field": "source_key", "message": f"Not a {source} source key."})
    if record.get("email") and not _EMAIL.fullmatch(record["email"]):
        errors.append({"field": "email", "message": "Enter a valid email address."})
    return errors


class StubPortal:
    """The discovery API on 127.0.0.1 (port 0), served from a thread."""

    def __init__(self, token="test-token", tls=None):
        """Prepare the stub; tls is an optional server-side ssl.SSLContext."""
        self.token, self.tls = token, tls
        self.requests = []  # every request seen: {"path", "headers", "body"}
        self.script = []  # (status, headers, body) or None, answered before the contract logic
        self.store = {}  # source_key -> record, to tell created from updated and unchanged
        self.required = ()  # fields this portal insists on, to provoke 422 answers
        self.server = None

    @property
    def url(self):
        """The portal's base address."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    @property
    def records(self):
        """Every record received in an accepted (authorised, well-formed) request."""
        return [r for req in self.requests if req.get("accepted") for r in req["records"]]

    def start(self):
        """Start serving in a daemon thread."""
        handler = type("Handler", (_Handler,), {"portal": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if self.tls:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        # A short poll interval keeps shutdown (one per test) quick.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def answer(self, body, request):
        """Apply the contract to a request body; return (status, headers, answer)."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 400, {}, {"error": "The body is not JSON."}
        batch = data["records"] if isinstance(data, dict) and "records" in data else [data]
        if not isinstance(batch, list) or not batch:
            return 400, {}, {"error": "records must be a non-empty list."}
        if len(batch) > MAX_RECORDS:
            return 413, {}, {"error": f"At most {MAX_RECORDS} records per request."}
        request.update(records=batch, accepted=True)
        results = [self._result(index, record) for index, record in enumerate(batch)]
        counts = {k: 0 for k in ("created", "updated", "unchanged", "rejected")}
        for result in results:
            counts[result["outcome"]] += 1
        status = 422 if counts["rejected"] else 200
        return status, {}, {"counts": counts, "results": results}

    def _result(self, index, record):
        """Store one record and describe what happened to it."""
        key = record.get("source_key", "") if isinstance(record, dict) else ""
        errors = record_errors(record)
        if not errors:
            errors = [{"field": name, "message": "This field is required."}
                      for name in self.required if not record.get(name)]
        if errors:
            outcome = "rejected"
        elif key not in self.store:
            outcome = "created"
        else:
            outcome = "unchanged" if self.store[key] == record else "updated"
        if not errors:
            self.store[key] = record
        return {"index": index, "source_key": key, "outcome": outcome, "errors": errors}


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the StubPortal set as the class attribute `portal`."""

    portal: StubPortal

    def do_POST(self):  # noqa: N802 - the name http.server dispatches to
        """Serve the discovery API."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length <= MAX_BYTES else b""
        request = {"path": self.path, "headers": dict(self.headers), "body": body}
        self.portal.requests.append(request)
        if self.path != API_PATH:
            return self._send(404, {}, b"<html><body>Not Found</body></html>", "text/html")
        scripted = self.portal.script.pop(0) if self.portal.script else None
        if scripted:  # None in the script means "answer this one by the contract"
            return self._send_json(*scripted)
        if self.headers.get("Authorization") != f"Bearer {self.portal.token}":
            return self._send_json(401, {}, {"error": TOKEN_ERROR})
        if length > MAX_BYTES:
            return self._send_json(413, {}, {"error": "The upload is too large."})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._send_json(415, {}, {"error": "Send application/json."})
        return self._send_json(*self.portal.answer(body, request))

    def do_GET(self):  # noqa: N802
        """The API takes POST only; anything else is a plain 404 page."""
        if self.path == API_PATH:
            return self._send_json(405, {"Allow": "POST"}, {"error": "Use POST."})
        return self._send(404, {}, b"<html><body>Not Found</body></html>", "text/html")

    def _send_json(self, status, headers, answer):
        """Send a JSON answer."""
        self._send(status, headers, json.dumps(answer).encode("utf-8"), "application/json")

    def _send(self, status, headers, body, content_type):
        """Send an answer with its headers."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - the signature http.server calls
        """Keep test output quiet."""


def tls_server_context(cert_file, key_file):
    """Return a server-side TLS context for the stub."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
