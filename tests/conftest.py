"""Fixtures for the whole suite: the app on a real database and Redis, a client, factories."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
import redis
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from app.config import TestConfig
from app.extensions import db

TEST_PASSWORD = "correct-horse-battery"
_SQLITE_DIR = tempfile.mkdtemp(prefix="enlist-tests-")


def _database_url() -> str:
    """PostgreSQL when ENLIST_TEST_DATABASE_URL says so, else a SQLite file of this run."""
    return TestConfig.SQLALCHEMY_DATABASE_URI if TestConfig.SQLALCHEMY_DATABASE_URI != "sqlite://" \
        else f"sqlite:///{_SQLITE_DIR}/enlist-test.db"


class RequestScopedClient(FlaskClient):
    """Each request gets an app context of its own, as in production (own g, own db session),
    even though the test itself holds an app context for its factories and assertions."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(**overrides):
    """An app from TestConfig with the suite's database and an instance folder of its own."""
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=_database_url(), **overrides)
    os.environ.setdefault("ENLIST_INSTANCE_PATH", os.path.join(_SQLITE_DIR, "instance"))
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    return app


@pytest.fixture(scope="session")
def _schema():
    """Build the schema once per run through the migrations, as production does."""
    from flask_migrate import upgrade

    app = make_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision="heads")
        db.engine.dispose()
    yield


def _empty_tables() -> None:
    """Delete every row, children first, so the next test starts from nothing."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture()
def app(_schema):
    """The app with empty tables and an empty Redis database."""
    app = make_app()
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture()
def client(app):
    """A test client of the app."""
    return app.test_client()


def csrf_token_of(html: str) -> str:
    """The CSRF token a page carries (form field or htmx header)."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


class Auth:
    """Signs a client in and out, and sends forms with the page's CSRF token."""

    def __init__(self, client):
        self.client = client

    def token(self, path: str = "/sign-in") -> str:
        """A fresh CSRF token from a page."""
        return csrf_token_of(self.client.get(path).get_data(as_text=True))

    def sign_in(self, email: str, password: str = TEST_PASSWORD):
        """Sign in through the form."""
        return self.client.post("/sign-in", data={"email": email, "password": password,
                                                  "csrf_token": self.token()})

    def post(self, path: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        """POST a form with the CSRF token of the page that shows it."""
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token(page or path)}, **kwargs)

    def htmx(self, method: str, path: str, data: dict | None = None, *, page: str, target: str = ""):
        """An htmx request: the CSRF token in the header, as the page's hx-headers sends it."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.token(page)}
        if target:
            headers["HX-Target"] = target
        return self.client.open(path, method=method, data=data or {}, headers=headers)


@pytest.fixture()
def auth(client):
    """Sign-in helper for the client."""
    return Auth(client)


@pytest.fixture()
def make_operator(app):
    """Factory: an operator with the test password."""
    from app.services import operators

    def make(email: str = "tech@msp.example", role: str = "technician"):
        return operators.create_operator(email, TEST_PASSWORD, role=role, name=email.split("@")[0].title())

    return make


@pytest.fixture()
def technician(make_operator, auth):
    """A signed-in technician (an admin exists too, so setup is done)."""
    make_operator("admin@msp.example", role="admin")
    operator = make_operator("tech@msp.example")
    auth.sign_in(operator.email)
    return operator


@pytest.fixture()
def admin(make_operator, auth):
    """A signed-in admin."""
    operator = make_operator("admin@msp.example", role="admin")
    auth.sign_in(operator.email)
    return operator


@pytest.fixture()
def make_deployment(app):
    """Factory: a deployment with a UPN suffix."""
    from app.services import deployments

    def make(code: str = "ACME", name: str = "Acme Dental", **settings):
        settings.setdefault("upn_suffix", "acme.example")
        return deployments.create_deployment(code, name, "tests", **settings)

    return make


@pytest.fixture()
def make_user(app):
    """Factory: a valid draft user; fields can be overridden."""
    from app.services import users

    def make(deployment, **fields):
        first, last = fields.get("first_name", "Pat"), fields.get("last_name", "Smith")
        base = f"{first}.{last}".lower().replace(" ", "")
        record = {"first_name": first, "last_name": last, "email": f"{base}@acme.example",
                  "username": base[:20], "phone": "5551234567", **fields}
        return users.create_user(deployment, record, "tests")

    return make


def pytest_configure(config):
    """Capture every log record of the run; at its end, fail if one holds a secret the suite used."""
    from tests.security.log_guard import install

    install(config)
