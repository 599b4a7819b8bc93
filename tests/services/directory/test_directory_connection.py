"""Connecting, failing plainly, and the "Test connection" checks, against real Samba DCs."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.services.directory import (
    AccountSpec,
    DirectoryError,
    check_connection,
    connect,
    ensure_ad_user,
)
from tests.support.samba import start_dc

pytestmark = pytest.mark.samba


def foreign_ca_pem() -> str:
    """A self-signed CA certificate that did not sign the DC's certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some Other CA")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def spare_dc(tmp_path_factory):
    """A second DC that tests may stop, pause and restart without disturbing the others."""
    dc = start_dc(tmp_path_factory.mktemp("spare"), ip=None)
    try:
        yield dc
    finally:
        dc.destroy()


@pytest.fixture
def spare_settings(settings, spare_dc):
    """The test settings pointed at the spare DC, users in its built-in Users container."""
    return dataclasses.replace(settings, urls=[spare_dc.url], users_ou=f"CN=Users,{spare_dc.base_dn}")


def by_name(checks) -> dict:
    """Checks keyed by name."""
    return {c.name: c for c in checks}


def test_connect_verifies_tls_and_binds_with_upn_or_dn(samba_dc, settings):
    conn = connect(settings)
    assert conn.bound and conn.server.ssl
    conn.unbind()
    conn = connect(dataclasses.replace(settings, bind_user=samba_dc.admin_dn))
    assert conn.bound
    conn.unbind()


def test_stopped_dc_is_transient_then_recovers(spare_dc, spare_settings):
    spare_dc.stop()
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryError) as caught:
            connect(spare_settings)
        assert time.monotonic() - started < spare_settings.connect_timeout + 1
        assert caught.value.transient and caught.value.code == "unreachable"
        assert "Could not reach the domain controller" in caught.value.message
    finally:
        spare_dc.start()
    connect(spare_settings).unbind()  # a new Server per call: no 5 s refusal after the failure


def test_dc_going_down_mid_job_is_transient(spare_dc, spare_settings):
    conn = connect(spare_settings)
    spare_dc.stop()
    try:
        spec = AccountSpec("x1", "gone1", {"first_name": "A", "last_name": "B"}, "Pa55-word!")
        with pytest.raises(DirectoryError) as caught:
            ensure_ad_user(conn, spare_settings, spec)
        assert caught.value.transient
    finally:
        spare_dc.start()


def test_hung_dc_times_out(spare_dc, spare_settings):
    settings = dataclasses.replace(spare_settings, receive_timeout=1)
    os.killpg(spare_dc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryError) as caught:
            connect(settings)
        assert time.monotonic() - started < 3
        assert caught.value.transient and caught.value.code == "timeout"
    finally:
        os.killpg(spare_dc.pid, signal.SIGCONT)


def test_fallback_url_is_used_when_the_primary_is_down(settings):
    conn = connect(dataclasses.replace(settings, urls=["ldaps://127.0.0.254:636", *settings.urls]))
    assert conn.bound
    conn.unbind()


def test_untrusted_certificate_is_permanent(settings):
    with pytest.raises(DirectoryError) as caught:
        connect(dataclasses.replace(settings, ca_cert_pem=foreign_ca_pem()))
    assert caught.value.code == "tls_untrusted" and not caught.value.transient
    assert "not signed by the CA certificate in the settings" in caught.value.message


def test_certificate_for_another_name_is_refused(settings):
    with pytest.raises(DirectoryError) as caught:
        connect(dataclasses.replace(settings, tls_server_name="dc9.other.test"))
    assert caught.value.code == "tls_name_mismatch"
    assert "issued for another name" in caught.value.message


def test_skipping_verification_is_explicit(settings):
    connect(dataclasses.replace(settings, ca_cert_pem=None, verify_tls=False)).unbind()
    with pytest.raises(DirectoryError):
        connect(dataclasses.replace(settings, ca_cert_pem=None))  # system CAs don't know it


def test_plain_ldap_url_is_refused(settings):
    with pytest.raises(DirectoryError) as caught:
        connect(dataclasses.replace(settings, urls=["ldap://127.0.0.1:389"]))
    assert caught.value.code == "not_ldaps"


def test_check_connection_all_good(settings, make_group):
    group = make_group()
    checks = check_connection(dataclasses.replace(settings, groups=[group]))
    assert all(c.ok for c in checks), checks
    names = [c.name for c in checks]
    assert names == ["Reach the domain controller", "Sign in", "Target OU", f"Group {group}",
                     "Permission to create users", "Passwords sent encrypted"]


def test_check_connection_reports_wrong_password(settings):
    checks = by_name(check_connection(dataclasses.replace(settings, bind_password="wrong")))
    assert checks["Reach the domain controller"].ok
    assert not checks["Sign in"].ok
    assert "wrong user name or password" in checks["Sign in"].message
    assert "wrong" not in checks["Sign in"].message.replace("wrong user", "")
    assert checks["Target OU"].message.startswith("Not checked")


def test_check_connection_reports_missing_group(settings, make_group):
    present = make_group()
    checks = by_name(check_connection(dataclasses.replace(
        settings, groups=[present, "No Such Group", f"CN=Ghost,{settings.users_ou}"])))
    assert checks[f"Group {present}"].ok
    assert not checks["Group No Such Group"].ok
    assert "was not found in the domain" in checks["Group No Such Group"].message
    assert not checks[f"Group CN=Ghost,{settings.users_ou}"].ok


def test_check_connection_reports_untrusted_certificate(settings):
    checks = check_connection(dataclasses.replace(settings, ca_cert_pem=foreign_ca_pem()))
    assert not checks[0].ok and "is not trusted" in checks[0].message
    assert all(not c.ok for c in checks[1:-1])


def test_check_connection_ou_to_create_and_missing_parent(settings):
    to_create = by_name(check_connection(dataclasses.replace(
        settings, users_ou=f"OU=New,{settings.users_ou}")))
    assert to_create["Target OU"].ok and "will be created in" in to_create["Target OU"].message
    assert to_create["Permission to create users"].ok
    orphan = by_name(check_connection(dataclasses.replace(
        settings, users_ou=f"OU=New,OU=Missing,{settings.users_ou}")))
    assert not orphan["Target OU"].ok
    assert f"only {settings.users_ou} exists" in orphan["Target OU"].message


def test_check_connection_reports_missing_permission(admin_conn, settings, new_username):
    user_dn = f"CN=Plain User,{settings.users_ou}"
    assert admin_conn.add(user_dn, "user", {"sAMAccountName": new_username()})
    assert admin_conn.extend.microsoft.modify_password(user_dn, "Plain-Us3r-Pass!")
    assert admin_conn.modify(user_dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})
    checks = by_name(check_connection(dataclasses.replace(
        settings, bind_user=user_dn, bind_password="Plain-Us3r-Pass!")))
    assert checks["Sign in"].ok
    assert not checks["Permission to create users"].ok
    assert "may not create users" in checks["Permission to create users"].message
