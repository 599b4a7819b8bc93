"""The "Test connection" button: each thing Enlist needs from the directory, checked in turn."""

from __future__ import annotations

from dataclasses import dataclass

import ldap3

from app.services.directory import operations as op
from app.services.directory.connection import bind, open_connection
from app.services.directory.errors import DirectoryError
from app.services.directory.groups import find_groups, is_dn
from app.services.directory.ous import ancestors, exists, nearest_existing
from app.services.directory.settings import DirectorySettings

REACH, SIGN_IN, OU, PERMISSION, LDAPS = (
    "Reach the domain controller", "Sign in", "Target OU", "Permission to create users",
    "Passwords sent encrypted")


@dataclass
class Check:
    """One line of the connection test: what was checked, whether it passed, in plain words."""

    name: str
    ok: bool
    message: str


def check_connection(settings: DirectorySettings) -> list[Check]:
    """Check reachability, TLS trust, sign-in, the OU, the groups and the right to create users."""
    try:
        conn, url = open_connection(settings)
    except DirectoryError as error:
        return [Check(REACH, False, error.message),
                *_not_checked(settings, "the domain controller could not be reached")]
    trust = ("its certificate is trusted" if settings.verify_tls
             else "certificate NOT verified: verification is turned off in the settings")
    checks = [Check(REACH, True, f"Reached {url}; {trust}.")]
    try:
        bind(conn, settings)
    except DirectoryError as error:
        conn.unbind()
        return [*checks, Check(SIGN_IN, False, error.message),
                *_not_checked(settings, "the sign-in failed")[1:]]
    try:
        checks.append(Check(SIGN_IN, True, f"Signed in as {settings.bind_user}."))
        target, ou_check = _ou_check(conn, settings)
        checks += [ou_check, *_group_checks(conn, settings),
                   _permission_check(conn, target, creates_ou=target != settings.users_ou)]
    except DirectoryError as error:
        checks.append(Check("Directory", False, error.message))
    finally:
        conn.unbind()
    checks.append(Check(LDAPS, True, "Passwords are only ever sent over LDAPS (encrypted)."))
    return checks


def _not_checked(settings: DirectorySettings, why: str) -> list[Check]:
    """The checks that could not run, so the technician sees the whole list."""
    reason = f"Not checked: {why}."
    names = [SIGN_IN, OU, *(f"Group {g}" for g in settings.groups), PERMISSION]
    return [Check(name, False, reason) for name in names]


def _ou_check(conn: ldap3.Connection, settings: DirectorySettings) -> tuple[str | None, Check]:
    """Whether the users OU exists, or which existing parent it would be created under."""
    ou = settings.users_ou
    if exists(conn, ou):
        return ou, Check(OU, True, f"{ou} exists.")
    parent = nearest_existing(conn, ou)
    if parent and ancestors(ou)[1:2] == [parent]:
        return parent, Check(OU, True, f"{ou} does not exist yet; it will be created in "
                                       f"{parent}, which exists.")
    where = f"only {parent} exists" if parent else "none of its parent OUs exists"
    return parent, Check(OU, False, f"{ou} does not exist and {where}: create it in AD or "
                                    "correct the OU in the settings.")


def _group_checks(conn: ldap3.Connection, settings: DirectorySettings) -> list[Check]:
    """One check per default group: does it exist?"""
    names = [g for g in settings.groups if not is_dn(g)]
    by_name = find_groups(conn, settings.base_dn, names) if names else {}
    checks = []
    for group in settings.groups:
        found = exists(conn, group) if is_dn(group) else group.lower() in by_name
        message = (f"The group {group} exists." if found else
                   f"The group {group} was not found in the domain: create it or remove it "
                   "from the default groups.")
        checks.append(Check(f"Group {group}", found, message))
    return checks


def _permission_check(conn: ldap3.Connection, target: str | None, creates_ou: bool) -> Check:
    """Whether the signed-in account may create user objects (and the OU) where users will go."""
    if target is None:
        return Check(PERMISSION, False, "Not checked: the target OU and its parents are missing.")
    entries = op.search(conn, target, "(objectClass=*)", ["allowedChildClassesEffective"],
                        scope=ldap3.BASE, doing="read the permissions on the OU")
    allowed = {v.lower() for v in op.values_of(entries[0][1], "allowedChildClassesEffective")} \
        if entries else set()
    needed = {"user", "organizationalunit"} if creates_ou else {"user"}
    if needed <= allowed:
        what = "create the OU and users" if creates_ou else "create users"
        return Check(PERMISSION, True, f"The account may {what} in {target}.")
    return Check(PERMISSION, False, f"The account may not create users in {target}: delegate "
                                    "'Create, delete and manage user accounts' on that OU to it.")
