"""Discovery in Chromium: from the agent and from a network run to the entries in the Catalog.

The agent is the real Python agent run as a subprocess with the token the page showed once. Network
discovery reads a second Samba AD DC (the client's domain, seeded with 2,000 accounts); a worker thread
serves the discovery queue (RQ's SimpleWorker, JSON serializer) on the test app's Redis.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from app.services import queue
from tests.discovery import seed
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser
AGENT = Path(__file__).resolve().parents[2] / "app" / "agent" / "enlist_agent.py"


class ThreadWorker(SimpleWorker):
    """SimpleWorker in a thread: signal handlers and SIGALRM belong to the main thread, a timer kills instead."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Leave the main thread's signals alone."""


@pytest.fixture
def discovery_worker(app):
    """Serve the discovery queue in a thread while the test runs."""
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            with app.app_context():
                ThreadWorker(["discovery"], connection=queue.connection(), serializer=JSONSerializer) \
                    .work(burst=True, logging_level="WARNING")
            stop.wait(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(15)


@pytest.fixture(scope="module")
def client_domain(tmp_path_factory):
    """The client's existing domain: the seeded Samba AD DC."""
    dc = seed.start_seeded_dc(tmp_path_factory.mktemp("client-domain"))
    yield dc
    dc.destroy()


def run_agent(live_server: str, token: str, folder: Path) -> dict:
    """The agent, unattended, as the Linux user zoe (a stand-in getent knows her); its JSON answer."""
    (folder / "bin").mkdir(exist_ok=True)
    getent = folder / "bin" / "getent"
    getent.write_text("#!/bin/sh\necho 'zoe:x:1001:1001:Zoë Ångström,Leeds 2,555 0100,,zoe@acme.example:/:/bin/sh'\n")
    getent.chmod(getent.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "USER": "zoe", "PATH": f"{folder / 'bin'}:{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, str(AGENT), "--url", live_server, "--yes", "--json"],
                          env={**env, "ENLIST_TOKEN": token}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def post_records(live_server: str, token: str, records: list[dict]) -> dict:
    """What a script or an agent's --network run sends: a batch of records."""
    request = urllib.request.Request(f"{live_server}/api/v1/discovery", method="POST",  # noqa: S310 - http://127.0.0.1
                                     data=json.dumps({"records": records}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


def test_a_token_made_on_the_page_lets_the_agent_fill_the_catalog(signed_in_page, make_deployment, live_server,
                                                                   tmp_path):
    page = signed_in_page
    make_deployment("ACME", "Acme Dental")
    page.goto("/deployments/ACME")
    expect(page.locator("#discovery-panel")).to_contain_text("0 active")
    page.click("#discovery-panel a:has-text('Open Discovery')")
    page.wait_for_url("**/deployments/ACME/discovery/")
    page.fill("#discovery-tokens input[name=name]", "Leeds office PCs")
    page.click("#discovery-tokens button:has-text('Create a token')")
    token = page.locator("#new-discovery-token").input_value()
    assert token.startswith("end_")
    expect(page.locator("#discovery-tokens tbody")).to_contain_text("Leeds office PCs")

    assert run_agent(live_server, token, tmp_path)["counts"]["created"] == 1
    guids = [f"3f2504e0-4f89-11d3-9a0c-{n:012x}" for n in range(12)]
    answer = post_records(live_server, token, [
        {"source": "network", "source_key": g, "first_name": "Ann", "last_name": f"Lee{n}", "department": "Sales",
         "email": f"ann.lee{n}@acme.example", "username": f"alee{n}",
         "phone": f"(555) 000-{n:04d}" if n in (1, 10, 11) else f"555000{n:04d}"} for n, g in enumerate(guids)])
    assert answer["counts"]["created"] == 12

    page.reload()
    expect(page.locator("#discovery-tokens tr[data-state=active]")).to_contain_text("2")  # requests made
    page.goto("/deployments/ACME/catalog/")
    table = page.locator("#catalog-table")
    expect(table).to_contain_text("Zoë Ångström")
    expect(table).to_contain_text("Ann Lee11")
    page.select_option("select[name=source]", "pc")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Zoë Ångström")
    expect(table).not_to_contain_text("Ann Lee")
    page.select_option("select[name=source]", "")
    page.fill("#catalog-search", "lee1")
    expect(table.locator("tbody tr")).to_have_count(3)  # Lee1, Lee10, Lee11
    page.check("#catalog-selection input[data-select-all=entry]")
    expect(page.locator("[data-selected-count=entry]")).to_have_text("3")
    page.uncheck("#catalog-selection tbody input[name=entry] >> nth=0")
    expect(page.locator("[data-selected-count=entry]")).to_have_text("2")
    screenshot(page, "discovery-catalog-selection")

    # The two chosen entries go through the import preview: a digit in a last name and a phone with
    # parentheses are flagged as in a spreadsheet, and the suggested fixes clear them.
    page.click("#catalog-selection button:has-text('Import selected')")
    page.wait_for_url("**/imports/*")
    counts = page.locator("#batch-counts")
    expect(counts).to_contain_text("2 rows")
    expect(page.locator(".import-rows .triangle")).to_have_count(2)
    fix_all = page.locator("button:has-text('Apply the suggested fix to all 2 rows like it')")
    expect(fix_all).to_have_count(2)
    fix_all.first.click()
    expect(fix_all).to_have_count(1)
    fix_all.click()
    expect(counts).to_contain_text("0 with errors")
    page.click("#commit-button")
    page.wait_for_url("**/deployments/ACME/users/")
    expect(page.locator(".flash")).to_contain_text("2 users imported as drafts")
    expect(page.locator("#users-body tr")).to_have_count(2)
    expect(page.locator("#users-body .badge-draft")).to_have_count(2)
    expect(page.locator("#users-body")).to_contain_text("555000001")

    # Back in the Catalog, those two are flagged and cannot be chosen again.
    page.goto("/deployments/ACME/catalog/")
    expect(page.locator("#catalog-table .badge:has-text('imported')")).to_have_count(2)
    expect(page.locator("#catalog-table input[name=entry]:disabled")).to_have_count(2)
    expect(page.locator("#catalog-selection")).to_contain_text("Import all not yet imported (11)")
    assert page.dialogs == []


def test_network_discovery_from_the_page_lists_the_domains_people_in_the_catalog(
        signed_in_page, make_deployment, client_domain, discovery_worker):
    page = signed_in_page
    dc = client_domain
    make_deployment("ACME", "Acme Dental")
    page.goto("/deployments/ACME/discovery/")
    section = page.locator("#network-discovery")
    section.locator("input[name=ldaps_url]").fill(dc.url)
    section.locator("input[name=search_base]").fill(f"{seed.OU},{dc.base_dn}")
    section.locator("input[name=bind_user]").fill(dc.admin_upn)
    section.locator("input[name=bind_password]").fill(dc.admin_password)
    section.locator("input[name=tls_server_name]").fill(dc.tls_name)
    section.locator("textarea[name=ca_cert]").fill(dc.ca_pem)
    section.locator("button:has-text('Save settings')").click()
    expect(page.locator("#network-discovery")).to_contain_text("Network discovery settings saved.")
    page.locator("#network-discovery button:has-text('Test connection')").click()
    expect(page.locator("#network-discovery")).to_contain_text("the search base exists")
    page.locator("#network-discovery button:has-text('Run discovery')").click()
    run = page.locator("#network-discovery tr.discovery-run").first
    expect(run).to_have_attribute("data-state", "finished", timeout=30_000)
    expect(run).to_contain_text(f"{seed.PEOPLE:,}")
    skipped = page.locator("#network-discovery .skip-rules")
    page.reload()
    expect(skipped.locator("tr[data-rule=disabled] td.n")).to_have_text(str(seed.DISABLED))
    expect(skipped.locator("tr[data-rule=service] td.n")).to_have_text(str(seed.SERVICE_NAMED + seed.SERVICE_SPN))
    expect(skipped.locator("tr[data-rule=computer] td.n")).to_have_text(str(seed.COMPUTERS))
    screenshot(page, "discovery-network-run")

    page.goto("/deployments/ACME")
    expect(page.locator("#discovery-panel")).to_contain_text(f"{seed.PEOPLE} new")
    page.goto("/deployments/ACME/catalog/?source=network")
    expect(page.locator("#catalog-table")).to_contain_text(f"{seed.PEOPLE} in all")
    page.fill("#catalog-search", "zoë")  # SQLite lower() folds ASCII only: "Ångström" would not match
    expect(page.locator("#catalog-table")).to_contain_text("Zoë Ångström")
    expect(page.locator("#catalog-table tbody input[name=entry]").first).to_be_visible()
    assert page.dialogs == []
