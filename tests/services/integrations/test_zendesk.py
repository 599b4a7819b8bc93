"""The Zendesk client against the local stand-in that follows the documented contract."""

from __future__ import annotations

import base64

import pytest
import requests

from app.services.integrations import ZENDESK, IntegrationError, ZendeskClient, empty_message
from app.services.integrations.zendesk import clean_subdomain
from tests.support.fake_zendesk import FakeZendesk


def _first_org(zd) -> int:
    return next(iter(zd.organizations))


def test_base_url_is_derived_from_the_subdomain_however_it_was_typed(zd):
    for typed in ("acme", "acme.zendesk.com", "https://acme.zendesk.com/", "ACME.zendesk.com"):
        assert clean_subdomain(typed).lower() == "acme"
    client = ZendeskClient(zd.credentials(subdomain="https://acme.zendesk.com"))
    assert client.base_url == "https://acme.zendesk.com/api/v2"


def test_the_auth_header_is_basic_email_slash_token(zd):
    zd.client().get_organization(_first_org(zd))
    expected = base64.b64encode(b"admin@msp.example/token:TOKENabc123").decode()
    assert zd.requests[-1].headers["Authorization"] == f"Basic {expected}"


def test_connection_test_names_the_user_and_role(zd):
    check = zd.client().test_connection()
    assert check.ok and check.message == "Connected to Zendesk fake as MSP Admin (admin)."


def test_a_wrong_token_is_an_auth_error_with_a_plain_message_and_no_secret(zd):
    client = zd.client(zd.credentials(api_token="WRONGtoken42"))
    with pytest.raises(IntegrationError) as caught:
        client.search_organizations("Cl")
    error = caught.value
    assert error.kind == "auth" and error.status == 401
    assert error.message.startswith("Zendesk refused the email and API token (401).")
    assert "WRONGtoken42" not in str(error) + repr(error) + str(error.detail)
    assert not client.test_connection().ok


def test_an_end_user_token_is_not_enough(zd):
    zd.add_user(None, name="Eve End", email="eve@client.example", role="end-user")
    zd.me = zd.users[max(zd.users)]
    check = zd.client().test_connection()
    assert not check.ok and "is an end user in Zendesk" in check.message


def test_the_fake_answers_an_anonymous_users_me_like_zendesk():
    with FakeZendesk(organizations=0) as fake:
        assert requests.get(f"{fake.base_url}/users/me").json()["user"]["id"] is None
        assert requests.get(f"{fake.base_url}/organizations").status_code == 401


def test_search_organizations_by_prefix(zd):
    zd.add_organization("Acme Widgets")
    client = zd.client()
    assert [o.name for o in client.search_organizations("acme")] == ["Acme Widgets"]
    assert len(client.search_organizations("")) == 3


def test_every_cursor_page_is_fetched_and_has_more_is_what_stops():
    with FakeZendesk(organizations=0) as fake:
        org = fake.add_organization("Big", users=250)
        result = fake.client().fetch_org_users(org["id"])
        pages = [r.args for r in fake.requests if r.path.endswith("/users")]
    assert result.pages == 3 and len(result.records) == 250
    assert pages[0] == {"page[size]": "100"}
    assert all("page[after]" in p for p in pages[1:])
    # the last page still carries links.next: the client stopped on meta.has_more = false
    assert len(pages) == 3


def test_agents_admins_suspended_and_inactive_users_are_skipped_and_counted(zd):
    org = zd.add_organization("Mixed", users=3, agents=2, admins=1, suspended=1, inactive=2)
    zd.add_user(org["id"], name="Sue Spended", role="agent", suspended=True)
    result = zd.client().fetch_org_users(org["id"], page_size=2)
    assert len(result.records) == 3
    assert result.skipped_counts == {"agent": 3, "admin": 1, "suspended": 1, "inactive": 2}
    assert "Sue Spended" in result.skipped_names("agent")
    assert result.summary() == ("Found 3 users in Mixed; skipped 1 admin, 3 agents, "
                                "2 inactive, 1 suspended.")


def test_an_empty_organization_gives_an_empty_result_and_the_message(zd):
    org = zd.add_organization("Empty Co")
    result = zd.client().fetch_org_users(org["id"])
    assert result.is_empty and result.account_name == "Empty Co"
    assert empty_message(ZENDESK, "Empty Co", 42) == (
        "The Zendesk organization Empty Co (id 42) has no users: Enlist imports the end users "
        "of the organization")


def test_a_429_with_a_text_body_is_honoured_once_and_reported(zd, clock):
    zd.throttle(1, retry_after="3")
    client = zd.client(policy=clock.policy(), on_wait=clock.on_wait)
    assert client.get_organization(_first_org(zd)).name == "Client 1 Ltd"
    assert clock.waits == [(3.0, "Zendesk rate limit")]
    assert zd.request_count == 2


def test_create_organization_on_a_taken_name_says_link_it_instead(zd):
    with pytest.raises(IntegrationError) as caught:
        zd.client().create_organization("client 1 LTD")
    assert caught.value.kind == "invalid" and caught.value.status == 422
    assert caught.value.message == ("An organization named client 1 LTD already exists in "
                                    "Zendesk: link it instead")


def test_create_organization_other_refusals_carry_zendesks_words(zd):
    client = zd.client()
    created = client.create_organization("New Co", external_id="CW-250")
    assert created.external_id == "CW-250"
    with pytest.raises(IntegrationError) as caught:
        client.create_organization("Other Co", external_id="cw-250")
    assert caught.value.message == ("Zendesk did not create the organization Other Co: "
                                    "External ID: has already been taken.")


def test_get_organization_that_does_not_exist_names_the_id(zd):
    with pytest.raises(IntegrationError) as caught:
        zd.client().get_organization(1)
    assert caught.value.kind == "not_found"
    assert caught.value.message == "Zendesk has no organization with id 1."


def test_the_fake_refuses_big_pages_and_deep_offsets_like_zendesk(zd):
    session = zd.client().http.session
    assert session.get(f"{zd.base_url}/users", params={"page[size]": 101}).status_code == 400
    deep = session.get(f"{zd.base_url}/users", params={"page": 101, "per_page": 100})
    assert deep.status_code == 400
    assert session.get(f"{zd.base_url}/users", params={"page": 2}).status_code == 200
    assert session.get(f"{zd.base_url}/tickets/1").status_code == 404
    assert "X-Rate-Limit-Remaining" in session.get(f"{zd.base_url}/users/me").headers


def test_a_next_link_to_another_host_is_not_followed(zd, monkeypatch):
    client = zd.client()
    org = _first_org(zd)
    real_get = client.http.get

    def foreign_next(url, **kwargs):
        body = real_get(url, **kwargs)
        if "users" in (body or {}):
            body["meta"]["has_more"] = True
            body["links"]["next"] = "https://evil.example/api/v2/users?page[after]=x"
        return body

    monkeypatch.setattr(client.http, "get", foreign_next)
    with pytest.raises(IntegrationError) as caught:
        client.fetch_org_users(org)
    assert caught.value.kind == "unexpected" and "evil.example" in caught.value.message
