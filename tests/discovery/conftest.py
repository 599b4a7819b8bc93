"""Fixtures for discovery: a deployment with a discovery token, record factories, the live server,
and the source domain (a second Samba AD DC seeded with about 2,000 people) for network discovery."""

from __future__ import annotations

import secrets
import threading

import pytest
from werkzeug.serving import make_server

from app.services import discovery


@pytest.fixture()
def deployment(make_deployment):
    """The deployment ACME."""
    return make_deployment("ACME")


@pytest.fixture()
def token(deployment):
    """A fresh discovery token of ACME (the bearer value)."""
    return discovery.issue_token(deployment, "agents", "tests")[1]


def bearer(value: str) -> dict:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {value}"}


def pc_record(n: int = 1, **fields) -> dict:
    """A valid "pc" record as the agent sends it; fields override."""
    record = {"source": "pc", "source_key": f"S-1-5-21-1004336348-1177238915-682003330-{1000 + n}",
              "first_name": "Pat", "last_name": f"Lee{n}", "display_name": f"Pat Lee{n}",
              "email": f"pat.lee{n}@acme.example", "phone": "555 0100", "location": "Leeds",
              "department": "Sales", "job_title": "Buyer", "username": f"plee{n}",
              "machine_name": f"PC-{n:04d}", "os": "Windows 11 (10.0.22631)"}
    record.update(fields)
    return record


def network_record(**fields) -> dict:
    """A valid "network" record keyed by a random objectGUID."""
    guid = "-".join(secrets.token_hex(n) for n in (4, 2, 2, 2, 6))
    record = {"source": "network", "source_key": guid, "first_name": "Ann", "last_name": "Ray",
              "email": "ann.ray@acme.example", "username": "aray"}
    record.update(fields)
    return record


@pytest.fixture()
def post(client, token):
    """POST records (a list) or one record (a dict) to the discovery API with ACME's token."""

    def send(payload, *, with_token: str | None = None, **kwargs):
        body = {"records": payload} if isinstance(payload, list) else payload
        return client.post("/api/v1/discovery", json=body, headers=bearer(with_token or token), **kwargs)

    return send


@pytest.fixture()
def live_server(app):
    """The test app served by a threaded WSGI server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def source_dc(tmp_path_factory):
    """The client's existing domain: a Samba AD DC on 127.0.0.2 (or the next free address) holding the seed."""
    from tests.discovery.seed import start_seeded_dc

    dc = start_seeded_dc(tmp_path_factory.mktemp("source-domain"))
    try:
        yield dc
    finally:
        dc.destroy()
