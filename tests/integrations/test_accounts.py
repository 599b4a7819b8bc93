"""Integration accounts through the admin pages: saved encrypted, never shown again, Test connection in plain words."""

from __future__ import annotations

import html
import re
import socket

import pytest

from app.extensions import db
from app.models import IntegrationAccount
from app.services import secrets
from tests.integrations.conftest import CW_PRIVATE_KEY, ZD_API_TOKEN, cw_settings, zd_settings

INDEX = "/integrations/"


def cw_form(fake, prefix: str = "new-connectwise", **overrides) -> dict:
    values = {"name": "ConnectWise", **cw_settings(fake), "private_key": fake.private_key, **overrides}
    return {"provider": "connectwise", **{f"{prefix}-{k}": v for k, v in values.items()}}


def zd_form(fake, prefix: str = "new-zendesk", **overrides) -> dict:
    values = {"name": "Help desk", **zd_settings(fake), "api_token": fake.api_token, **overrides}
    return {"provider": "zendesk", **{f"{prefix}-{k}": v for k, v in values.items()}}


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_admin_adds_a_connectwise_account_whose_key_is_stored_encrypted_and_never_shown(client, auth, admin, cw):
    response = auth.post(INDEX + "accounts", cw_form(cw), page=INDEX)
    assert response.status_code == 303
    page = client.get(INDEX).get_data(as_text=True)
    assert "ConnectWise" in page and cw.public_key in page and "saved (encrypted)" in page
    assert CW_PRIVATE_KEY not in page
    account = db.session.scalar(db.select(IntegrationAccount))
    assert account.settings["site"] == f"http://{cw.host}" and CW_PRIVATE_KEY not in account.secret
    assert secrets.box().decrypt(account.secret) == CW_PRIVATE_KEY


def test_editing_with_the_key_left_empty_keeps_the_saved_key(client, auth, admin, cw, cw_account):
    prefix = f"account-{cw_account.id}"
    response = auth.post(f"{INDEX}accounts/{cw_account.id}", cw_form(cw, prefix, name="CW main", private_key=""),
                         page=INDEX)
    assert response.status_code == 303
    db.session.expire_all()
    assert cw_account.name == "CW main" and secrets.box().decrypt(cw_account.secret) == CW_PRIVATE_KEY
    assert CW_PRIVATE_KEY not in client.get(INDEX).get_data(as_text=True)


def test_a_new_account_needs_its_key_and_the_refusal_does_not_echo_anything_secret(client, auth, admin, zd):
    response = auth.post(INDEX + "accounts", zd_form(zd, api_token=""), page=INDEX)
    assert response.status_code == 422
    assert "Fill in the API token." in response.get_data(as_text=True)
    response = auth.post(INDEX + "accounts", zd_form(zd, email="not-an-email"), page=INDEX)
    assert response.status_code == 422 and ZD_API_TOKEN not in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(IntegrationAccount)) == 0


def test_a_technician_cannot_reach_the_accounts(client, auth, technician):
    assert client.get(INDEX).status_code == 403
    assert auth.post(INDEX + "accounts", {"provider": "zendesk"}, page="/deployments/").status_code == 403


def check(auth, data: dict) -> str:
    response = auth.htmx("POST", INDEX + "accounts/test", data, page=INDEX)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_test_connection_says_connected_and_remembers_the_codebase_of_a_saved_account(auth, admin, cw, cw_account):
    prefix = f"account-{cw_account.id}"
    text = check(auth, {**cw_form(cw, prefix, private_key=""), "account_id": cw_account.id})
    assert f"Connected to ConnectWise at {cw.host} (codebase v4_6_release)" in text and 'data-ok="yes"' in text
    db.session.expire_all()
    assert cw_account.last_check_ok is True and cw_account.settings["codebase"] == "v4_6_release/"


@pytest.mark.parametrize("overrides, words", [
    ({"private_key": "WRONG-key"}, "ConnectWise refused the API keys (401). Check the public and private key"),
    ({"company_id": "nosuchmsp"}, "does not know the company id 'nosuchmsp'. Check the site and the company id"),
    ({"client_id": " "}, "Fill in client id first."),
])
def test_test_connection_words_bad_connectwise_settings_plainly(auth, admin, cw, overrides, words):
    text = check(auth, cw_form(cw, **overrides))
    assert words in text and 'data-ok="no"' in text
    assert "WRONG-key" not in text


def test_test_connection_words_bad_zendesk_credentials_and_an_unreachable_site(auth, admin, zd):
    assert "Zendesk refused the email and API token (401)" in check(auth, zd_form(zd, api_token="nope"))
    assert "Connected to Zendesk" in check(auth, zd_form(zd))
    unreachable = check(auth, zd_form(zd, subdomain=f"http://127.0.0.1:{closed_port()}"))
    assert "Could not reach Zendesk at 127.0.0.1" in unreachable and "the connection failed" in unreachable


def test_deleting_an_account_unlinks_its_deployments(client, auth, admin, cw_account, acme):
    from app.services.integration_imports import links

    links.link_remote(acme, cw_account, 250, "tests")
    response = auth.post(f"{INDEX}accounts/{cw_account.id}/delete", page=INDEX)
    assert response.status_code == 303
    assert links.link_for(acme, "connectwise") is None
    assert "1 deployment link(s) removed" in client.get(INDEX).get_data(as_text=True)


def test_test_connection_words_an_unknown_site(auth, admin, cw, zd):
    unknown = check(auth, cw_form(cw, site="cw.nosuchsite.invalid"))
    assert ("Could not reach ConnectWise at cw.nosuchsite.invalid after 3 attempts: the connection failed "
            "(host unknown, refused or unreachable).") in unknown
    nothing_there = check(auth, zd_form(zd, subdomain=f"http://{zd.host}/not-zendesk"))
    assert f"Zendesk has no account at http://{zd.host}/not-zendesk (404). Check the subdomain" in nothing_there


def test_a_site_or_subdomain_that_cannot_be_an_address_is_refused_before_any_call(auth, admin, cw, zd):
    assert "The subdomain 127.0.0.1:1 is not one: type the part before .zendesk.com" in \
        check(auth, zd_form(zd, subdomain="127.0.0.1:1"))
    response = auth.post(INDEX + "accounts", cw_form(cw, site="cw.example.com/path?x"), page=INDEX)
    assert response.status_code == 422
    assert "The site cw.example.com/path?x is not a host name" in html.unescape(response.get_data(as_text=True))
