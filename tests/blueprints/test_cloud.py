"""Send to cloud through the pages: the button, the queue, progress, results, passwords (no DC needed).

Jobs are not run here (tests/jobs runs them against a real Samba DC): these tests look at what the
request leaves in the database and in the real Redis.
"""

import csv
import html
import io
import json

import pytest
import redis
import sqlalchemy as sa
from openpyxl import load_workbook

from app.extensions import db
from app.models import CloudSend, Outcome, ProvisionTask, User, UserStatus
from app.services import secrets
from app.services.provisioning import finish
from tests.jobs.support import on_cloud

USERS = "/deployments/ACME/users/"
SEND = "/deployments/ACME/cloud/send"


@pytest.fixture
def acme(make_deployment):
    """A deployment on cloud."""
    return on_cloud(make_deployment("ACME"))


def queued_jobs(app) -> list[dict]:
    """The provisioning queue's jobs as Redis stores them (JSON)."""
    r = redis.Redis.from_url(app.config["REDIS_URL"])
    ids = [i.decode() for i in r.lrange("rq:queue:provisioning", 0, -1)]
    return [{"id": i, **{k.decode(): v for k, v in r.hgetall(f"rq:job:{i}").items()}} for i in ids]


def finish_all(send_id: int, outcome: str = Outcome.OK, **values) -> None:
    """Give every task of the send an outcome, as jobs would (password set for the ok ones)."""
    for task in db.session.scalars(sa.select(ProvisionTask).where(ProvisionTask.send_id == send_id)):
        task.outcome, task.step = outcome, "groups"
        task.password_set = outcome == Outcome.OK
        for key, value in values.items():
            setattr(task, key, value)
    db.session.commit()
    finish.finish_send(send_id)


def test_send_is_disabled_with_the_reason_while_not_on_cloud(client, auth, technician, make_deployment, make_user):
    make_user(make_deployment("ACME"))
    page = client.get(USERS).get_data(as_text=True)
    assert 'id="cloud-reason"' in page and "Send to cloud is disabled" in page
    assert 'disabled aria-describedby="cloud-reason"' in page
    response = auth.post(SEND, {"scope": "drafts"}, page=USERS, follow_redirects=True)
    assert "not configured yet" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CloudSend)) == 0


def test_send_selected_queues_them_with_one_json_job_per_user(app, client, auth, technician, acme, make_user):
    ann, bo, cy = (make_user(acme, first_name=n, last_name="Lee") for n in ("Ann", "Bo", "Cy"))
    response = auth.post(SEND, {"scope": "selected", "user_ids": [ann.id, cy.id]}, page=USERS)
    assert response.status_code == 303 and "/cloud/sends/" in response.headers["Location"]
    db.session.expire_all()
    assert [u.status for u in (ann, bo, cy)] == [UserStatus.QUEUED, UserStatus.DRAFT, UserStatus.QUEUED]
    jobs = queued_jobs(app)
    tasks = {t.user_id: t for t in db.session.scalars(sa.select(ProvisionTask))}
    assert sorted(j["id"] for j in jobs) == sorted([f"create-user-{ann.id}", f"create-user-{cy.id}"])
    for job in jobs:
        data = json.loads(__import__("zlib").decompress(job["data"]))  # RQ compresses the JSON payload
        assert data[0] == "app.jobs.provision.run_task" and data[2] in ([tasks[ann.id].id], [tasks[cy.id].id])
    stored = [secrets.box().decrypt(t.password_secret) for t in tasks.values()]
    assert all(len(p) == 16 for p in stored)
    everything = b"".join(k + b"".join(v for v in redis.Redis.from_url(app.config["REDIS_URL"]).hgetall(k).values())
                          for k in redis.Redis.from_url(app.config["REDIS_URL"]).keys("rq:job:*"))
    assert not any(p.encode() in everything for p in stored)  # never a password in Redis


def test_a_second_click_enqueues_nothing_new(app, client, auth, technician, acme, make_user):
    ann = make_user(acme, first_name="Ann", last_name="Lee")
    auth.post(SEND, {"scope": "selected", "user_ids": [ann.id]}, page=USERS)
    again = auth.post(SEND, {"scope": "selected", "user_ids": [ann.id]}, page=USERS, follow_redirects=True)
    assert "nothing new was sent" in again.get_data(as_text=True)
    assert len(queued_jobs(app)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProvisionTask)) == 1


def test_send_all_drafts_takes_only_drafts(app, client, auth, technician, acme, make_user):
    ann, bo = make_user(acme, first_name="Ann", last_name="Lee"), make_user(acme, first_name="Bo", last_name="Ray")
    bo.status = UserStatus.FAILED
    db.session.commit()
    auth.post(SEND, {"scope": "drafts"}, page=USERS)
    db.session.expire_all()
    assert (ann.status, bo.status) == (UserStatus.QUEUED, UserStatus.FAILED)
    assert [j["id"] for j in queued_jobs(app)] == [f"create-user-{ann.id}"]


def test_progress_polls_every_second_until_finished_then_stops(client, auth, technician, acme, make_user):
    users = [make_user(acme, first_name="Pat", last_name=n) for n in ("Adams", "Baker", "Clark")]
    location = auth.post(SEND, {"scope": "drafts"}, page=USERS).headers["Location"]
    send_id = int(location.rstrip("/").rsplit("/", 1)[1])
    panel = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in panel and '<progress id="send-bar" value="0" max="3"' in panel
    assert "style=" not in panel  # the CSP forbids inline styles
    task = db.session.scalar(sa.select(ProvisionTask).where(ProvisionTask.user_id == users[0].id))
    task.outcome, task.step = Outcome.RUNNING, "password"
    db.session.commit()
    panel = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-outcome="running"' in panel and ">password<" in panel
    finish_all(send_id)
    task.outcome, task.message = Outcome.FAILED, "The domain's password policy rejected the password."
    db.session.commit()
    panel = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in panel and 'value="3" max="3"' in panel and "100%" in panel
    assert "3 users: 2 in cloud, 1 failed." in panel and "password policy rejected" in panel
    page = client.get(location).get_data(as_text=True)
    assert "<html" in page and "Send to cloud" in page


def test_results_files_list_every_user_and_are_formula_safe(client, auth, technician, acme, make_user):
    make_user(acme, first_name="Ann", last_name="Lee", username="-ann")
    make_user(acme, first_name="Bo", last_name="Ray")
    location = auth.post(SEND, {"scope": "drafts"}, page=USERS).headers["Location"]
    send_id = int(location.rsplit("/", 1)[1])
    finish_all(send_id, Outcome.FAILED, message="=HYPERLINK(\"http://evil\")")
    text = client.get(f"{location}/results.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 3 and rows[0][:6] == ["Name", "Username", "Sign-in name (UPN)", "Email", "Outcome", "Reason"]
    ann = next(r for r in rows if "Ann" in r[0])
    assert ann[1] == "'-ann" and ann[5].startswith("'=HYPERLINK") and ann[4] == "failed"
    book = load_workbook(io.BytesIO(client.get(f"{location}/results.xlsx").get_data()))
    cell = next(row for row in book.active.iter_rows() if row[0].value == "Ann Lee")[5]
    assert cell.value == '=HYPERLINK("http://evil")' and cell.data_type == "s" and cell.quotePrefix


def test_passwords_are_shown_once_downloaded_once_then_erased(client, auth, technician, acme, make_user):
    make_user(acme, first_name="Ann", last_name="Lee")
    location = auth.post(SEND, {"scope": "drafts"}, page=USERS).headers["Location"]
    send_id = int(location.rsplit("/", 1)[1])
    password = secrets.box().decrypt(db.session.scalar(sa.select(ProvisionTask.password_secret)))
    early = html.unescape(auth.htmx("POST", f"{location}/passwords/show", page=location).get_data(as_text=True))
    assert password not in early and "once every user" in early
    finish_all(send_id)
    assert "Show passwords (once)" in client.get(location).get_data(as_text=True)
    shown = auth.htmx("POST", f"{location}/passwords/show", page=location)
    assert password in html.unescape(shown.get_data(as_text=True)) and shown.headers["Cache-Control"] == "no-store"
    again = html.unescape(auth.htmx("POST", f"{location}/passwords/show", page=location).get_data(as_text=True))
    assert password not in again and "already shown once" in again
    download = auth.post(f"{location}/passwords/download", {"format": "csv"}, page=location)
    assert download.headers["Cache-Control"] == "no-store" and "attachment" in download.headers["Content-Disposition"]
    assert password in download.get_data().decode("utf-8-sig")
    assert db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.password_secret.is_not(None))) == 0
    second = auth.post(f"{location}/passwords/download", {"format": "csv"}, page=location, follow_redirects=True)
    assert password not in html.unescape(second.get_data(as_text=True)) and "erased" in second.get_data(as_text=True)


def test_typed_password_policy_asks_for_a_strong_password(client, auth, technician, make_deployment, make_user):
    acme = on_cloud(make_deployment("ACME"), password_mode="typed")
    make_user(acme, first_name="Ann", last_name="Lee")
    page = client.get(USERS).get_data(as_text=True)
    assert 'name="initial_password"' in page
    weak = auth.post(SEND, {"scope": "drafts", "initial_password": "password"}, page=USERS, follow_redirects=True)
    assert "three of" in weak.get_data(as_text=True)
    named = auth.post(SEND, {"scope": "drafts", "initial_password": "ann.lee-Pa55"}, page=USERS, follow_redirects=True)
    assert "may not contain the username" in named.get_data(as_text=True)
    ok = auth.post(SEND, {"scope": "drafts", "initial_password": "Welcome-2030!"}, page=USERS)
    assert ok.status_code == 303
    assert secrets.box().decrypt(db.session.scalar(sa.select(ProvisionTask.password_secret))) == "Welcome-2030!"


def test_users_page_banner_polls_while_work_is_on_its_way(client, auth, technician, acme, make_user):
    make_user(acme, first_name="Ann", last_name="Lee")
    assert 'hx-trigger="cloud-activity from:body"' in client.get(USERS).get_data(as_text=True)
    location = auth.post(SEND, {"scope": "drafts"}, page=USERS).headers["Location"]
    page = client.get(USERS).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "1 user on the way to AD" in page and "<progress" in page
    assert "waiting for a worker" in page
    unchanged = client.get("/deployments/ACME/cloud/activity?seen=1", headers={"HX-Request": "true"})
    assert "HX-Trigger" not in unchanged.headers
    finish_all(int(location.rsplit("/", 1)[1]))
    done = client.get("/deployments/ACME/cloud/activity?seen=1", headers={"HX-Request": "true"})
    assert done.headers["HX-Trigger"] == "users-changed" and "every 2s" not in done.get_data(as_text=True)


def in_cloud(user):
    """Mark a user as created in AD (what a finished job leaves)."""
    user.status, user.object_guid, user.ad_dn = UserStatus.IN_CLOUD, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "CN=x"
    db.session.commit()
    return user


def test_managing_a_user_in_the_cloud_queues_one_change_at_a_time(app, client, auth, technician, acme, make_user):
    user = in_cloud(make_user(acme, first_name="Ann", last_name="Lee"))
    manage = f"/deployments/ACME/cloud/users/{user.id}/manage"
    assert "Reset password" in client.get(manage).get_data(as_text=True)
    response = auth.post(f"/deployments/ACME/cloud/users/{user.id}/reset-password", page=manage)
    assert response.status_code == 303 and "/cloud/sends/" in response.headers["Location"]
    db.session.expire_all()
    assert user.step == "resetting password" and user.status == UserStatus.IN_CLOUD
    refused = auth.post(f"/deployments/ACME/cloud/users/{user.id}/remove", {"mode": "delete"}, page=manage,
                        follow_redirects=True)
    assert "still on its way" in refused.get_data(as_text=True)
    assert [j["id"] for j in queued_jobs(app)] == [f"reset_password-user-{user.id}"]
    assert "resetting password…" in client.get(USERS).get_data(as_text=True)


def test_group_and_remove_actions_record_what_to_do(app, client, auth, technician, acme, make_user):
    ann = in_cloud(make_user(acme, first_name="Ann", last_name="Lee"))
    bo = in_cloud(make_user(acme, first_name="Bo", last_name="Ray"))
    page = f"/deployments/ACME/cloud/users/{ann.id}/manage"
    auth.post(f"/deployments/ACME/cloud/users/{ann.id}/groups", {"add": "Sales\nVPN", "remove": "Old"}, page=page)
    auth.post(f"/deployments/ACME/cloud/users/{bo.id}/remove", {"mode": "disable"}, page=page)
    sends = {s.action: s for s in db.session.scalars(sa.select(CloudSend))}
    assert sends["groups"].options == {"add": ["Sales", "VPN"], "remove": ["Old"]}
    assert sorted(j["id"] for j in queued_jobs(app)) == sorted([f"groups-user-{ann.id}", f"disable-user-{bo.id}"])


def test_editing_a_user_in_the_cloud_pushes_the_change(app, client, auth, technician, acme, make_user):
    user = in_cloud(make_user(acme, first_name="Ann", last_name="Lee"))
    values = {"first_name": "Ann", "last_name": "Lee", "email": user.email, "username": user.username,
              "phone": "5550000", "department": "Finance"}
    response = auth.htmx("PUT", f"/deployments/ACME/users/{user.id}", values, page=USERS)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "cloud-activity"
    db.session.expire_all()
    assert (user.phone, user.department, user.step) == ("5550000", "Finance", "updating")
    assert [j["id"] for j in queued_jobs(app)] == [f"update-user-{user.id}"]


def test_conflict_rows_offer_link_and_retry(app, client, auth, technician, acme, make_user):
    user = make_user(acme, first_name="Ann", last_name="Lee")
    user.status, user.last_error = UserStatus.CONFLICT, "The username ann.lee is already used by another account."
    db.session.commit()
    row = client.get(f"/deployments/ACME/users/{user.id}").get_data(as_text=True)
    assert ">Link</button>" in row and ">Retry</button>" in row and 'name="user_ids"' in row
    linked = auth.htmx("POST", f"/deployments/ACME/cloud/users/{user.id}/link", page=USERS)
    assert linked.headers["HX-Trigger"] == "cloud-activity" and "queued" in linked.get_data(as_text=True)
    assert [j["id"] for j in queued_jobs(app)] == [f"link-user-{user.id}"]


def test_user_table_rows_show_checkboxes_only_for_sendable_users(client, technician, acme, make_user):
    draft = make_user(acme, first_name="Ann", last_name="Lee")
    done = in_cloud(make_user(acme, first_name="Bo", last_name="Ray"))
    page = client.get(USERS).get_data(as_text=True)
    assert f'value="{draft.id}" form="send-form"' in page and f'value="{done.id}" form="send-form"' not in page
    assert 'class="select-all"' in page and "Manage</a>" in page
    assert db.session.get(User, done.id).manageable
