"""Send to cloud over the API and the console: the same services and messages as the pages."""

import csv
import io

import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, Outcome, ProvisionTask, UserStatus
from app.services import operators, secrets
from app.services.provisioning import finish
from tests.jobs.support import on_cloud


def bearer(operator) -> dict:
    """Authorization header with a fresh personal token."""
    return {"Authorization": f"Bearer {operators.issue_api_token(operator, 'tests')}"}


def test_send_to_cloud_and_follow_the_send(client, make_operator, make_deployment, make_user):
    headers = bearer(make_operator("tech@msp.example"))
    acme = on_cloud(make_deployment("ACME"))
    ann = make_user(acme, first_name="Ann", last_name="Lee")
    make_user(acme, first_name="Bo", last_name="Ray")  # a draft left out of the send
    response = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"user_ids": [ann.id]}, headers=headers)
    assert response.status_code == 202 and response.json["skipped"] == 0
    send = response.json["send"]
    assert send["total"] == 1 and send["counts"]["waiting"] == 1 and not send["finished"]
    assert response.headers["Location"].endswith(f"/api/v1/sends/{send['id']}")
    again = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"user_ids": [ann.id]}, headers=headers)
    assert again.status_code == 409 and "nothing new was sent" in again.json["error"]
    drafts = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"all_drafts": True}, headers=headers)
    assert drafts.status_code == 202 and drafts.json["send"]["total"] == 1
    task = db.session.scalar(sa.select(ProvisionTask).where(ProvisionTask.user_id == ann.id))
    task.outcome, task.step, task.message, task.error_code = Outcome.FAILED, "add", "The username is taken.", "x"
    db.session.commit()
    finish.finish_send(send["id"])
    body = client.get(f"/api/v1/sends/{send['id']}", headers=headers).json
    assert body["finished"] and body["counts"] == {"waiting": 0, "running": 0, "ok": 0, "failed": 1, "conflict": 0}
    assert body["users"] == [{"user_id": ann.id, "username": "ann.lee", "name": "Ann Lee", "outcome": "failed",
                              "step": "add", "attempts": 0, "message": "The username is taken.", "error_code": "x"}]
    results = client.get(body["results"]["csv"], headers=headers)
    rows = list(csv.reader(io.StringIO(results.get_data().decode("utf-8-sig"))))
    assert rows[1][:6] == ["Ann Lee", "ann.lee", "ann.lee@acme.example", "ann.lee@acme.example", "failed",
                           "The username is taken."]
    users = client.get("/api/v1/deployments/ACME/users", headers=headers).json["users"]
    assert {u["username"]: u["status"] for u in users} == {"ann.lee": UserStatus.QUEUED, "bo.ray": UserStatus.QUEUED}
    assert {"step", "last_error", "object_guid", "ad_dn"} <= set(users[0])


def test_api_refusals_use_the_same_messages(client, make_operator, make_deployment, make_user):
    headers = bearer(make_operator("tech@msp.example"))
    make_user(make_deployment("ACME"))
    not_ready = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"all_drafts": True}, headers=headers)
    assert not_ready.status_code == 409 and "not configured yet" in not_ready.json["error"]
    bad = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"user_ids": "all"}, headers=headers)
    assert bad.status_code == 400
    assert client.get("/api/v1/sends/999", headers=headers).status_code == 404
    assert client.post("/api/v1/deployments/ACME/send-to-cloud", json={"all_drafts": True}).status_code == 401


def test_passwords_once_over_the_api(client, make_operator, make_deployment, make_user):
    headers = bearer(make_operator("tech@msp.example"))
    acme = on_cloud(make_deployment("ACME"))
    make_user(acme, first_name="Ann", last_name="Lee")
    send_id = client.post("/api/v1/deployments/ACME/send-to-cloud", json={"all_drafts": True},
                          headers=headers).json["send"]["id"]
    task = db.session.scalar(sa.select(ProvisionTask))
    password = secrets.box().decrypt(task.password_secret)
    assert client.post(f"/api/v1/sends/{send_id}/passwords", headers=headers).status_code == 409  # not finished
    task.outcome, task.password_set = Outcome.OK, True
    db.session.commit()
    finish.finish_send(send_id)
    first = client.post(f"/api/v1/sends/{send_id}/passwords", headers=headers)
    assert first.json["passwords"][0]["password"] == password and first.headers["Cache-Control"] == "no-store"
    assert client.post(f"/api/v1/sends/{send_id}/passwords", headers=headers).status_code == 409


def test_openapi_documents_the_send_routes(client, make_operator):
    document = client.get("/api/v1/openapi.json", headers=bearer(make_operator("tech@msp.example"))).json
    for path in ("/deployments/{code}/send-to-cloud", "/sends/{id}", "/sends/{id}/passwords",
                 "/sends/{id}/results.{format}"):
        assert path in document["paths"]
    assert "Send" in document["components"]["schemas"]
    assert "ad_dn" in document["components"]["schemas"]["User"]["allOf"][1]["properties"]


def test_set_directory_reads_the_bind_password_from_stdin(app, make_deployment, tmp_path):
    make_deployment("ACME")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    result = app.test_cli_runner().invoke(args=[
        "set-directory", "acme", "--url", "ldaps://dc1.acme.example:636", "--fallback-url", "ldaps://dc2.acme.example",
        "--bind-user", "svc-enlist@acme.example", "--base-ou", "DC=acme,DC=example", "--upn-suffix", "acme.example",
        "--ca-file", str(ca), "--group", "Staff", "--group", "VPN Users", "--no-test"], input="s3cret-Bind!\n")
    assert result.exit_code == 0, result.output
    assert "s3cret-Bind!" not in result.output and "Not tested" in result.output
    deployment = db.session.scalar(sa.select(Deployment))
    db.session.refresh(deployment)
    assert secrets.box().decrypt(deployment.bind_secret) == "s3cret-Bind!"
    assert deployment.group_list == ["Staff", "VPN Users"] and deployment.fallback_urls == "ldaps://dc2.acme.example"
    assert deployment.ca_cert.startswith("-----BEGIN CERTIFICATE-----") and deployment.verify_tls
    refused = app.test_cli_runner().invoke(args=[
        "set-directory", "ACME", "--url", "ldap://dc1", "--bind-user", "x", "--base-ou", "DC=a", "--upn-suffix", "a",
        "--no-test"], input="pw\n")
    assert refused.exit_code != 0 and "must start with ldaps://" in refused.output
