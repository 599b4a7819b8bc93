"""Export a deployment: find and link its ConnectWise company or Zendesk organization, or create it."""

from __future__ import annotations

import html
import re

from app.services.integration_imports import links

LINKS = "/deployments/ACME/integrations/"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_the_dashboard_pencil_leads_to_the_export_page_which_says_when_no_account_is_set_up(client, technician,
                                                                                           acme):
    dashboard = text_of(client.get("/deployments/ACME"))
    assert f'href="{LINKS}"' in dashboard and "Client in ConnectWise and Zendesk" in dashboard
    assert dashboard.count("not linked") == 2
    page = text_of(client.get(LINKS))
    assert "No ConnectWise account is set up yet: an admin adds one under Integrations." in page


def test_search_then_link_a_connectwise_company_shows_it_linked_with_a_link_to_it(client, auth, technician, acme,
                                                                                  cw_account, cw):
    results = text_of(auth.htmx("GET", LINKS + "connectwise/search?q=client%202", page=LINKS))
    assert "Client 2 Ltd" in results and "Client 1 Ltd" not in results
    assert cw.requests[-1].args["conditions"] == 'name like "client 2%" or identifier like "client 2%"'
    company = next(c for c in cw.companies.values() if c["name"] == "Client 2 Ltd")
    response = auth.htmx("POST", LINKS + "connectwise/link", {"account_id": cw_account.id, "remote_id": company["id"]},
                         page=LINKS)
    assert response.status_code == 200
    panel = text_of(response)
    assert 'data-linked="yes"' in panel and "Client 2 Ltd" in panel and f"(id {company['id']}, Client2Ltd" in panel
    url = (f"http://{cw.host}/v4_6_release/services/system_io/router/openrecord.rails?locale=en_US&"
           f"recordType=CompanyFV&recid={company['id']}")
    assert links.link_for(acme, "connectwise").remote_url == url
    dashboard = text_of(client.get("/deployments/ACME"))
    assert "linked" in dashboard and f'href="{url}"' in dashboard and "Client 2 Ltd" in dashboard


def test_linking_an_unknown_company_says_so(auth, technician, acme, cw_account):
    response = auth.htmx("POST", LINKS + "connectwise/link", {"remote_id": 999}, page=LINKS)
    assert response.status_code == 422
    assert "ConnectWise has no company with id 999." in text_of(response)
    assert links.link_for(acme, "connectwise") is None


def test_creating_the_connectwise_company_needs_an_address_then_creates_and_links_it(auth, technician, acme,
                                                                                     cw_account, cw):
    form = {"name": "Acme Dental", "identifier": "ACME", "address_line1": "", "city": ""}
    response = auth.htmx("POST", LINKS + "connectwise/create", form, page=LINKS)
    assert response.status_code == 422
    assert "ConnectWise needs an address for a new company: fill in the address or the city." in text_of(response)
    response = auth.htmx("POST", LINKS + "connectwise/create", {**form, "city": "Springfield"}, page=LINKS)
    assert response.status_code == 200 and 'data-linked="yes"' in text_of(response)
    created = next(c for c in cw.companies.values() if c["identifier"] == "ACME")
    assert created["name"] == "Acme Dental" and created["city"] == "Springfield"
    link = links.link_for(acme, "connectwise")
    assert link.remote_id == str(created["id"]) and link.created


def test_connectwise_refuses_a_taken_identifier_in_its_own_words(auth, technician, acme, cw_account):
    response = auth.htmx("POST", LINKS + "connectwise/create",
                         {"name": "Acme", "identifier": "Client1Ltd", "city": "Springfield"}, page=LINKS)
    assert response.status_code == 422
    assert "ConnectWise did not create the company Acme: The identifier Client1Ltd is already in use." \
        in text_of(response)


def test_zendesk_422_for_a_taken_organization_name_is_shown_plainly(auth, technician, acme, zd_account, zd):
    response = auth.htmx("POST", LINKS + "zendesk/create", {"name": "Client 1 Ltd"}, page=LINKS)
    assert response.status_code == 422
    assert "An organization named Client 1 Ltd already exists in Zendesk: link it instead" in text_of(response)
    assert links.link_for(acme, "zendesk") is None


def test_creating_a_zendesk_organization_from_the_deployment_links_it(auth, technician, acme, zd_account, zd):
    response = auth.htmx("POST", LINKS + "zendesk/create", {"name": ""}, page=LINKS)
    assert response.status_code == 200
    org = next(o for o in zd.organizations.values() if o["name"] == "Acme Dental")
    assert org["external_id"] == "enlist-ACME"
    link = links.link_for(acme, "zendesk")
    assert link.remote_url == f"http://{zd.host}/agent/organizations/{org['id']}"


def test_search_zendesk_organizations_and_unlink(auth, technician, acme, zd_account, zd):
    results = text_of(auth.htmx("GET", LINKS + "zendesk/search?q=Client", page=LINKS))
    assert "Client 1 Ltd" in results and "Client 2 Ltd" in results
    org_id = next(iter(zd.organizations))
    auth.htmx("POST", LINKS + "zendesk/link", {"remote_id": org_id}, page=LINKS)
    assert links.link_for(acme, "zendesk").remote_id == str(org_id)
    response = auth.htmx("POST", LINKS + "zendesk/unlink", page=LINKS)
    assert 'data-linked="no"' in text_of(response) and links.link_for(acme, "zendesk") is None


def test_a_search_with_a_wrong_key_says_so_plainly(auth, technician, acme, cw_account, cw):
    cw.private_key = "rotated-elsewhere"
    results = text_of(auth.htmx("GET", LINKS + "connectwise/search?q=Client", page=LINKS))
    assert "ConnectWise refused the API keys (401)." in results


def test_pages_without_htmx_redirect_back_with_the_message(client, auth, technician, acme, zd_account):
    response = auth.post(LINKS + "zendesk/create", {"name": "Client 1 Ltd"}, page=LINKS)
    assert response.status_code == 303
    assert "already exists in Zendesk: link it instead" in text_of(client.get(LINKS))
