"""POST /api/v1/discovery: the contract the agents speak, record by record."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, CatalogEntry, DiscoveryToken
from app.services import deployments, discovery, operators
from app.services.user_schema import FIELDS_BY_NAME
from tests.discovery.conftest import bearer, network_record, pc_record


def entries(deployment_id=None) -> list[CatalogEntry]:
    """Every catalog entry, freshly read."""
    db.session.expire_all()
    stmt = sa.select(CatalogEntry).order_by(CatalogEntry.id)
    if deployment_id:
        stmt = stmt.where(CatalogEntry.deployment_id == deployment_id)
    return list(db.session.scalars(stmt))


def test_one_record_is_created_then_seen_again_unchanged_then_updated(post, deployment):
    answer = post(pc_record(1, first_name="Zoë", last_name="O'Leary-Ångström"))
    assert answer.status_code == 200
    assert answer.json["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert answer.json["results"] == [{"index": 0, "source_key": pc_record(1)["source_key"], "outcome": "created",
                                       "errors": []}]
    [entry] = entries()
    first_seen = entry.last_seen
    assert (entry.full_name, entry.source, entry.machine_name, entry.times_seen) == \
        ("Zoë O'Leary-Ångström", "pc", "PC-0001", 1)
    time.sleep(0.01)
    again = post(pc_record(1, first_name="Zoë", last_name="O'Leary-Ångström"))
    assert again.json["results"][0]["outcome"] == "unchanged"
    changed = post(pc_record(1, first_name="Zoë", last_name="O'Leary-Ångström", job_title="Head buyer"))
    assert changed.json["results"][0]["outcome"] == "updated"
    [entry] = entries()
    assert (entry.times_seen, entry.job_title, entry.first_seen <= first_seen < entry.last_seen) == \
        (3, "Head buyer", True)


def test_a_list_answers_record_by_record_and_the_counts_add_up(post):
    post([pc_record(1), pc_record(2)])
    answer = post([pc_record(1), pc_record(2, department="Support"), pc_record(3), pc_record(3, os="Linux")])
    assert answer.status_code == 200
    assert [r["outcome"] for r in answer.json["results"]] == ["unchanged", "updated", "created", "updated"]
    assert [r["index"] for r in answer.json["results"]] == [0, 1, 2, 3]
    assert answer.json["counts"] == {"created": 1, "updated": 2, "unchanged": 1, "rejected": 0}
    assert {e.source_key[-4:]: (e.times_seen, e.os) for e in entries()} == {
        "1001": (2, "Windows 11 (10.0.22631)"), "1002": (2, "Windows 11 (10.0.22631)"), "1003": (2, "Linux")}


def test_bad_records_get_422_with_reasons_while_the_good_ones_are_saved(post):
    answer = post([pc_record(1), pc_record(2, email="not an address", phone=5550100), pc_record(3)])
    assert answer.status_code == 422
    assert answer.json["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    rejected = answer.json["results"][1]
    assert rejected["outcome"] == "rejected" and rejected["source_key"].endswith("1002")
    assert {e["field"] for e in rejected["errors"]} == {"phone"}  # type errors first; the rest after the fix
    assert [e.source_key[-4:] for e in entries()] == ["1001", "1003"]


BAD_RECORDS = [
    ("not an object", ["pc"], "record", "JSON object"),
    ("unknown field", pc_record(mail="x@acme.example"), "mail", "Unknown field"),
    ("not text", pc_record(first_name=["Pat"]), "first_name", "Must be text"),
    ("unknown source", pc_record(source="excel"), "source", '"pc" or "network"'),
    ("long source", pc_record(source="x" * 30), "source", "at most 20"),
    ("no key", pc_record(source_key=""), "source_key", "Missing"),
    ("pc key for network", network_record(source_key="S-1-5-21-1-2-3-500"), "source_key", "objectGUID"),
    ("guid for pc", pc_record(source_key="3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "source_key", "SID"),
    ("bad email", pc_record(email="pat@@acme"), "email", "valid email"),
    ("line break", pc_record(last_name="Lee\nDROP"), "last_name", "control characters"),
    ("NUL", pc_record(department="Sales\x00"), "department", "control characters"),
    ("lone surrogate", pc_record(first_name="Pat\ud800"), "first_name", "control characters"),
    ("too long for the schema", pc_record(first_name="P" * (FIELDS_BY_NAME["first_name"].max_length + 1)),
     "first_name", f"at most {FIELDS_BY_NAME['first_name'].max_length}"),
    ("username longer than AD allows", pc_record(username="u" * 21), "username", "at most 20"),
    ("nobody named", {"source": "pc", "source_key": "S-1-5-21-9-9-9-1100", "machine_name": "PC-9"},
     "record", "Names nobody"),
]


@pytest.mark.parametrize(("record", "field", "words"), [case[1:] for case in BAD_RECORDS],
                         ids=[case[0] for case in BAD_RECORDS])
def test_each_bad_record_is_refused_with_the_field_and_a_reason(post, record, field, words):
    answer = post([record, pc_record(7)])
    assert answer.status_code == 422
    first, second = answer.json["results"]
    assert first["outcome"] == "rejected" and second["outcome"] == "created"
    assert any(e["field"] == field and words in e["message"] for e in first["errors"]), first["errors"]
    assert len(entries()) == 1


def test_discovery_data_is_raw_the_strict_import_rules_wait_for_the_preview(post):
    answer = post([pc_record(1, first_name="Seán", last_name="O'Brien (IT)", phone="+44 (0)113 496 0000 x12",
                             email="sean.obrien@corp.local", username="", job_title="R&D <lead>"),
                   network_record(source_key="3F2504E0-4F89-11D3-9A0C-0305E82C3301", email="",
                                  first_name="", last_name="", display_name="Zoë Ångström")])
    assert answer.status_code == 200, answer.json
    pc, network = entries()
    assert (pc.last_name, pc.phone, pc.email) == ("O'Brien (IT)", "+44 (0)113 496 0000 x12", "sean.obrien@corp.local")
    assert network.source_key == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"  # GUIDs are stored lower case
    assert network.display_name == "Zoë Ångström" and network.full_name == "Zoë Ångström"


def test_text_is_trimmed_and_normalised_and_absent_fields_are_kept(post):
    post(pc_record(1, first_name="  Zoe\u0308 "))  # e + combining diaeresis becomes ë
    record = {k: v for k, v in pc_record(1).items() if k not in ("phone", "department")}
    assert post(record | {"first_name": "Zoë"}).json["results"][0]["outcome"] == "unchanged"
    [entry] = entries()
    assert (entry.first_name, entry.phone, entry.department) == ("Zoë", "555 0100", "Sales")


def test_a_record_seen_again_is_no_longer_missing(post, deployment):
    post(pc_record(1))
    [entry] = entries()
    entry.missing_since = entry.last_seen
    db.session.commit()
    post(pc_record(1))
    assert entries()[0].missing_since is None


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer end_" + "x" * 43, "Basic ZW5kOng=", "Bearer enl_abc"])
def test_a_missing_or_unknown_token_gets_401(client, post, header):
    headers = {"Authorization": header} if header else {}
    answer = client.post("/api/v1/discovery", json=pc_record(1), headers=headers)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "not valid or was revoked" in answer.json["error"] and entries() == []


def test_a_revoked_token_gets_401_and_a_personal_api_token_is_not_a_discovery_token(client, post, deployment, token,
                                                                                    make_operator):
    assert post(pc_record(1)).status_code == 200
    row = db.session.scalar(sa.select(DiscoveryToken))
    discovery.revoke_token(deployment, row.id, "tests")
    assert post(pc_record(2)).status_code == 401
    personal = operators.issue_api_token(make_operator("admin@msp.example", role="admin"), "rmm")
    assert post(pc_record(3), with_token=personal).status_code == 401
    assert client.get("/api/v1/deployments", headers=bearer(token)).status_code == 401  # not a personal token
    assert [e.source_key[-4:] for e in entries()] == ["1001"]


def test_a_token_writes_only_into_its_own_deployments_catalog(post, deployment):
    other = deployments.create_deployment("BETA", "Beta Law", "tests", upn_suffix="beta.example")
    beta_token = discovery.issue_token(other, "agents", "tests")[1]
    post(pc_record(1))
    post(pc_record(1, department="Legal"), with_token=beta_token)
    mine, theirs = entries(deployment.id), entries(other.id)
    assert (mine[0].department, theirs[0].department) == ("Sales", "Legal")


def test_the_token_records_its_last_use_and_changes_are_audited(post):
    post([pc_record(1), pc_record(2)])
    post([pc_record(1)])  # nothing new: no audit event
    row = db.session.scalar(sa.select(DiscoveryToken))
    db.session.refresh(row)
    assert row.uses == 2 and row.last_used_at is not None
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "discovery.ingest")))
    assert len(events) == 1 and events[0].summary == "2 created" and "agents" in events[0].actor


def test_over_1000_records_or_over_the_byte_limit_gets_413(client, post, token):
    assert post([pc_record(n) for n in range(1001)]).status_code == 413
    body = json.dumps({"records": [pc_record(1, job_title="x" * (discovery.MAX_BYTES // 10))] * 11})
    answer = client.post("/api/v1/discovery", data=body, content_type="application/json", headers=bearer(token))
    assert answer.status_code == 413 and "1000 records" in answer.json["error"]
    assert entries() == []


def test_malformed_requests_get_400_or_415(client, token):
    def send(data, content_type="application/json"):
        return client.post("/api/v1/discovery", data=data, content_type=content_type, headers=bearer(token))

    assert send(b"{not json").status_code == 400
    assert send(b"\xff\xfe\x00").status_code == 400
    assert send(json.dumps({"records": []})).status_code == 400
    assert send(json.dumps({"records": {"a": 1}})).status_code == 400
    assert send("[" * 100_000 + "]" * 100_000).status_code == 400
    assert send(json.dumps(pc_record(1)), "text/plain").status_code == 415
    assert entries() == []


def test_each_token_is_rate_limited_with_retry_after(app, post, deployment):
    app.config["ENLIST_API_LIMIT"] = "3 per minute"
    codes = [post(pc_record(n)).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = post(pc_record(9))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0 and limited.json["error"]
    other = discovery.issue_token(deployment, "second site", "tests")[1]
    assert post(pc_record(5), with_token=other).status_code == 200  # counted per token


def test_the_openapi_document_describes_discovery(client, make_operator):
    personal = operators.issue_api_token(make_operator("tech@msp.example"), "docs")
    document = client.get("/api/v1/openapi.json", headers=bearer(personal)).json
    route = document["paths"]["/discovery"]["post"]
    assert route["security"] == [{"discovery_token": []}]
    assert {"200", "401", "413", "422", "429"} <= set(route["responses"])
    record = document["components"]["schemas"]["DiscoveryRecord"]
    assert record["properties"]["first_name"]["maxLength"] == FIELDS_BY_NAME["first_name"].max_length
    assert {"source", "source_key", "machine_name", "os"} <= set(record["properties"])


def test_a_batch_is_read_and_written_in_a_handful_of_statements(app, post):
    statements = []
    post([pc_record(n) for n in range(0, 1000, 2)])

    def count(*args):
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        answer = post([pc_record(n, department="Ops" if n % 4 else "Sales") for n in range(1000)])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert answer.json["counts"] == {"created": 500, "updated": 250, "unchanged": 250, "rejected": 0}
    assert len(statements) <= 12, statements


def test_the_console_prints_a_new_working_token(app, client, deployment):
    result = app.test_cli_runner().invoke(args=["discovery-token", "acme", "--name", "RMM roll-out"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("end_") and "\n" not in token
    assert client.post("/api/v1/discovery", json=pc_record(1), headers=bearer(token)).status_code == 200
    row = db.session.scalar(sa.select(DiscoveryToken))
    assert (row.name, row.created_by) == ("RMM roll-out", "console")
    unknown = app.test_cli_runner().invoke(args=["discovery-token", "NOPE"])
    assert unknown.exit_code != 0 and "no deployment with the code NOPE" in unknown.output
