"""The shared HTTP rules: retries, waits, plain failures, no secrets anywhere."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from app.services.integrations import ConnectWiseCredentials, IntegrationError, ZendeskCredentials
from app.services.integrations.connectwise import ConnectWiseClient
from app.services.integrations.http import retry_after_seconds
from app.services.integrations.zendesk import ZendeskClient


def _closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _response_with_retry_after(value: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = value
    return response


def test_retry_after_reads_seconds_and_http_dates_and_ignores_garbage():
    assert retry_after_seconds(_response_with_retry_after("3")) == 3
    assert retry_after_seconds(_response_with_retry_after("1.5")) == 1.5
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after_seconds(_response_with_retry_after(format_datetime(later))) <= 30
    assert retry_after_seconds(_response_with_retry_after("soon")) is None


def test_closed_port_fails_after_the_retries_naming_the_host(clock):
    port = _closed_port()
    creds = ConnectWiseCredentials(f"127.0.0.1:{port}", "acme", "pub", "SECRETpriv", "cid",
                                   codebase="v4_6_release/")
    client = ConnectWiseClient(creds, scheme="http", policy=clock.policy(attempts=3),
                               on_wait=clock.on_wait)
    with pytest.raises(IntegrationError) as caught:
        client.get_company(250)
    error = caught.value
    assert error.kind == "network"
    assert f"127.0.0.1:{port}" in error.message and "after 3 attempts" in error.message
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff between the three tries
    assert [reason for _, reason in clock.waits] == ["ConnectWise did not answer, trying again"] * 2
    assert "SECRETpriv" not in repr(error) and "SECRETpriv" not in str(error)


def test_too_many_429s_give_up_with_a_rate_limited_error(zd, clock):
    zd.throttle(10, retry_after="2")
    client = zd.client(policy=clock.policy(rate_limit_retries=3), on_wait=clock.on_wait)
    with pytest.raises(IntegrationError) as caught:
        client.get_organization(next(iter(zd.organizations)))
    assert caught.value.kind == "rate_limited"
    assert clock.sleeps == [2, 2, 2]
    assert zd.request_count == 4


def test_a_huge_retry_after_is_capped(cw, clock):
    cw.throttle(1, retry_after="3600")
    client = cw.client(policy=clock.policy(max_wait=60), on_wait=clock.on_wait)
    assert client.get_company(250).id == 250
    assert clock.waits == [(60, "ConnectWise rate limit")]


def test_a_429_without_retry_after_waits_the_default(cw, clock):
    cw.throttle(1, retry_after=None)
    client = cw.client(policy=clock.policy(default_rate_wait=5), on_wait=clock.on_wait)
    client.get_company(250)
    assert clock.sleeps == [5]


def test_credentials_reprs_hide_every_secret():
    cw = ConnectWiseCredentials("cw.example", "acme", "PUBkey", "PRIVkey", "CLIENTguid")
    zd = ZendeskCredentials("acme", "agent@msp.example", "TOKENvalue")
    for text in (repr(cw), str(cw), repr(ConnectWiseClient(cw))):
        assert not {"PUBkey", "PRIVkey", "CLIENTguid"} & set(text.replace("'", " ").split())
        assert "PRIVkey" not in text and "PUBkey" not in text and "CLIENTguid" not in text
    for text in (repr(zd), str(zd), repr(ZendeskClient(zd))):
        assert "TOKENvalue" not in text


def test_a_post_to_a_closed_port_is_retried_since_it_never_left(clock):
    creds = ConnectWiseCredentials(f"127.0.0.1:{_closed_port()}", "acme", "pub", "priv", "cid",
                                   codebase="v4_6_release/")
    client = ConnectWiseClient(creds, scheme="http", policy=clock.policy(attempts=2))
    with pytest.raises(IntegrationError) as caught:
        client.create_company("ACME", "Acme", city="Springfield")
    assert caught.value.kind == "network" and len(clock.sleeps) == 1


def test_a_post_is_not_repeated_after_a_gateway_error(cw, clock, monkeypatch):
    client = cw.client(policy=clock.policy())
    client.discover_codebase()
    calls = []

    def gateway_down(method, url, **kwargs):
        calls.append(method)
        response = requests.Response()
        response.status_code, response.url = 503, url
        return response

    monkeypatch.setattr(client.http.session, "request", gateway_down)
    with pytest.raises(IntegrationError) as caught:
        client.create_company("ACME", "Acme", city="Springfield")
    assert caught.value.kind == "server" and calls == ["POST"]
    calls.clear()
    with pytest.raises(IntegrationError):
        client.get_company(250)
    assert calls == ["GET", "GET", "GET"] and clock.sleeps == [0.5, 1.0]
