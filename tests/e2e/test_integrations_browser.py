"""A technician links a deployment to its ConnectWise company and imports its contacts as draft users, in Chromium.

The local ConnectWise stand-in serves the documented API; a worker thread serves the imports queue (RQ's
SimpleWorker, JSON serializer) on the test app's Redis, as a worker process would.
"""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from app.services import queue
from app.services.integration_imports import accounts
from tests.e2e.conftest import screenshot
from tests.support.fake_connectwise import FakeConnectWise

pytestmark = pytest.mark.browser


class ThreadWorker(SimpleWorker):
    """SimpleWorker in a thread: signal handlers and SIGALRM belong to the main thread, a timer kills instead."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Leave the main thread's signals alone."""


@pytest.fixture
def app(app):
    """The suite's app, allowed to talk plain http to the stand-in on loopback."""
    app.config["ENLIST_INTEGRATIONS_PLAIN_HTTP"] = True
    return app


@pytest.fixture
def imports_worker(app):
    """Serve the imports queue in a thread while the test runs."""
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            with app.app_context():
                ThreadWorker(["imports"], connection=queue.connection(), serializer=JSONSerializer) \
                    .work(burst=True, logging_level="WARNING")
            stop.wait(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(15)


def contact(first: str, last: str, phone: str, mobile: str, *, inactive: bool = False) -> dict:
    """A contact with a default email, a default Direct phone with an extension, and a mobile."""
    email = f"{first.lower()}.{last.lower()}@acmedental.example"

    def item(type_id, name, value, kind, default, extension=None):
        return {"id": type_id, "type": {"id": type_id, "name": name}, "value": value, "extension": extension,
                "defaultFlag": default, "communicationType": kind}

    return {"firstName": first, "lastName": last, "title": "Dentist", "inactiveFlag": inactive,
            "department": {"id": 1, "name": "Clinic"}, "site": {"id": 1, "name": "Downtown"},
            "communicationItems": [item(1, "Email", email, "Email", True),
                                   item(2, "Direct", phone, "Phone", True, "12"),
                                   item(4, "Mobile", mobile, "Phone", False)]}


@pytest.fixture
def cw():
    """ConnectWise with an unrelated client and Acme Dental Group: three active contacts and one inactive."""
    fake = FakeConnectWise(companies=1, contacts_per_company=4).start()
    company = fake.add_company("Acme Dental Group", identifier="AcmeDental")
    for first, last, phone, mobile in (("Ann", "Lee", "(555) 123-4567", "555 0100"),
                                       ("Bo", "Ray", "555-222-3333", "555 0101"),
                                       ("Cy", "Day", "555.777.8888", "555 0102")):
        fake.add_contact(company["id"], **contact(first, last, phone, mobile))
    fake.add_contact(company["id"], **contact("Old", "Timer", "5550000000", "", inactive=True))
    yield fake
    fake.stop()


def test_link_a_deployment_then_import_its_connectwise_contacts_as_drafts(signed_in_page, make_deployment, cw,
                                                                          imports_worker):
    page = signed_in_page
    make_deployment("ACME", "Acme Dental", upn_suffix="acmedental.example")
    accounts.save_account(None, "connectwise", "ConnectWise", {
        "site": f"http://{cw.host}", "company_id": cw.company_id, "public_key": cw.public_key,
        "client_id": cw.client_id}, cw.private_key, "tests")

    page.goto("/deployments/ACME")
    expect(page.locator("#client-links")).to_contain_text("not linked")
    page.click("#client-links a[title^='Export']")
    page.wait_for_url("**/deployments/ACME/integrations/")
    panel = page.locator("#provider-connectwise")
    panel.locator("input[name=q]").fill("Acme")
    panel.locator("button[aria-label='Link Acme Dental Group']").click()
    expect(page.locator("#provider-connectwise[data-linked=yes]")).to_contain_text("Acme Dental Group")
    page.goto("/deployments/ACME")
    expect(page.locator("#client-links dd[data-provider=connectwise]")).to_contain_text("linked Acme Dental Group")

    page.goto("/deployments/ACME/users/")
    page.hover(".add-button")
    page.click("text=Import from ConnectWise")
    page.click("button:has-text('Fetch contacts from ConnectWise')")
    page.wait_for_url("**/integrations/fetches/*")
    expect(page.locator(".field-matching")).to_contain_text(
        "Found 3 contacts in Acme Dental Group; skipped 1 inactive.", timeout=15_000)
    expect(page.locator("#map-phone")).to_have_value("phone:default")
    expect(page.locator("#map-email")).to_have_value("email:default")
    expect(page.locator("#mapping-preview")).to_contain_text("(555) 123-4567")
    page.select_option("#map-phone", "item:Mobile")
    expect(page.locator("#mapping-preview")).to_contain_text("555 0100")
    page.select_option("#map-phone", "phone:default")
    expect(page.locator("#mapping-preview")).to_contain_text("(555) 123-4567")
    screenshot(page, "integrations-field-matching")

    page.click("button:has-text('Review 3 people')")
    page.wait_for_url("**/deployments/ACME/imports/*")
    expect(page.locator("main")).to_contain_text("Left out 1 inactive contact (Old Timer).")
    expect(page.locator("#batch-counts")).to_contain_text("3 rows")
    fix_all = page.locator("button:has-text('Apply the suggested fix to all')")
    for _ in range(4):
        if fix_all.count() == 0:
            break
        fix_all.first.click()
        page.wait_for_load_state()
    expect(page.locator("#batch-counts")).to_contain_text("0 with errors")
    screenshot(page, "integrations-import-preview")
    page.click("#commit-button")
    page.wait_for_url("**/deployments/ACME/users/")
    expect(page.locator(".flash")).to_contain_text("3 users imported as drafts")
    body = page.locator("#users-body")
    for name in ("Ann Lee", "Bo Ray", "Cy Day"):
        expect(body).to_contain_text(name)
    expect(body).to_contain_text("5551234567")
    expect(body).not_to_contain_text("Old Timer")
    assert page.dialogs == []
