"""Migrations run forward on a database holding data of the first release (revision 0001): operators, a
deployment with its encrypted bind password, users, an import batch and its rows all survive `upgrade heads`
and work through the services, the pages and the API afterwards."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.services import operators, secrets
from app.services.secrets import token_digest

FIRST_REVISION = "0001"
PASSWORD = "first-release-password"
BIND_PASSWORD = "First-Release-Bind-9"
API_TOKEN = "enl_" + "r" * 43
NOW = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
FIELDS = ("first_name", "last_name", "email", "username", "phone", "extension", "department", "location",
          "job_title")


def user_fields(first, last, username, **more) -> dict:
    values = dict(first_name=first, last_name=last, email=f"{username}@acme.example", username=username,
                  phone="5551234567", extension="", department="Clinic", location="HQ", job_title="Nurse")
    return {**values, **more}


def first_release_rows(box) -> dict[str, list[dict]]:
    """What a portal of the first release held, table by table, in the 0001 schema."""
    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    deployment = dict(id=1, code="ACME", name="Acme Dental", notes="", created_at=NOW,
                      ldaps_url="ldaps://dc1.acme.example:636", fallback_urls="", bind_user="svc@acme.example",
                      bind_secret=box.encrypt(BIND_PASSWORD), ca_cert="", verify_tls=True,
                      base_ou="DC=acme,DC=example", users_ou="", upn_suffix="acme.example",
                      default_groups="Staff", naming_policy="first.last", directory_verified_at=None,
                      directory_verified_digest=None)
    users = [dict(id=i, deployment_id=1, username_key=f["username"].lower(), email_key=f["email"].lower(),
                  origin=origin, status="draft", step="", last_error="", ad_dn="", object_guid="",
                  catalog_entry_id=None, import_batch_id=batch, created_by="admin@msp.example", created_at=NOW,
                  updated_at=NOW, **f)
             for i, f, origin, batch in ((1, user_fields("Ann", "Lee", "ann.lee"), "manual", None),
                                         (2, user_fields("Zoë", "Ångström", "zoe.angstrom"), "excel", 1))]
    problem = {"field": "phone", "code": "not_digits", "severity": "error", "suggestion": "5551234",
               "message": "Phone must be digits only: no parentheses, spaces, dashes or plus sign."}
    rows = [dict(id=1, batch_id=1, row_number=2, state="imported", has_errors=False, has_warnings=False,
                 problems=[], username_key="zoe.angstrom", email_key="zoe.angstrom@acme.example", source_key="",
                 catalog_entry_id=None, user_id=2, **user_fields("Zoë", "Ångström", "zoe.angstrom")),
            dict(id=2, batch_id=1, row_number=3, state="pending", has_errors=True, has_warnings=False,
                 problems=[problem], username_key="pat.oleary", email_key="pat.oleary@acme.example",
                 source_key="", catalog_entry_id=None, user_id=None,
                 **user_fields("Pat", "OLeary", "pat.oleary", phone="(555) 123-4"))]
    return {
        "deployments": [deployment],
        "operators": [dict(id=1, email="admin@msp.example", name="Ada", password_hash=hashed, role="admin",
                           active=True, created_at=NOW, last_login_at=NOW, session_version=1),
                      dict(id=2, email="tech@msp.example", name="Tech", password_hash=hashed, role="technician",
                           active=True, created_at=NOW, last_login_at=None, session_version=1)],
        "api_tokens": [dict(id=1, operator_id=2, name="rmm", token_digest=token_digest(API_TOKEN), created_at=NOW,
                            last_used_at=None, revoked_at=None)],
        "catalog_entries": [dict(id=1, deployment_id=1, source="pc", source_key="S-1-5-21-1", display_name="Bo Ray",
                                 machine_name="PC-7", os="Windows 11", first_seen=NOW, last_seen=NOW, times_seen=3,
                                 missing_since=None, **user_fields("Bo", "Ray", "bo.ray"))],
        "import_batches": [dict(id=1, deployment_id=1, source="excel", filename="staff.xlsx", state="staged",
                                created_by="tech@msp.example", created_at=NOW, updated_at=NOW, row_count=2,
                                error_rows=1, warning_rows=0, skipped_rows=0, imported_rows=1,
                                meta={"columns": {"First Name*": "first_name"}, "unknown_columns": ["Badge"]})],
        "users": users,
        "import_rows": rows,
        "audit_events": [dict(id=1, at=NOW, actor="admin@msp.example", operator_id=1, deployment_id=1,
                              action="deployment.create", object_type="Deployment", object_id="1",
                              summary="ACME", outcome="ok", detail={"fields": ["code"]})],
    }


def _postgres_url() -> str | None:
    url = TestConfig.SQLALCHEMY_DATABASE_URI
    return url if url.startswith("postgresql") else None


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    """An app on a database of its own, migrated to the first revision only."""
    engine_options = {"pool_pre_ping": True}
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'first-release.db'}"
    else:
        url = _postgres_url()
        if url is None:
            pytest.skip("runs in the PostgreSQL pass (ENLIST_TEST_DATABASE_URL)")
        schema = f"forward_{uuid.uuid4().hex[:10]}"
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine_options["connect_args"] = {"options": f"-csearch_path={schema}"}
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": engine_options})
    with app.app_context():
        upgrade(revision=FIRST_REVISION)
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def load_first_release_data() -> None:
    """Insert the first release's rows through the tables as revision 0001 made them."""
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    with db.engine.begin() as conn:
        for name, rows in first_release_rows(secrets.box()).items():
            table = metadata.tables[name]
            assert set(rows[0]) == {c.name for c in table.columns}, f"{name}: the 0001 columns changed?"
            conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for name in first_release_rows(secrets.box()):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT max(id) FROM {name}))"))


def current_revision() -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def test_upgrade_from_the_first_release_keeps_every_row_and_it_all_still_works(old_database):
    assert current_revision() == {FIRST_REVISION}
    assert "cloud_sends" not in sa.inspect(db.engine).get_table_names()
    load_first_release_data()

    upgrade(revision="heads")
    db.session.remove()

    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(old_database.extensions["migrate"].directory).get_heads())
    assert current_revision() == heads and heads != {FIRST_REVISION}
    from app.models import AuditEvent, CatalogEntry, Deployment, ImportBatch, ImportRow, User

    counts = {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
              for m in (Deployment, User, ImportBatch, ImportRow, CatalogEntry, AuditEvent)}
    assert counts == {"deployments": 1, "users": 2, "import_batches": 1, "import_rows": 2, "catalog_entries": 1,
                      "audit_events": 1}

    deployment = db.session.get(Deployment, 1)
    assert secrets.box().decrypt(deployment.bind_secret) == BIND_PASSWORD
    assert deployment.password_mode == "generated" and deployment.must_change_password is True  # new columns
    assert operators.authenticate("admin@msp.example", PASSWORD).is_admin
    zoe = db.session.get(User, 2)
    assert (zoe.first_name, zoe.last_name, zoe.import_batch_id) == ("Zoë", "Ångström", 1)
    pending = db.session.get(ImportRow, 2)
    assert pending.problems[0]["code"] == "not_digits" and pending.phone == "(555) 123-4"
    assert db.session.get(ImportBatch, 1).meta["unknown_columns"] == ["Badge"]
    assert db.session.get(AuditEvent, 1).detail == {"fields": ["code"]}

    client = old_database.test_client()
    assert client.get("/api/v1/deployments/ACME/users", headers={"Authorization": f"Bearer {API_TOKEN}"}).json[
        "total"] == 2
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/sign-in", data={"email": "tech@msp.example", "password": PASSWORD,
                                         "csrf_token": token}).status_code == 302
    users_page = client.get("/deployments/ACME/users/").get_data(as_text=True)
    assert "Ångström" in users_page and "Ann" in users_page
    assert "OLeary" in client.get("/deployments/ACME/imports/1").get_data(as_text=True)
    # New work lands next to the old rows.
    from app.services import users

    users.create_user(deployment, {**user_fields("Cy", "Dee", "cy.dee")}, "tests")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3


def test_the_fixture_is_representative_of_the_first_schema(old_database):
    """Every table of revision 0001 gets rows, so a migration touching any of them is exercised."""
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set(first_release_rows(secrets.box()))
    assert json.dumps(first_release_rows(secrets.box())["import_rows"][1]["problems"])
    assert os.path.exists(old_database.instance_path)
