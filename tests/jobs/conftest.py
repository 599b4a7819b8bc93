"""Fixtures for the job tests: a real Samba AD DC, a deployment pointed at it, real RQ workers."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.jobs.support import configure_directory, run_jobs  # noqa: E402
from tests.support.samba import delete_tree, fresh_ou, start_dc  # noqa: E402

# Retries without waiting, quick LDAP timeouts: failures show up in seconds.
FAST = {"ENLIST_PROVISION_RETRY_INTERVALS": [0, 0], "ENLIST_LDAP_CONNECT_TIMEOUT": 2,
        "ENLIST_LDAP_RECEIVE_TIMEOUT": 5}


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory):
    """A running Samba AD DC on a free loopback address, for the whole session."""
    dc = start_dc(tmp_path_factory.mktemp("samba-jobs"), ip=None)
    try:
        yield dc
    finally:
        dc.destroy()


@pytest.fixture
def app(app):
    """The suite's app with fast retries (overrides the root fixture, same database and Redis)."""
    app.config.update(FAST)
    return app


@pytest.fixture
def admin_conn(samba_dc):
    """A bound LDAPS connection as the domain Administrator, for arranging and asserting."""
    conn = samba_dc.admin_connection()
    yield conn
    conn.unbind()


@pytest.fixture
def test_ou(samba_dc, admin_conn):
    """A fresh OU=t<random> under the domain, deleted with everything in it after the test."""
    dn = fresh_ou(admin_conn, samba_dc.base_dn)
    yield dn
    delete_tree(admin_conn, dn)


@pytest.fixture
def make_group(admin_conn, test_ou):
    """Create a security group in the test OU; returns its name."""

    def make(name: str | None = None) -> str:
        """A new group named name (random by default)."""
        name = name or f"g{secrets.token_hex(4)}"
        assert admin_conn.add(f"CN={name},{test_ou}", "group", {"sAMAccountName": name}), admin_conn.result
        return name

    return make


@pytest.fixture
def cloud_deployment(app, make_deployment, samba_dc, test_ou):
    """A deployment on cloud: its directory is the test DC, new users go to OU=Users under the test OU."""
    deployment = make_deployment("ACME", upn_suffix=samba_dc.upn_suffix)
    return configure_directory(deployment, samba_dc, test_ou)


@pytest.fixture
def work(app):
    """Run every queued job in this process until the queues are empty (a real RQ worker, burst mode)."""
    return lambda **kwargs: run_jobs(app, **kwargs)


@pytest.fixture(scope="module")
def spare_dc(tmp_path_factory):
    """A DC of the test module's own, which its tests may stop and start (the session DC stays up)."""
    dc = start_dc(tmp_path_factory.mktemp("spare-jobs"), ip=None)
    try:
        yield dc
    finally:
        dc.destroy()


@pytest.fixture
def spare_deployment(app, make_deployment, spare_dc):
    """A deployment on cloud whose directory is the spare DC (new users in OU=Users under a fresh OU)."""
    deployment = make_deployment("SPARE", upn_suffix=spare_dc.upn_suffix)
    ou = f"OU=t{time.time_ns()},{spare_dc.base_dn}"
    spare_dc.admin_connection().add(ou, "organizationalUnit")
    return configure_directory(deployment, spare_dc, ou)
