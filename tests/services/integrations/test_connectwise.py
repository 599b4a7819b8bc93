"""The ConnectWise client against the local stand-in that follows the documented contract."""

from __future__ import annotations

import base64

import pytest

from app.services.integrations import CONNECTWISE, IntegrationError, empty_message
from app.services.integrations.connectwise import condition_string
from tests.support.fake_connectwise import FakeConnectWise


def test_codebase_is_discovered_from_companyinfo_and_used_in_the_base_url(cw):
    client = cw.client()
    assert client.codebase is None
    assert client.base_url == f"http://{cw.host}/v4_6_release/apis/3.0"
    assert cw.requests[0].path == "/login/companyinfo/enlistmsp"
    assert "Authorization" not in cw.requests[0].headers  # the keys are not sent to it


def test_an_explicit_codebase_skips_discovery_and_slashes_are_normalised(cw):
    client = cw.client(cw.credentials(codebase="/v4_6_release"))
    assert client.get_company(250).name == "Client 1 Ltd"
    assert [r.path for r in cw.requests] == ["/v4_6_release/apis/3.0/company/companies/250"]


def test_an_unknown_company_id_at_the_login_is_said_plainly(cw):
    check = cw.client(cw.credentials(company_id="nosuchmsp")).test_connection()
    assert not check.ok and check.kind == "not_found"
    assert "does not know the company id 'nosuchmsp'" in check.message


def test_the_auth_header_is_basic_company_plus_public_key_and_client_id_is_sent(cw):
    cw.client().get_company(250)
    headers = cw.requests[-1].headers
    expected = base64.b64encode(b"enlistmsp+PUBLICkey123:PRIVATEkey456").decode()
    assert headers["Authorization"] == f"Basic {expected}"
    assert headers["Clientid"] == cw.client_id


def test_connection_test_reports_success_in_plain_words(cw):
    check = cw.client().test_connection()
    assert check.ok
    assert check.message == (f"Connected to ConnectWise at {cw.host} (codebase v4_6_release): "
                             "2 companies visible.")


def test_a_missing_client_id_is_refused(cw):
    check = cw.client(cw.credentials(client_id="")).test_connection()
    assert not check.ok and check.kind == "auth"
    assert "clientId is missing or not valid" in check.message


def test_a_wrong_private_key_is_an_auth_error_with_a_plain_message_and_no_secret(cw):
    client = cw.client(cw.credentials(private_key="WRONGsecret99"))
    with pytest.raises(IntegrationError) as caught:
        client.search_companies("Client")
    error = caught.value
    assert error.kind == "auth" and error.status == 401
    assert error.message == ("ConnectWise refused the API keys (401). Check the public and "
                             "private key and the company id.")
    for text in (str(error), repr(error), error.detail or ""):
        assert "WRONGsecret99" not in text and "PUBLICkey123" not in text


def test_search_finds_companies_by_name_or_identifier_prefix(cw):
    cw.add_company("Acme Widgets", identifier="ACMEW")
    cw.add_company("Zed's \"Best\" Ltd", identifier="ZED")
    client = cw.client()
    assert [c.name for c in client.search_companies("acme")] == ["Acme Widgets"]
    assert [c.identifier for c in client.search_companies("Zed's \"B")] == ["ZED"]
    assert len(client.search_companies("")) == 4
    assert condition_string('a"b\\c') == '"a\\"b\\\\c"'


def test_get_company_that_does_not_exist_names_the_id(cw):
    with pytest.raises(IntegrationError) as caught:
        cw.client().get_company(9999)
    assert caught.value.kind == "not_found"
    assert caught.value.message == "ConnectWise has no company with id 9999."


def test_create_company_returns_the_new_company(cw):
    company = cw.client().create_company("ACME", "Acme Inc", "1 Road", "Springfield")
    assert company.identifier == "ACME" and company.id in cw.companies


def test_create_company_validation_error_is_surfaced_in_connectwise_words(cw):
    with pytest.raises(IntegrationError) as caught:
        cw.client().create_company("X" * 31, "Acme Inc")
    error = caught.value
    assert error.kind == "invalid" and error.status == 400
    assert error.message == (
        "ConnectWise did not create the company Acme Inc: The field identifier must be a string "
        "with a maximum length of 30. An address is required: addressLine1, city, state or zip.")


def test_every_page_is_fetched_over_link_headers():
    with FakeConnectWise(companies=0) as fake:
        company = fake.add_company("Big Co", contacts=2500)
        progress = []
        result = fake.client().fetch_contacts(company["id"], on_progress=lambda *a: progress.append(a))
        pages = [r.args for r in fake.requests if r.path.endswith("/company/contacts")]
    assert result.pages == 3 and len(result.records) == 2500
    assert [p["page"] for p in pages] == ["1", "2", "3"]
    assert all(p["pageSize"] == "1000" for p in pages)
    assert progress == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert len({c["id"] for c in result.records}) == 2500


def test_page_size_above_1000_is_capped_by_the_client_and_the_server(cw):
    company = cw.add_company("Wide", contacts=30)
    result = cw.client().fetch_contacts(company["id"], page_size=5000)
    assert result.pages == 1 and len(result.records) == 30
    assert cw.requests[-1].args["pageSize"] == "1000"


def test_inactive_contacts_are_skipped_counted_and_named(cw):
    company = cw.add_company("Mixed", contacts=0)
    cw.add_contact(company["id"], firstName="Ann", lastName="Active")
    cw.add_contact(company["id"], firstName="Ivan", lastName="Gone", inactiveFlag=True)
    result = cw.client().fetch_contacts(company["id"], page_size=1)
    assert [c["firstName"] for c in result.records] == ["Ann"]
    assert result.skipped_counts == {"inactive": 1}
    assert result.skipped_names("inactive") == ["Ivan Gone"]
    assert result.summary() == "Found 1 contact in Mixed; skipped 1 inactive."


def test_a_company_without_contacts_gives_an_empty_result_and_the_message(cw):
    company = cw.add_company("Acme", contacts=0)
    result = cw.client().fetch_contacts(company["id"])
    assert result.is_empty and result.records == [] and result.pages == 1
    assert (result.provider, result.account_id, result.account_name) == \
        (CONNECTWISE, company["id"], "Acme")
    assert empty_message(CONNECTWISE, "Acme", 250) == (
        "The ConnectWise company Acme (id 250) has no contacts: Enlist imports from the "
        "Contacts of the company")
    assert result.summary().startswith(f"The ConnectWise company Acme (id {company['id']})")


def test_a_429_is_honoured_once_and_the_wait_reported(cw, clock):
    client = cw.client(policy=clock.policy(), on_wait=clock.on_wait)
    client.discover_codebase()
    cw.throttle(1, retry_after="3")
    assert client.get_company(250).id == 250
    assert clock.waits == [(3.0, "ConnectWise rate limit")]
    assert clock.sleeps == [3.0]


def test_the_fake_rejects_what_connectwise_rejects(cw):
    import requests

    client = cw.client()
    base = client.base_url
    session = client.http.session
    assert session.get(f"{base}/nothing/here").status_code == 404
    bad = session.get(f"{base}/company/contacts", params={"conditions": "nosuchfield=1"})
    assert bad.status_code == 400 and "nosuchfield" in bad.json()["message"]
    assert requests.get(f"{base}/company/companies").status_code == 401  # no auth, no clientId
    found = session.get(f"{base}/company/companies",
                        params={"conditions": 'identifier="Client2Ltd"'}).json()
    assert [c["name"] for c in found] == ["Client 2 Ltd"]


def test_the_fake_announces_first_prev_next_last_links(cw):
    company = cw.add_company("Paged", contacts=7)
    client = cw.client()
    response = client.http.session.get(
        f"{client.base_url}/company/contacts",
        params={"conditions": f"company/id={company['id']}", "pageSize": 3, "page": 2})
    assert set(response.links) == {"first", "prev", "next", "last"}
    assert "page=3" in response.links["next"]["url"] and "page=3" in response.links["last"]["url"]

