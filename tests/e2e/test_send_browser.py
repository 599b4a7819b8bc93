"""A technician in a real browser sends 20 users to a real Samba DC and watches the progress reach 100%."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.jobs.support import accounts_in, configure_directory, make_users, start_worker, stop_worker
from tests.support.samba import delete_tree, fresh_ou, start_dc

pytestmark = [pytest.mark.browser, pytest.mark.samba]


@pytest.fixture(scope="module")
def samba_dc(tmp_path_factory):
    """A Samba AD DC for this module."""
    dc = start_dc(tmp_path_factory.mktemp("samba-browser"), ip=None)
    try:
        yield dc
    finally:
        dc.destroy()


@pytest.fixture
def worker(app, tmp_path):
    """A real worker process on the test database and Redis."""
    process = start_worker(app, log=tmp_path / "worker.log")
    yield process
    stop_worker(process)


@pytest.fixture
def technician_page(browser, live_server, make_operator):
    """A signed-in page that accepts confirmation dialogs (the suite's page fixture dismisses them)."""
    from tests.conftest import TEST_PASSWORD

    make_operator("admin@msp.example", role="admin")
    make_operator("tech@msp.example")
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.accept()))
    page.set_default_timeout(10_000)
    page.goto("/sign-in")
    page.fill("input[name=email]", "tech@msp.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/deployments/")
    yield page
    context.close()


def test_send_twenty_users_and_watch_the_progress_reach_100(technician_page, app, make_deployment, samba_dc,
                                                              worker, tmp_path):
    page = technician_page
    admin = samba_dc.admin_connection()
    ou = fresh_ou(admin, samba_dc.base_dn)
    try:
        deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, ou)
        make_users(deployment, 20)
        page.goto("/deployments/ACME/users/")
        page.click("button:has-text('Send all drafts (20)')")
        page.wait_for_url("**/cloud/sends/*")
        panel = page.locator("#send-progress")
        expect(panel.locator("progress")).to_have_attribute("max", "20")
        expect(panel).to_have_attribute("data-finished", "yes", timeout=60_000)
        expect(panel.locator("progress")).to_have_attribute("value", "20")
        expect(panel.locator(".percent")).to_have_text("100%")
        expect(panel.locator(".summary")).to_contain_text("20 users: 20 in cloud.")
        assert panel.get_attribute("hx-trigger") is None  # polling stopped
        page.click("button:has-text('Show passwords (once)')")
        expect(page.locator("#passwords td.secret")).to_have_count(20)
        assert page.dialogs == ["Show the initial passwords now? They are shown only once."]
        screenshot(page, "send-to-cloud-finished")
        assert len(accounts_in(admin, ou)) == 20
        page.goto("/deployments/ACME/users/?status=in_cloud")
        expect(page.locator("tr[id^=user-]")).to_have_count(20)
    finally:
        delete_tree(admin, ou)
        admin.unbind()
