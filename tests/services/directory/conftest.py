"""Fixtures for the directory tests: one real Samba AD DC per session, a fresh OU per test."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

# tests/support is shared by test folders and benches; make the repository root importable
# however pytest was started (the editable install only maps the app package).
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from app.services.directory import DirectorySettings, connect  # noqa: E402
from tests.support.samba import delete_tree, fresh_ou, start_dc  # noqa: E402


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory):
    """A running Samba AD DC on a free loopback address, stopped at the end even on failure."""
    dc = start_dc(tmp_path_factory.mktemp("samba"), ip=None)
    try:
        yield dc
    finally:
        dc.destroy()


@pytest.fixture
def admin_conn(samba_dc):
    """A bound LDAPS connection as the domain Administrator, for arranging and asserting."""
    conn = samba_dc.admin_connection()
    yield conn
    conn.unbind()


@pytest.fixture
def test_ou(samba_dc, admin_conn):
    """A fresh OU=t<random> under the domain, deleted with its content after the test."""
    dn = fresh_ou(admin_conn, samba_dc.base_dn)
    yield dn
    delete_tree(admin_conn, dn)


@pytest.fixture
def make_group(admin_conn, test_ou):
    """Create a security group in the test OU; returns its DN."""

    def make(name: str | None = None) -> str:
        """A new group named name (random by default)."""
        name = name or f"g{secrets.token_hex(4)}"
        dn = f"CN={name},{test_ou}"
        assert admin_conn.add(dn, "group", {"sAMAccountName": name}), admin_conn.result
        return dn

    return make


@pytest.fixture
def settings(samba_dc, test_ou) -> DirectorySettings:
    """Directory settings for the test DC, creating users in the test OU, no default groups."""
    return DirectorySettings(
        urls=[samba_dc.url], bind_user=samba_dc.admin_upn, bind_password=samba_dc.admin_password,
        users_ou=test_ou, upn_suffix=samba_dc.upn_suffix, ca_cert_pem=samba_dc.ca_pem,
        tls_server_name=samba_dc.tls_name, must_change_password=False, connect_timeout=3,
        receive_timeout=5)


@pytest.fixture
def new_username():
    """A factory of sAMAccountNames no other test uses (at most 20 characters)."""
    return lambda prefix="u": f"{prefix}{secrets.token_hex(4)}"[:20]


@pytest.fixture
def conn(settings):
    """A connection opened by the code under test."""
    connection = connect(settings)
    yield connection
    connection.unbind()

