"""Fixtures for the ConnectWise and Zendesk imports: the local stand-in servers, accounts, an RQ worker."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from app.extensions import db
from app.services import queue
from app.services.integration_imports import accounts
from tests.support.fake_connectwise import FakeConnectWise
from tests.support.fake_zendesk import FakeZendesk

# Distinctive secrets, so a test can look for them in pages, logs, Redis and the database.
CW_PRIVATE_KEY = "cwPRIVATE-7f3a9c1e5b"
ZD_API_TOKEN = "zdTOKEN-4d8e2b6a0c"


@pytest.fixture
def app(app):
    """The suite's app, allowed to talk plain http to the stand-ins on loopback."""
    app.config["ENLIST_INTEGRATIONS_PLAIN_HTTP"] = True
    return app


@pytest.fixture
def cw():
    """A ConnectWise stand-in: Client 1 Ltd (id 250) with 6 active and 2 inactive contacts, and Client 2 Ltd."""
    fake = FakeConnectWise(companies=2, contacts_per_company=8, inactive_per_company=2,
                           private_key=CW_PRIVATE_KEY).start()
    yield fake
    fake.stop()


@pytest.fixture
def zd():
    """A Zendesk stand-in: Client 1 Ltd and Client 2 Ltd with five end users each."""
    fake = FakeZendesk(organizations=2, users_per_org=5, api_token=ZD_API_TOKEN).start()
    yield fake
    fake.stop()


def cw_settings(fake) -> dict:
    """The settings a technician types for the stand-in."""
    return {"site": f"http://{fake.host}", "company_id": fake.company_id, "public_key": fake.public_key,
            "client_id": fake.client_id}


def zd_settings(fake) -> dict:
    """The settings a technician types for the stand-in."""
    return {"subdomain": f"http://{fake.host}", "email": fake.email}


@pytest.fixture
def cw_account(app, cw):
    """A saved ConnectWise account for the stand-in."""
    return accounts.save_account(None, "connectwise", "ConnectWise", cw_settings(cw), cw.private_key, "tests")


@pytest.fixture
def zd_account(app, zd):
    """A saved Zendesk account for the stand-in."""
    return accounts.save_account(None, "zendesk", "Zendesk", zd_settings(zd), zd.api_token, "tests")


@pytest.fixture
def acme(make_deployment):
    """The deployment ACME (Acme Dental)."""
    return make_deployment("ACME", "Acme Dental", upn_suffix="client.example")


def run_imports_queue() -> None:
    """Work the imports queue until empty: RQ's SimpleWorker with the JSON serializer, on the app's Redis."""
    SimpleWorker(["imports"], connection=queue.connection(), serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


@pytest.fixture
def work(app):
    """Run the queued fetch jobs."""
    return run_imports_queue
