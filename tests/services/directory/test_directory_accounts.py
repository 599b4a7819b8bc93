"""ensure_ad_user against a real Samba AD DC: the account, its state, and idempotency."""

from __future__ import annotations

import dataclasses
from datetime import date

import ldap3
import pytest

from app.services.directory import (
    STEPS,
    AccountConflict,
    AccountSpec,
    DirectoryError,
    ensure_ad_user,
    find_account,
    marker_value,
)
from app.services.directory.attributes import account_dn, filetime_end_of
from app.services.user_schema import AD_ATTRIBUTES

pytestmark = pytest.mark.samba
PASSWORD = "Initial-Pa55word!"


def make_spec(username: str, **fields) -> AccountSpec:
    """An AccountSpec for a plausible user; fields override the record."""
    record = {"first_name": "Pat", "last_name": "O'Leary", "email": f"{username}@client.test",
              "phone": "5551234", "extension": "12", "department": "Finance",
              "location": "Dublin", "job_title": "Accountant", **fields}
    return AccountSpec(enlist_id=f"id-{username}", username=username, attributes=record,
                       password=PASSWORD)


def read(conn: ldap3.Connection, dn: str, attributes: list[str]) -> dict:
    """Attributes of one entry as {name: [text values]}."""
    assert conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes), conn.result
    return {k: [v.decode(errors="replace") for v in vals] for k, vals in conn.response[0]["raw_attributes"].items()}


def accounts_named(conn: ldap3.Connection, base: str, username: str) -> list[str]:
    """The DNs of every account with this sAMAccountName."""
    conn.search(base, f"(sAMAccountName={username})", attributes=["cn"])
    return [r["dn"] for r in conn.response if r["type"] == "searchResEntry"]


def can_bind(dc, upn: str, password: str) -> dict:
    """The result of a simple bind as upn over verified LDAPS."""
    server = ldap3.Server(dc.url, use_ssl=True, tls=dc.tls(), get_info=ldap3.NONE)
    conn = ldap3.Connection(server, upn, password)
    conn.bind()
    return conn.result


def test_creates_complete_account(samba_dc, admin_conn, settings, conn, make_group,
                                  new_username):
    settings.groups = [make_group(), make_group()]
    spec = make_spec(new_username())
    result = ensure_ad_user(conn, settings, spec)
    assert result.created and result.steps == list(STEPS)
    assert result.dn == f"CN=Pat O'Leary,{settings.users_ou}"
    entry = read(admin_conn, result.dn, ["*", "memberOf"])
    for field_name, attribute in AD_ATTRIBUTES.items():
        expected = spec.username if field_name == "username" else spec.attributes[field_name]
        assert entry[attribute] == [expected], attribute
    assert entry["userPrincipalName"] == [f"{spec.username}@{settings.upn_suffix}"]
    assert entry["displayName"] == ["Pat O'Leary"]
    assert entry["adminDescription"] == [marker_value(spec.enlist_id)]
    assert entry["userAccountControl"] == ["512"]
    assert sorted(entry["memberOf"]) == sorted(settings.groups)
    assert can_bind(samba_dc, f"{spec.username}@{settings.upn_suffix}", PASSWORD)["result"] == 0


def test_must_change_password_is_honoured(samba_dc, settings, conn, new_username):
    settings.must_change_password = True
    spec = make_spec(new_username())
    ensure_ad_user(conn, settings, spec)
    result = can_bind(samba_dc, f"{spec.username}@{settings.upn_suffix}", PASSWORD)
    assert result["result"] == 49 and "data 773" in result["message"]


def test_never_expires_and_account_expiry(admin_conn, settings, conn, new_username):
    settings.password_never_expires = True
    settings.account_expires = date(2031, 3, 31)
    result = ensure_ad_user(conn, settings, make_spec(new_username()))
    entry = read(admin_conn, result.dn, ["userAccountControl", "accountExpires"])
    assert int(entry["userAccountControl"][0]) == 512 | 0x10000
    assert int(entry["accountExpires"][0]) == filetime_end_of(date(2031, 3, 31))


def test_group_names_are_looked_up(admin_conn, settings, conn, make_group, new_username):
    group_dn = make_group()
    settings.groups = [group_dn.split(",")[0].removeprefix("CN=")]
    result = ensure_ad_user(conn, settings, make_spec(new_username()))
    assert read(admin_conn, result.dn, ["memberOf"])["memberOf"] == [group_dn]


def test_running_twice_creates_one_account(admin_conn, settings, conn, make_group, new_username):
    settings.groups = [make_group()]
    spec = make_spec(new_username())
    first = ensure_ad_user(conn, settings, spec)
    second = ensure_ad_user(conn, settings, spec)
    third = ensure_ad_user(conn, settings, spec, known_guid=first.guid)
    assert (second.guid, second.created, second.steps) == (first.guid, False, ["groups"])
    assert second.groups_added == [] and third.guid == first.guid
    assert accounts_named(admin_conn, settings.users_ou, spec.username) == [first.dn]


class Crash(Exception):
    """The job died right after a step."""


@pytest.mark.parametrize("crash_after", STEPS)
def test_crash_after_any_step_then_rerun_completes(samba_dc, admin_conn, settings, conn,
                                                   make_group, new_username, crash_after):
    settings.groups = [make_group()]
    settings.must_change_password = True
    spec = make_spec(new_username())
    recorded: list[tuple[str, str]] = []

    def crash(step: str, guid: str) -> None:
        """Record the step, then die after the chosen one."""
        recorded.append((step, guid))
        if step == crash_after:
            raise Crash(step)

    with pytest.raises(Crash):
        ensure_ad_user(conn, settings, spec, step_done=crash)
    guid = recorded[0][1]
    assert [s for s, _ in recorded] == list(STEPS[: STEPS.index(crash_after) + 1])
    result = ensure_ad_user(conn, settings, spec, known_guid=guid)
    assert result.guid == guid and not result.created
    assert accounts_named(admin_conn, settings.users_ou, spec.username) == [result.dn]
    entry = read(admin_conn, result.dn, ["userAccountControl", "memberOf", "pwdLastSet"])
    assert entry["userAccountControl"] == ["512"] and entry["memberOf"] == settings.groups
    assert entry["pwdLastSet"] == ["0"]
    bind = can_bind(samba_dc, f"{spec.username}@{settings.upn_suffix}", PASSWORD)
    assert "data 773" in bind["message"]  # the password was set: only the change is pending


def test_rerun_without_guid_after_crash_in_add(admin_conn, settings, conn, new_username):
    spec = make_spec(new_username())

    def die(step: str, guid: str) -> None:
        """Die before the GUID could be stored anywhere."""
        raise Crash(step)

    with pytest.raises(Crash):
        ensure_ad_user(conn, settings, spec, step_done=die)
    result = ensure_ad_user(conn, settings, spec)
    assert result.steps == ["password", "enable", "groups"]
    assert accounts_named(admin_conn, settings.users_ou, spec.username) == [result.dn]


def test_existing_account_not_ours_is_a_conflict(admin_conn, settings, conn, new_username):
    username = new_username()
    theirs = f"CN=Someone Else,{settings.users_ou}"
    assert admin_conn.add(theirs, "user", {"sAMAccountName": username})
    with pytest.raises(AccountConflict) as caught:
        ensure_ad_user(conn, settings, make_spec(username))
    assert caught.value.code == "username_in_use" and caught.value.dn == theirs
    assert "already used by another account" in caught.value.message
    found = find_account(conn, settings, username=username, enlist_id=f"id-{username}")
    assert found and not found.ours and found.matched_by == "username"


def test_same_marker_for_another_user_is_still_a_conflict(settings, conn, new_username):
    spec = make_spec(new_username())
    ensure_ad_user(conn, settings, spec)
    with pytest.raises(AccountConflict):
        ensure_ad_user(conn, settings, dataclasses.replace(spec, enlist_id="someone-else"))


def test_duplicate_upn_is_a_plain_conflict(admin_conn, settings, conn, new_username):
    username = new_username()
    upn = f"{username}@{settings.upn_suffix}"
    assert admin_conn.add(f"CN=Holder,{settings.users_ou}", "user",
                          {"sAMAccountName": new_username(), "userPrincipalName": upn})
    with pytest.raises(AccountConflict) as caught:
        ensure_ad_user(conn, settings, make_spec(username))
    assert caught.value.code == "upn_in_use"
    assert f"The sign-in name {upn} is already used by another account" in caught.value.message


def test_weak_password_is_a_plain_message(admin_conn, settings, conn, new_username):
    spec = dataclasses.replace(make_spec(new_username()), password="abc")
    with pytest.raises(DirectoryError) as caught:
        ensure_ad_user(conn, settings, spec)
    assert caught.value.code == "password_policy" and not caught.value.transient
    assert "password policy rejected the password" in caught.value.message
    assert "0000052D" in caught.value.raw and "abc" not in caught.value.raw
    entry = read(admin_conn, f"CN=Pat O'Leary,{settings.users_ou}", ["userAccountControl"])
    assert entry["userAccountControl"] == ["514"]  # left disabled, finished by a retry


def test_missing_ou_parent_is_a_plain_message(settings, conn, new_username):
    settings.users_ou = f"OU=Staff,OU=Nowhere,{settings.users_ou}"
    with pytest.raises(DirectoryError) as caught:
        ensure_ad_user(conn, settings, make_spec(new_username()))
    assert caught.value.code == "no_such_object" and not caught.value.transient
    assert "does not exist in the directory" in caught.value.message


def test_cn_collision_takes_the_username_suffix(admin_conn, settings, conn, new_username):
    assert admin_conn.add(f"CN=Pat O'Leary,{settings.users_ou}", "user",
                          {"sAMAccountName": new_username()})
    spec = make_spec(new_username())
    result = ensure_ad_user(conn, settings, spec)
    assert result.dn == f"CN=Pat O'Leary ({spec.username}),{settings.users_ou}"


@pytest.mark.parametrize("first, last", [
    ("Pat, Jr", "O'Leary"), ("Anne+Marie", "Smith"), ("#1", "Fan"), ('Bob "Bobby"', "Jones"),
    ("Émile", "Zola=Writer;<x>"),
])
def test_names_with_special_characters(admin_conn, settings, conn, new_username, first, last):
    spec = make_spec(new_username(), first_name=first, last_name=last)
    result = ensure_ad_user(conn, settings, spec)
    entry = read(admin_conn, result.dn, ["cn", "givenName", "sn"])
    assert entry == {"cn": [f"{first} {last}"], "givenName": [first], "sn": [last]}


def test_rdn_with_leading_and_trailing_spaces_is_escaped(admin_conn, settings, new_username):
    dn = account_dn("  Lead, +#\"x\" ", settings.users_ou)
    assert dn.startswith("CN=\\ ")
    assert admin_conn.add(dn, "user", {"sAMAccountName": new_username()})
    assert read(admin_conn, dn, ["cn"])["cn"] == ["  Lead, +#\"x\" "]


def test_filter_values_are_escaped(admin_conn, settings, conn, new_username):
    ensure_ad_user(conn, settings, make_spec(new_username()))
    assert find_account(conn, settings, username="*", upn="*)(sAMAccountName=*") is None
    assert find_account(conn, settings, username="*)(objectClass=*") is None


def test_known_guid_is_ours_even_if_the_marker_was_cleared(admin_conn, settings, conn,
                                                          new_username):
    spec = make_spec(new_username())
    first = ensure_ad_user(conn, settings, spec)
    assert admin_conn.modify(first.dn, {"adminDescription": [(ldap3.MODIFY_REPLACE, [])]})
    assert ensure_ad_user(conn, settings, spec, known_guid=first.guid).guid == first.guid
    with pytest.raises(AccountConflict):
        ensure_ad_user(conn, settings, spec)  # without the GUID nothing proves it is ours
