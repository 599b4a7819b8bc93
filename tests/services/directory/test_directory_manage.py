"""Managing accounts after creation, and creating OUs, against a real Samba AD DC."""

from __future__ import annotations

import ldap3
import pytest

from app.services.directory import (
    AccountSpec,
    DirectoryError,
    delete_account,
    disable_account,
    ensure_ad_user,
    ensure_ou,
    reset_password,
    set_groups,
    update_account,
)

pytestmark = pytest.mark.samba


@pytest.fixture
def account(settings, conn, new_username):
    """A complete account made by ensure_ad_user."""
    username = new_username("m")
    spec = AccountSpec(f"id-{username}", username,
                       {"first_name": "Kim", "last_name": "Lee", "job_title": "Clerk",
                        "phone": "5550000"}, "First-Pa55word!")
    return ensure_ad_user(conn, settings, spec)


def read(conn: ldap3.Connection, dn: str, attributes: list[str]) -> dict:
    """Attributes of one entry as {name: [text values]}, {} when it does not exist."""
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
    if not conn.response:
        return {}
    raw = conn.response[0]["raw_attributes"]
    return {k: [v.decode() for v in vals] for k, vals in raw.items() if vals}


def bind_result(dc, dn: str, password: str) -> dict:
    """The result of a simple bind over verified LDAPS."""
    conn = ldap3.Connection(ldap3.Server(dc.url, use_ssl=True, tls=dc.tls(),
                                         get_info=ldap3.NONE), dn, password)
    conn.bind()
    return conn.result


def test_update_account_changes_and_clears(admin_conn, settings, conn, account):
    update_account(conn, settings, account.guid, {"first_name": "Kimberly", "job_title": "",
                                                  "department": "Sales"})
    update_account(conn, settings, account.guid, {"first_name": "Kimberly", "job_title": ""})
    entry = read(admin_conn, account.dn, ["givenName", "displayName", "title", "department"])
    assert entry == {"givenName": ["Kimberly"], "displayName": ["Kimberly Lee"],
                     "department": ["Sales"]}


def test_reset_password(samba_dc, settings, conn, account):
    reset_password(conn, account.guid, "Second-Pa55word!", must_change=False)
    reset_password(conn, account.guid, "Second-Pa55word!", must_change=False)
    assert bind_result(samba_dc, account.dn, "Second-Pa55word!")["result"] == 0
    reset_password(conn, account.guid, "Third-Pa55word!", must_change=True)
    assert "data 773" in bind_result(samba_dc, account.dn, "Third-Pa55word!")["message"]


def test_set_groups_is_idempotent(admin_conn, conn, account, make_group):
    first, second = make_group(), make_group()
    set_groups(conn, account.guid, add=[first, second])
    set_groups(conn, account.guid, add=[first], remove=[second])
    set_groups(conn, account.guid, remove=[second])
    assert read(admin_conn, account.dn, ["memberOf"])["memberOf"] == [first]


def test_disable_then_delete_are_idempotent(admin_conn, conn, account):
    assert disable_account(conn, account.guid) is True
    assert disable_account(conn, account.guid) is False
    assert read(admin_conn, account.dn, ["userAccountControl"])["userAccountControl"] == ["514"]
    assert delete_account(conn, account.guid) is True
    assert delete_account(conn, account.guid) is False
    assert read(admin_conn, account.dn, ["cn"]) == {}
    with pytest.raises(DirectoryError) as caught:
        disable_account(conn, account.guid)
    assert caught.value.code == "account_missing"


def test_ensure_ou_creates_missing_levels_top_down(admin_conn, conn, test_ou):
    target = f"OU=Staff,OU=Client A,{test_ou}"
    assert ensure_ou(conn, target) == [f"OU=Client A,{test_ou}", target]
    assert ensure_ou(conn, target) == []
    assert read(admin_conn, target, ["ou"]) == {"ou": ["Staff"]}
