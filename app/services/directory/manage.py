"""Managing an account after creation, addressed by its objectGUID; every call is idempotent."""

from __future__ import annotations

from collections.abc import Sequence

import ldap3

from app.services.directory import attributes as attrs
from app.services.directory import operations as op
from app.services.directory.accounts import set_password
from app.services.directory.errors import DirectoryError
from app.services.directory.groups import add_member, remove_member, resolve_groups
from app.services.directory.settings import DirectorySettings, domain_of


def read_account(conn: ldap3.Connection, guid: str, attributes: list[str]) -> tuple[str, op.Entry]:
    """The DN and the asked attributes of the account, or DirectoryError 'account_missing'."""
    entries = op.search(conn, op.guid_dn(guid), "(objectClass=*)", attributes,
                        scope=ldap3.BASE, doing="read the account")
    if not entries:
        raise DirectoryError("The account no longer exists in the directory.",
                             code="account_missing")
    return entries[0]


def update_account(conn: ldap3.Connection, settings: DirectorySettings, guid: str,
                   attributes: dict[str, str]) -> None:
    """Write changed record fields to the account; an empty value clears the attribute."""
    record = dict(attributes)
    if ("first_name" in record) != ("last_name" in record):  # displayName needs both names
        _, entry = read_account(conn, guid, ["givenName", "sn"])
        record.setdefault("first_name", op.text(entry, "givenName"))
        record.setdefault("last_name", op.text(entry, "sn"))
    values = attrs.mapped_attributes(record, settings)
    if not values:
        return
    changes = {name: [(ldap3.MODIFY_REPLACE, [value] if value else [])]
               for name, value in values.items()}
    _modify(conn, guid, changes, doing="update the account")


def reset_password(conn: ldap3.Connection, guid: str, password: str, must_change: bool) -> None:
    """Set a new password, optionally to be changed at next sign-in."""
    try:
        set_password(conn, op.guid_dn(guid), password, must_change)
    except DirectoryError as error:
        raise _missing_or(error) from None


def set_groups(conn: ldap3.Connection, guid: str, add: Sequence[str] = (),
               remove: Sequence[str] = ()) -> None:
    """Add the account to the groups in add and remove it from those in remove (DNs or names)."""
    dn, _ = read_account(conn, guid, ["objectGUID"])
    base_dn = domain_of(dn)
    for group in resolve_groups(conn, base_dn, list(add)):
        add_member(conn, group, dn)
    for group in resolve_groups(conn, base_dn, list(remove)):
        remove_member(conn, group, dn)


def disable_account(conn: ldap3.Connection, guid: str) -> bool:
    """Disable the account; False when it already was."""
    _, entry = read_account(conn, guid, ["userAccountControl"])
    flags = int(op.text(entry, "userAccountControl", "0") or 0)
    if flags & attrs.ACCOUNTDISABLE:
        return False
    changes = {"userAccountControl": [(ldap3.MODIFY_REPLACE, [flags | attrs.ACCOUNTDISABLE])]}
    _modify(conn, guid, changes, doing="disable the account")
    return True


def delete_account(conn: ldap3.Connection, guid: str) -> bool:
    """Delete the account; False when it was already gone."""
    return op.delete(conn, op.guid_dn(guid), doing="delete the account", accept=(32,)) == 0


def _modify(conn: ldap3.Connection, guid: str, changes: dict, *, doing: str) -> None:
    """Modify the account by GUID, naming a vanished account plainly."""
    try:
        op.modify(conn, op.guid_dn(guid), changes, doing=doing)
    except DirectoryError as error:
        raise _missing_or(error) from None


def _missing_or(error: DirectoryError) -> DirectoryError:
    """'account_missing' for a noSuchObject on the account itself, else the error unchanged."""
    if error.code == "no_such_object":
        return DirectoryError("The account no longer exists in the directory.",
                              code="account_missing", raw=error.raw)
    return error
