"""The Discovery page: tokens shown once, rotated and revoked; the configured agent downloads; the network
discovery settings and runs; the dashboard's discovery panel."""

from __future__ import annotations

import re

import sqlalchemy as sa
from rq.job import Job
from rq.serializers import JSONSerializer

from app.extensions import db
from app.models import AuditEvent, CatalogEntry, DiscoveryRun, DiscoveryToken, NetworkSource
from app.services import discovery, queue
from app.services import network_discovery_runs as runs
from tests.discovery.conftest import bearer, pc_record

PAGE = "/deployments/ACME/discovery/"


def shown_token(html: str) -> str:
    """The token a response shows once."""
    match = re.search(r'id="new-discovery-token" class="mono wide" readonly value="(end_[^"]+)"', html)
    assert match, "no token shown"
    return match.group(1)


def test_a_token_is_created_shown_once_and_works(client, auth, technician, deployment):
    answer = auth.htmx("POST", PAGE + "tokens", {"name": "RMM roll-out"}, page=PAGE, target="discovery-tokens")
    assert answer.status_code == 200 and "<html" not in answer.get_data(as_text=True)
    token = shown_token(answer.get_data(as_text=True))
    row = db.session.scalar(sa.select(DiscoveryToken))
    assert (row.name, row.hint, row.created_by) == ("RMM roll-out", token[:8], technician.email)
    assert row.token_digest != token and token not in client.get(PAGE).get_data(as_text=True)
    assert client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(token)).status_code == 200
    page = client.get(PAGE).get_data(as_text=True)
    assert "RMM roll-out" in page and token[:8] in page and ">1</td>" in page  # used once


def test_rotate_replaces_a_token_and_revoke_stops_it(client, auth, technician, deployment):
    old_row, old = discovery.issue_token(deployment, "Leeds PCs", "tests")
    rotated = auth.htmx("POST", f"{PAGE}tokens/{old_row.id}/rotate", page=PAGE, target="discovery-tokens")
    new = shown_token(rotated.get_data(as_text=True))
    assert new != old and client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(old)).status_code == 401
    assert client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(new)).status_code == 200
    new_row = db.session.scalar(sa.select(DiscoveryToken).where(DiscoveryToken.revoked_at.is_(None)))
    assert new_row.name == "Leeds PCs"
    revoked = auth.htmx("POST", f"{PAGE}tokens/{new_row.id}/revoke", page=PAGE, target="discovery-tokens")
    assert revoked.status_code == 200 and 'data-state="active"' not in revoked.get_data(as_text=True)
    assert client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(new)).status_code == 401
    again = auth.htmx("POST", f"{PAGE}tokens/{new_row.id}/rotate", page=PAGE, target="discovery-tokens")
    assert again.status_code == 422 and "already revoked" in again.get_data(as_text=True)
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"discovery_token.issue", "discovery_token.revoke"} <= actions


def test_tokens_of_another_deployment_cannot_be_touched(client, auth, technician, deployment, make_deployment):
    other = make_deployment("BETA", "Beta Law")
    row, _ = discovery.issue_token(other, "theirs", "tests")
    answer = auth.htmx("POST", f"{PAGE}tokens/{row.id}/revoke", page=PAGE, target="discovery-tokens")
    assert answer.status_code == 404
    db.session.refresh(row)
    assert row.revoked_at is None


def test_the_downloaded_agents_carry_the_portal_address_and_a_fresh_token(app, client, auth, technician, deployment):
    python = auth.post(PAGE + "agent/python", page=PAGE)
    assert python.status_code == 200
    assert python.headers["Content-Disposition"] == 'attachment; filename="enlist_agent.py"'
    source = python.get_data(as_text=True)
    config = re.search(r'^CONFIG = \{"portal_url": "([^"]*)", "token": "(end_[^"]+)", "deployment": "ACME"\}', source,
                       re.MULTILINE)
    assert config and config.group(1) == "http://localhost"
    assert client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(config.group(2))).status_code == 200
    app.config["ENLIST_PUBLIC_URL"] = "https://enlist.msp.example/"
    powershell = auth.post(PAGE + "agent/powershell", page=PAGE)
    text = powershell.get_data(as_text=True)
    assert powershell.headers["Content-Disposition"] == 'attachment; filename="enlist-agent.ps1"'
    assert "$Config = @{ PortalUrl = 'https://enlist.msp.example'; Token = 'end_" in text
    names = [t.name for t in discovery.list_tokens(deployment)]
    assert names == [f"{kind} agent downloaded by {technician.email}" for kind in ("Powershell", "Python")]
    assert auth.post(PAGE + "agent/cobol", page=PAGE).status_code == 404


def test_network_settings_are_checked_saved_and_the_password_kept(client, auth, technician, deployment):
    form = {"ldaps_url": "ldap://dc1.client.local", "bind_user": "read@client.local", "bind_password": "S3cret-pw",
            "search_base": "DC=client,DC=local", "verify_tls": "y", "skip_builtin": "y", "skip_service": "y",
            "skip_disabled": "y", "service_patterns": "svc*\n*_svc"}
    refused = auth.htmx("POST", PAGE + "network", form, page=PAGE, target="network-discovery")
    assert refused.status_code == 422 and "ldaps://" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(NetworkSource)) is None
    saved = auth.htmx("POST", PAGE + "network", {**form, "ldaps_url": "ldaps://dc1.client.local"}, page=PAGE,
                      target="network-discovery")
    assert saved.status_code == 200 and "settings saved" in saved.get_data(as_text=True)
    source = db.session.scalar(sa.select(NetworkSource))
    secret = source.bind_secret
    assert "S3cret-pw" not in secret and source.pattern_list == ["svc*", "*_svc"]
    auth.htmx("POST", PAGE + "network", {**form, "ldaps_url": "ldaps://dc2.client.local", "bind_password": "",
                                          "skip_disabled": ""}, page=PAGE, target="network-discovery")
    db.session.refresh(source)
    assert (source.ldaps_url, source.bind_secret, source.skip_disabled) == ("ldaps://dc2.client.local", secret, False)
    page = client.get(PAGE).get_data(as_text=True)
    assert "S3cret-pw" not in page and "(saved)" in page and 'data-rule="computer"' in page


def test_run_queues_a_job_and_its_row_polls_until_final(client, auth, technician, deployment):
    runs.save_source(deployment, "tests", ldaps_url="ldaps://127.0.0.1:1", bind_user="read@client.local",
                     bind_password="pw-123456", search_base="DC=client,DC=local")
    answer = auth.htmx("POST", PAGE + "network/runs", {"full": "1"}, page=PAGE, target="network-discovery")
    html = answer.get_data(as_text=True)
    run = db.session.scalar(sa.select(DiscoveryRun))
    assert answer.status_code == 200 and run.full_requested and f'id="discovery-run-{run.id}"' in html
    assert 'hx-trigger="every 1s"' in html
    job = Job.fetch(run.job_id, connection=queue.connection(), serializer=JSONSerializer)
    assert list(job.args) == [run.id]
    job.delete()
    row = client.get(f"{PAGE}network/runs/{run.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-state="failed"' in row and "was lost" in row and "every 1s" not in row


def test_the_dashboard_panel_offers_the_agents_and_shows_the_last_run(client, technician, deployment, post):
    post(pc_record(1))
    run = DiscoveryRun(deployment_id=deployment.id, state="finished", mode="full", read=12, created=10, skipped=2,
                       job_id="x", skipped_by_rule={}, rejected_details=[])
    db.session.add(run)
    db.session.commit()
    page = client.get("/deployments/ACME").get_data(as_text=True)
    panel = page[page.index('id="discovery-panel"'):]
    assert "1 active" in panel and 'data-agent="python"' in panel and 'data-agent="powershell"' in panel
    assert "not set up" in panel and "12 read, 10 new" in panel


def test_the_catalog_offers_a_selection_of_entries_and_shows_missing_ones(client, technician, deployment, post):
    post([pc_record(1), pc_record(2)])
    entries = {e.source_key[-4:]: e for e in db.session.scalars(sa.select(CatalogEntry))}
    entries["1002"].missing_since = entries["1002"].last_seen
    db.session.commit()
    page = client.get("/deployments/ACME/catalog/").get_data(as_text=True)
    form = page[page.index('<form id="catalog-selection"'):page.index("</form>", page.index('id="catalog-selection"'))]
    boxes = re.findall(r'<input type="checkbox" name="entry" value="(\d+)"', form)
    assert sorted(map(int, boxes)) == sorted(e.id for e in entries.values())
    assert 'data-select-all="entry"' in form and 'name="csrf_token"' in form and "not found since" in form
    fragment = client.get("/deployments/ACME/catalog/?q=lee2", headers={"HX-Request": "true",
                                                                         "HX-Target": "catalog-table"})
    assert re.findall(r'name="entry" value="(\d+)"', fragment.get_data(as_text=True)) == [str(entries["1002"].id)]
