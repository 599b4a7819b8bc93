"""Creating one user account idempotently: add (disabled) → password → enable → groups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import ldap3
from ldap3.utils.conv import escape_filter_chars

from app.services.directory import attributes as attrs
from app.services.directory import operations as op
from app.services.directory.errors import AccountConflict, DirectoryError
from app.services.directory.groups import add_member, dn_key, resolve_groups
from app.services.directory.settings import DirectorySettings

log = logging.getLogger(__name__)
STEPS = ("add", "password", "enable", "groups")
_READ = ["objectGUID", "sAMAccountName", "userPrincipalName", "userAccountControl", "memberOf",
         attrs.MARKER_ATTRIBUTE]
StepDone = Callable[[str, str], None]


@dataclass
class AccountSpec:
    """The account to create for one Enlist user."""

    enlist_id: str  # stable id of our user, stored as the marker on the AD object
    username: str  # sAMAccountName
    attributes: dict[str, str]  # record field name → value (user_schema names)
    password: str = field(repr=False)


@dataclass
class FoundAccount:
    """An existing AD account matched by GUID, username or UPN."""

    dn: str
    guid: str
    uac: int
    groups: list[str]
    marker: str
    ours: bool  # carries the marker for the enlist_id asked about; otherwise a conflict
    matched_by: str  # "guid", "username" or "upn"

    @property
    def enabled(self) -> bool:
        """True when the account is not disabled."""
        return not self.uac & attrs.ACCOUNTDISABLE


@dataclass
class EnsureResult:
    """Where the account is and what this run did."""

    dn: str
    guid: str
    created: bool
    steps: list[str]  # the steps performed by this run, in order
    groups_added: list[str] = field(default_factory=list)


def find_account(conn: ldap3.Connection, settings: DirectorySettings, *,
                 object_guid: str | None = None, username: str | None = None,
                 upn: str | None = None, enlist_id: str | None = None) -> FoundAccount | None:
    """The account matched by objectGUID, else sAMAccountName, else UPN (one search)."""
    terms = [op.guid_filter(object_guid)] if object_guid else []
    terms += [f"(sAMAccountName={escape_filter_chars(username)})"] if username else []
    terms += [f"(userPrincipalName={escape_filter_chars(upn)})"] if upn else []
    if not terms:
        return None
    entries = op.search(conn, settings.base_dn, f"(|{''.join(terms)})", _READ,
                        doing="look for the account")
    wanted = {"guid": (object_guid or "").lower(), "username": (username or "").lower(),
              "upn": (upn or "").lower()}
    for how, read in (("guid", op.guid_of), ("username", lambda e: op.text(e, "sAMAccountName")),
                      ("upn", lambda e: op.text(e, "userPrincipalName"))):
        for dn, entry in entries:
            if wanted[how] and read(entry).lower() == wanted[how]:
                return _found(dn, entry, how, enlist_id)
    return None


def _found(dn: str, entry: op.Entry, how: str, enlist_id: str | None) -> FoundAccount:
    """A FoundAccount from a search entry."""
    marker = op.text(entry, attrs.MARKER_ATTRIBUTE)
    flags = op.text(entry, "userAccountControl")
    return FoundAccount(dn=dn, guid=op.guid_of(entry), uac=int(flags) if flags.isdigit() else 0,
                        groups=op.values_of(entry, "memberOf"), marker=marker,
                        ours=enlist_id is not None and marker == attrs.marker_value(enlist_id),
                        matched_by=how)


def ensure_ad_user(conn: ldap3.Connection, settings: DirectorySettings, spec: AccountSpec, *,
                   known_guid: str | None = None,
                   step_done: StepDone | None = None) -> EnsureResult:
    """Create or finish the account for spec, doing only the steps still missing."""
    upn = attrs.upn_for(spec.username, settings)
    found = find_account(conn, settings, object_guid=known_guid, username=spec.username, upn=upn,
                         enlist_id=spec.enlist_id)
    steps: list[str] = []

    def done(step: str, account: FoundAccount) -> None:
        """Record a finished step and report it, with the GUID, before the next one starts."""
        steps.append(step)
        log.info("directory: %s %s done (%s)", spec.username, step, account.guid)
        if step_done:
            step_done(step, account.guid)

    account = _checked(found, spec, upn) if found else _add(conn, settings, spec, upn)
    created = account.matched_by == "new"
    if created:
        done("add", account)
    if not account.enabled:  # password and enable are due until the account is enabled
        set_password(conn, account.dn, spec.password, settings.must_change_password)
        done("password", account)
        _enable(conn, settings, account.dn)
        done("enable", account)
    added = _join_groups(conn, settings, account)
    done("groups", account)
    return EnsureResult(dn=account.dn, guid=account.guid, created=created, steps=steps,
                        groups_added=added)


def _checked(found: FoundAccount, spec: AccountSpec, upn: str) -> FoundAccount:
    """The found account when it is ours; an AccountConflict otherwise."""
    if found.ours or found.matched_by == "guid":  # the GUID we stored names our account
        return found
    if found.matched_by == "upn":
        message = (f"The sign-in name {upn} is already used by another account ({found.dn}) "
                   "that Enlist did not create.")
        raise AccountConflict(message, code="upn_in_use", dn=found.dn)
    message = (f"The username {spec.username} is already used by another account ({found.dn}) "
               "that Enlist did not create.")
    raise AccountConflict(message, code="username_in_use", dn=found.dn)


def _add(conn: ldap3.Connection, settings: DirectorySettings, spec: AccountSpec,
         upn: str) -> FoundAccount:
    """The add step: a disabled account with every mapped attribute and our marker."""
    values = attrs.new_account_attributes(spec.attributes, spec.username, spec.enlist_id,
                                          settings)
    for cn in attrs.cn_candidates(spec.attributes, spec.username):
        dn = attrs.account_dn(cn, settings.users_ou)
        values["cn"] = cn
        upn_taken = None
        try:
            if op.add(conn, dn, ["top", "person", "organizationalPerson", "user"], values,
                      doing="create the account", accept=(68,)) == 0:
                return _new_account(conn, dn, values)
        except DirectoryError as error:
            if error.code != "upn_in_use":
                raise
            upn_taken = error
        # The username, UPN or CN is taken: by a racing run of ours, by someone else, or
        # (only the CN) by a namesake, in which case the next CN is tried.
        again = find_account(conn, settings, username=spec.username, upn=upn,
                             enlist_id=spec.enlist_id)
        if again:
            return _checked(again, spec, upn)
        if upn_taken:
            raise upn_taken
    raise DirectoryError(f"Could not create the account: the name {cn!r} is taken in "
                         f"{settings.users_ou}, or the username {spec.username} is used by an "
                         "account the sign-in account cannot see.", code="name_in_use")


def _new_account(conn: ldap3.Connection, dn: str, values: dict) -> FoundAccount:
    """The account just added, with the objectGUID the DC gave it."""
    entries = op.search(conn, dn, "(objectClass=*)", ["objectGUID"], scope=ldap3.BASE,
                        doing="read the new account")
    if not entries:
        raise DirectoryError("The new account vanished right after it was created.",
                             code="no_such_object", transient=True)
    return FoundAccount(dn, op.guid_of(entries[0][1]), values["userAccountControl"], [],
                        values[attrs.MARKER_ATTRIBUTE], True, "new")


def set_password(conn: ldap3.Connection, dn: str, password: str, must_change: bool) -> None:
    """Set unicodePwd (LDAPS only); pwdLastSet=0 makes the user change it at next sign-in."""
    changes = {"unicodePwd": [(ldap3.MODIFY_REPLACE, [attrs.quoted_password(password)])]}
    if must_change:
        changes["pwdLastSet"] = [(ldap3.MODIFY_REPLACE, [0])]
    op.modify(conn, dn, changes, doing="set the password", secrets=(password,))


def _enable(conn: ldap3.Connection, settings: DirectorySettings, dn: str) -> None:
    """The enable step: userAccountControl, and accountExpires when the settings set it."""
    changes = {"userAccountControl": [(ldap3.MODIFY_REPLACE, [attrs.enabled_flags(settings)])]}
    if settings.account_expires:
        expires = attrs.filetime_end_of(settings.account_expires)
        changes["accountExpires"] = [(ldap3.MODIFY_REPLACE, [expires])]
    op.modify(conn, dn, changes, doing="enable the account")


def _join_groups(conn: ldap3.Connection, settings: DirectorySettings,
                 account: FoundAccount) -> list[str]:
    """The groups step: add the account to each default group it is not in yet."""
    current = {dn_key(g) for g in account.groups}
    added = []
    for group in resolve_groups(conn, settings.base_dn, settings.groups):
        if dn_key(group) not in current and add_member(conn, group, account.dn):
            added.append(group)
    return added
