"""Import users from ConnectWise and Zendesk: the fetch job, field matching, staging into the import preview."""

from __future__ import annotations

import html
import json
import re
import threading
import time

import pytest
import redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.extensions import db
from app.models import FetchState, ImportBatch, ImportRow, IntegrationFetch
from app.services import queue
from app.services.integration_imports import fetches, links

USERS = "/deployments/ACME/users/"
BASE = "/deployments/ACME/integrations/"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def company(fake, name: str = "Client 1 Ltd") -> dict:
    return next(c for c in fake.companies.values() if c["name"] == name)


def org(fake, name: str = "Client 1 Ltd") -> dict:
    return next(o for o in fake.organizations.values() if o["name"] == name)


@pytest.fixture
def cw_linked(acme, cw_account, cw):
    return links.link_remote(acme, cw_account, company(cw)["id"], "tests")


@pytest.fixture
def zd_linked(acme, zd_account, zd):
    return links.link_remote(acme, zd_account, org(zd)["id"], "tests")


def start(auth, provider: str) -> int:
    """Click Fetch on the import page; the fetch id from the redirect."""
    page = f"/deployments/ACME/{provider}/import"
    response = auth.post(f"{BASE}{provider}/fetch", page=page)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def selected(page: str) -> dict[str, str]:
    """The option selected in each map-<field> select of the matching screen."""
    found = {}
    for name, body in re.findall(r'<select id="map-(\w+)" name="map-\w+">(.*?)</select>', page, re.S):
        match = re.search(r'<option value="([^"]*)" selected>', body)
        found[name] = match.group(1) if match else ""
    return found


def test_the_plus_menu_entries_are_disabled_with_the_reason_until_the_deployment_is_linked(client, technician,
                                                                                          acme, cw_account, cw):
    page = client.get(USERS).get_data(as_text=True)
    assert 'data-source="connectwise" title="No ConnectWise company is linked to this deployment."' in page
    assert 'data-source="zendesk" title="No Zendesk organization is linked to this deployment."' in page
    links.link_remote(acme, cw_account, company(cw)["id"], "tests")
    page = client.get(USERS).get_data(as_text=True)
    assert 'href="/deployments/ACME/connectwise/import" data-source="connectwise"' in page
    assert 'data-source="zendesk" title="No Zendesk organization is linked' in page


def test_the_fetch_is_an_rq_job_on_the_imports_queue_with_the_fetch_id_only(app, auth, technician, cw_linked):
    fetch_id = start(auth, "connectwise")
    fetch = db.session.get(IntegrationFetch, fetch_id)
    assert fetch.state == FetchState.QUEUED and fetch.job_id == f"integration-fetch-{fetch_id}"
    job = Job.fetch(fetch.job_id, connection=queue.connection(), serializer=JSONSerializer)
    assert job.origin == "imports" and job.func_name == "app.jobs.integrations.fetch_people"
    assert job.args == (fetch_id,) or list(job.args) == [fetch_id]
    assert not job.kwargs


def test_fetch_progress_then_matching_screen_with_the_defaults(client, auth, technician, cw_linked, work):
    fetch_id = start(auth, "connectwise")
    page = text_of(client.get(f"{BASE}fetches/{fetch_id}"))
    assert "Waiting for a worker to start the fetch" in page and 'hx-trigger="every 1s"' in page
    work()
    fetch = db.session.get(IntegrationFetch, fetch_id)
    assert fetch.state == FetchState.FETCHED and fetch.fetched == 8 and fetch.total == 8
    assert len(fetch.records) == 6 and len(fetch.skipped) == 2
    poll = auth.htmx("GET", f"{BASE}fetches/{fetch_id}", page=USERS)
    body = poll.get_data(as_text=True)
    assert "every 1s" not in body and "Match the fields" in body  # polling stops: the screen replaces it
    assert "Found 6 contacts in Client 1 Ltd; skipped 2 inactive." in html.unescape(body)
    assert selected(body) == {"first_name": "firstName", "last_name": "lastName", "email": "email:default",
                              "username": "", "phone": "phone:default", "extension": "phone:default:extension",
                              "department": "department.name", "location": "site.name", "job_title": "title"}


def test_the_preview_follows_the_chosen_mapping(client, auth, technician, cw_linked, cw, work):
    fetch_id = start(auth, "connectwise")
    work()
    first = db.session.get(IntegrationFetch, fetch_id).records[0]
    args = "map-first_name=lastName&map-last_name=firstName&map-phone=item:Mobile&map-email=nonsense"
    preview = text_of(auth.htmx("GET", f"{BASE}fetches/{fetch_id}/preview?{args}", page=USERS))
    cells = re.findall(r"<td>(.*?)</td>", preview)
    assert cells[:5] == [first["lastName"], first["firstName"], "", "",
                         next(i["value"] for i in first["communicationItems"] if i["type"]["name"] == "Mobile")]


def stage(auth, fetch_id: int, mapping: dict | None = None, page: str = USERS):
    """Submit the matching screen with the selects as they are, changed by mapping."""
    screen = auth.client.get(f"{BASE}fetches/{fetch_id}").get_data(as_text=True)
    values = {f"map-{k}": v for k, v in {**selected(screen), **(mapping or {})}.items()}
    return auth.post(f"{BASE}fetches/{fetch_id}/stage", values, page=page)


def test_staging_goes_to_the_import_preview_with_source_keys_and_the_skipped_summary(client, auth, technician,
                                                                                      cw_linked, cw, work):
    fetch_id = start(auth, "connectwise")
    work()
    response = stage(auth, fetch_id)
    assert response.status_code == 303
    batch = db.session.scalar(db.select(ImportBatch))
    assert response.headers["Location"] == f"/deployments/ACME/imports/{batch.id}"
    assert batch.source == "connectwise" and batch.row_count == 6 and batch.filename == "ConnectWise Client 1 Ltd"
    assert batch.meta["skipped"] == {"inactive": 2} and batch.meta["mapping"]["email"] == "email:default"
    inactive = [c for c in cw.contacts.values() if c["inactiveFlag"] and c["company"]["name"] == "Client 1 Ltd"]
    names = [f"{c['firstName']} {c['lastName']}" for c in inactive]
    assert batch.meta["skipped_summary"] == f"Left out 2 inactive contacts ({names[0]}, {names[1]})."
    rows = db.session.scalars(db.select(ImportRow).order_by(ImportRow.row_number)).all()
    contact = db.session.get(IntegrationFetch, fetch_id)
    assert rows[0].source_key.startswith("connectwise:contact:") and contact.state == FetchState.STAGED
    preview = text_of(client.get(response.headers["Location"]))
    assert batch.meta["skipped_summary"] in preview and "ConnectWise Client 1 Ltd" in preview
    assert client.get(f"{BASE}fetches/{fetch_id}").headers["Location"].endswith(f"/imports/{batch.id}")
    again = stage(auth, fetch_id)  # a second click lands on the same batch
    assert again.headers["Location"] == response.headers["Location"]


def test_the_saved_mapping_is_offered_next_time(auth, technician, cw_linked, cw_account, work):
    fetch_id = start(auth, "connectwise")
    work()
    stage(auth, fetch_id, {"phone": "item:Mobile", "extension": "", "job_title": ""})
    db.session.expire_all()
    assert cw_account.field_mapping["phone"] == "item:Mobile" and cw_account.field_mapping["job_title"] is None
    second = start(auth, "connectwise")
    work()
    choices = selected(auth.client.get(f"{BASE}fetches/{second}").get_data(as_text=True))
    assert choices["phone"] == "item:Mobile" and choices["extension"] == "" and choices["job_title"] == ""
    assert choices["first_name"] == "firstName"


def test_zendesk_keeps_end_users_only_splits_names_and_flags_the_guesses(client, auth, technician, acme,
                                                                         zd_account, zd, work):
    target = zd.add_organization("Acme Dental", users=0, agents=2, admins=1, suspended=1, inactive=1)
    zd.add_user(target["id"], name="Mary Ann Smith", email="mary@client.example", phone="+1 (555) 010-2030")
    zd.add_user(target["id"], name="Cher", email="cher@client.example", phone="5550100")
    zd.add_user(target["id"], name="Lee, Ann", email="ann@client.example", phone="5550101")
    links.link_remote(acme, zd_account, target["id"], "tests")
    fetch_id = start(auth, "zendesk")
    work()
    screen = text_of(client.get(f"{BASE}fetches/{fetch_id}"))
    assert "Found 3 users in Acme Dental; skipped 1 admin, 2 agents, 1 inactive, 1 suspended." in screen
    assert "ambiguous name split: 'Mary Ann Smith' was read as first name 'Mary Ann' and last name 'Smith'" in screen
    response = stage(auth, fetch_id)
    batch = db.session.scalar(db.select(ImportBatch))
    assert batch.source == "zendesk" and batch.row_count == 3 and batch.warning_rows >= 2
    assert batch.meta["skipped"] == {"agent": 2, "admin": 1, "suspended": 1, "inactive": 1}
    summary = batch.meta["skipped_summary"]
    assert summary.startswith("Left out 2 agents (") and "1 admin (" in summary and "1 suspended user (" in summary
    assert "2 names were split into first and last name by guess" in summary
    rows = {r.email: r for r in db.session.scalars(db.select(ImportRow))}
    assert (rows["mary@client.example"].first_name, rows["mary@client.example"].last_name) == ("Mary Ann", "Smith")
    assert (rows["ann@client.example"].first_name, rows["ann@client.example"].last_name) == ("Ann", "Lee")
    assert any(p["code"] == "ambiguous_name_split" and p["severity"] == "warning"
               for p in rows["mary@client.example"].problems)
    assert any(p["code"] == "one_name_only" for p in rows["cher@client.example"].problems)
    preview = text_of(client.get(response.headers["Location"]))
    assert summary in preview and "Ambiguous name split" in preview


def test_an_empty_company_says_exactly_why(client, auth, technician, acme, cw_account, cw, work):
    empty = cw.add_company("Acme", identifier="Acme")
    links.link_remote(acme, cw_account, empty["id"], "tests")
    fetch_id = start(auth, "connectwise")
    work()
    page = text_of(client.get(f"{BASE}fetches/{fetch_id}"))
    assert (f"The ConnectWise company Acme (id {empty['id']}) has no contacts: Enlist imports from the Contacts "
            "of the company") in page
    assert "Match the fields" not in page and "Fetch again" in page


def test_a_company_with_inactive_contacts_only_says_nobody_is_left(client, auth, technician, acme, cw_account, cw,
                                                                  work):
    gone = cw.add_company("Gone Ltd", contacts=2, inactive=2)
    links.link_remote(acme, cw_account, gone["id"], "tests")
    fetch_id = start(auth, "connectwise")
    work()
    page = text_of(client.get(f"{BASE}fetches/{fetch_id}"))
    assert "Nobody is left to import. Left out 2 inactive contacts (" in page


def test_a_wrong_key_stops_the_job_with_a_plain_message(client, auth, technician, cw_linked, cw, work):
    fetch_id = start(auth, "connectwise")
    cw.private_key = "rotated-elsewhere"
    work()
    fetch = db.session.get(IntegrationFetch, fetch_id)
    assert fetch.state == FetchState.FAILED and fetch.error_kind == "auth"
    assert fetch.message.startswith("ConnectWise refused the API keys (401).")
    job = Job.fetch(fetch.job_id, connection=queue.connection(), serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FAILED  # recorded, then raised: the queue knows too
    assert job.meta["progress"]["state"] == "failed" and job.meta["progress"]["message"] == fetch.message
    assert fetch.message in text_of(client.get(f"{BASE}fetches/{fetch_id}"))


def test_a_site_that_stops_answering_fails_after_retries_with_a_clear_message(client, auth, technician, cw_linked,
                                                                              cw, work):
    fetch_id = start(auth, "connectwise")
    cw.stop()
    work()
    fetch = db.session.get(IntegrationFetch, fetch_id)
    assert fetch.state == FetchState.FAILED and fetch.error_kind == "network"
    assert re.match(r"Could not reach ConnectWise at 127\.0\.0\.1:\d+ after 3 attempts: the connection failed",
                    fetch.message)
    assert fetch.message in text_of(client.get(f"{BASE}fetches/{fetch_id}"))


def test_a_lost_job_is_said_and_a_new_fetch_can_start(app, client, auth, technician, cw_linked):
    fetch_id = start(auth, "connectwise")
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    assert start(auth, "connectwise") != fetch_id  # a new click starts again
    db.session.expire_all()
    lost = db.session.get(IntegrationFetch, fetch_id)
    assert lost.state == FetchState.FAILED and lost.message == fetches.LOST
    assert fetches.LOST in text_of(client.get(f"{BASE}fetches/{fetch_id}"))


def test_a_second_click_while_fetching_returns_the_running_fetch(auth, technician, cw_linked):
    assert start(auth, "connectwise") == start(auth, "connectwise")


def test_a_429_wait_is_shown_on_the_page_while_the_job_waits(app, client, technician, cw_linked, cw):
    fetch = fetches.start_fetch(cw_linked.deployment, "connectwise", "tests")
    cw.throttle(1, retry_after="2")
    done = threading.Event()

    def run():
        with app.app_context():
            fetches.run_fetch(fetch.id)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    seen, deadline = "", time.monotonic() + 5
    while "Waiting" not in seen and time.monotonic() < deadline:
        seen = text_of(client.get(f"{BASE}fetches/{fetch.id}", headers={"HX-Request": "true"}))
        time.sleep(0.1)
    assert "Waiting 2 s: ConnectWise rate limit" in seen and 'hx-trigger="every 1s"' in seen
    assert done.wait(10)
    db.session.expire_all()
    assert db.session.get(IntegrationFetch, fetch.id).state == FetchState.FETCHED


def test_the_job_reports_progress_in_its_meta(app, technician, cw_linked, cw, work):
    fetch = fetches.start_fetch(cw_linked.deployment, "connectwise", "tests")
    work()
    job = Job.fetch(fetch.job_id, connection=queue.connection(), serializer=JSONSerializer)
    assert job.meta["progress"]["fetched"] == 8 and job.meta["progress"]["total"] == 8
    assert job.return_value()["state"] == FetchState.FETCHED
    assert json.dumps(job.meta)  # plain JSON, counts and words only
