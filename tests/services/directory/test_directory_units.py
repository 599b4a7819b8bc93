"""Pieces of the directory layer that need no DC: passwords, attribute mapping, error words."""

from __future__ import annotations

from datetime import date

import pytest
from ldap3.core import exceptions as lx

from app.services.directory import DirectoryError, DirectorySettings, generate_password
from app.services.directory.attributes import (
    cn_candidates,
    filetime_end_of,
    mapped_attributes,
    new_account_attributes,
)
from app.services.directory.errors import error_from_exception, error_from_result


def settings(**changes) -> DirectorySettings:
    """Settings that are never used to connect."""
    values = dict(urls=["ldaps://dc.test"], bind_user="svc@x.test", bind_password="secret",
                  users_ou="OU=Staff,OU=Client,DC=x,DC=test", upn_suffix="x.test")
    return DirectorySettings(**{**values, **changes})


def test_generated_passwords_meet_complexity_and_avoid_names():
    for _ in range(200):
        password = generate_password(username="patrick", display_name="Patrick O'Leary-Smith")
        assert len(password) == 16
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
        assert not set(password) & set("Il1O0o'\"` /\\")
        assert not any(t in password.lower() for t in ("patrick", "o'leary", "smith"))
    assert len(generate_password(24)) == 24
    with pytest.raises(ValueError):
        generate_password(6)


def test_settings_repr_hides_secrets():
    text = repr(settings(ca_cert_pem="-----BEGIN CERTIFICATE-----"))
    assert "secret" not in text and "BEGIN" not in text
    assert settings().base_dn == "DC=x,DC=test"
    for bad in ("Staff", "OU=Staff", "OU=Sta,ff=,DC"):
        with pytest.raises(DirectoryError) as caught:
            _ = settings(users_ou=bad).base_dn
        assert caught.value.code == "invalid_dn"


def test_mapping_uses_the_schema_and_the_extension_setting():
    record = {"first_name": "Pat", "last_name": "Lee", "phone": "5551234", "extension": "12",
              "username": "plee", "unknown": "ignored"}
    assert mapped_attributes(record, settings()) == {
        "givenName": "Pat", "sn": "Lee", "telephoneNumber": "5551234", "ipPhone": "12",
        "sAMAccountName": "plee", "displayName": "Pat Lee", "userPrincipalName": "plee@x.test"}
    appended = mapped_attributes(record, settings(extension_in_phone=True))
    assert appended["telephoneNumber"] == "5551234 x12" and "ipPhone" not in appended
    new = new_account_attributes({"first_name": "Pat", "last_name": "Lee", "location": ""},
                                 "plee", "u-7", settings())
    assert new["adminDescription"] == "enlist:u-7" and new["userAccountControl"] == 514
    assert "physicalDeliveryOfficeName" not in new  # AD refuses empty values on add


def test_cn_is_capped_at_64_characters():
    long_name = {"first_name": "A" * 64, "last_name": "B" * 64}
    first, second = cn_candidates(long_name, "ab")
    assert len(first) == 64 and len(second) == 64 and second.endswith(" (ab)")


def test_account_expires_is_the_end_of_the_day_in_filetime():
    assert filetime_end_of(date(1601, 1, 1)) == 86400 * 10_000_000


@pytest.mark.parametrize("result, code, words", [
    ({"result": 68, "message": "00002071: samldb: samAccountName 'x' already in use!"},
     "username_in_use", "username is already used"),
    ({"result": 19, "message": "0000202F: samldb: userPrincipalName 'x' is already in use"},
     "upn_in_use", "sign-in name (UPN) is already used"),
    ({"result": 19, "message": "0000052D: Constraint violation - check_password_restrictions"},
     "password_policy", "password policy rejected"),
    ({"result": 32, "message": "00002030: parent does not exist!"}, "no_such_object",
     "does not exist"),
    ({"result": 50, "message": "acl: unable to get access"}, "not_permitted", "not permitted"),
    ({"result": 49, "message": "AcceptSecurityContext error, data 52e, v1db1"},
     "bad_credentials", "wrong user name or password"),
    ({"result": 49, "message": "AcceptSecurityContext error, data 533, v1db1"},
     "account_disabled", "is disabled"),
    ({"result": 21, "message": "attribute 'telephoneNumber' on entry 'x' contains invalid"},
     "invalid_value", "refused a value for telephoneNumber"),
])
def test_results_become_plain_words(result, code, words):
    error = error_from_result({"description": "x", **result}, doing="create the account",
                              target="svc@x.test")
    assert error.code == code and words in error.message and not error.transient
    assert str(result["result"]) in error.raw


def test_busy_server_is_transient():
    assert error_from_result({"result": 51, "description": "busy"}, doing="x").transient


def test_socket_errors_are_transient_and_certificates_are_not():
    refused = error_from_exception(lx.LDAPSocketOpenError("[Errno 111] Connection refused"),
                                   doing="connect", url="ldaps://dc")
    assert refused.transient and refused.code == "unreachable"
    assert "connection refused" in refused.message
    untrusted = error_from_exception(lx.LDAPSocketOpenError(
        "socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED]"), doing="connect")
    assert not untrusted.transient and untrusted.code == "tls_untrusted"
    timeout = error_from_exception(lx.LDAPResponseTimeoutError("no response"), doing="add")
    assert timeout.transient and timeout.code == "timeout"


def test_secrets_are_redacted_from_raw():
    error = error_from_exception(lx.LDAPInvalidValueError("value 'Hunter2!' non valid"),
                                 doing="set the password", secrets=("Hunter2!",))
    assert "Hunter2!" not in error.raw and "***" in error.raw
