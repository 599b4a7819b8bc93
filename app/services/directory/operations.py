"""LDAP operations that raise DirectoryError instead of returning False or raising ldap3 errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_bytes

from app.services.directory.errors import DirectoryError, error_from_exception, error_from_result

Entry = dict[str, list[bytes]]
TREE_DELETE = "1.2.840.113556.1.4.805"


def _run(conn: ldap3.Connection, call, *, doing: str, target: str, accept: Iterable[int] = (),
         secrets: tuple[str, ...] = ()) -> int:
    """Run one ldap3 call; return its result code when it succeeded or is in accept."""
    try:
        call()
    except LDAPException as error:
        raise error_from_exception(error, doing=doing, secrets=secrets) from None
    code = (conn.result or {}).get("result", 0)
    if code != 0 and code not in accept:
        raise error_from_result(conn.result, doing=doing, target=target)
    return code


def search(conn: ldap3.Connection, base: str, query: str, attributes: list[str], *,
           doing: str, scope=ldap3.SUBTREE) -> list[tuple[str, Entry]]:
    """Entries (dn, raw attributes) matching the filter; a missing base gives no entries."""
    _run(conn, lambda: conn.search(base, query, scope, attributes=attributes),
         doing=doing, target=base, accept=(32,))
    return [(r["dn"], r["raw_attributes"]) for r in conn.response or ()
            if r.get("type") == "searchResEntry"]


def add(conn: ldap3.Connection, dn: str, object_class: list[str] | str, attributes: dict, *,
        doing: str, accept: Iterable[int] = ()) -> int:
    """Add an entry; returns 0, or an accepted failure code."""
    return _run(conn, lambda: conn.add(dn, object_class, attributes), doing=doing, target=dn,
                accept=accept)


def modify(conn: ldap3.Connection, dn: str, changes: dict, *, doing: str,
           accept: Iterable[int] = (), secrets: tuple[str, ...] = ()) -> int:
    """Modify an entry; returns 0, or an accepted failure code."""
    return _run(conn, lambda: conn.modify(dn, changes), doing=doing, target=dn, accept=accept,
                secrets=secrets)


def delete(conn: ldap3.Connection, dn: str, *, doing: str, subtree: bool = False,
           accept: Iterable[int] = ()) -> int:
    """Delete an entry (with its children when subtree); returns 0 or an accepted code."""
    controls = [(TREE_DELETE, True, None)] if subtree else None
    return _run(conn, lambda: conn.delete(dn, controls=controls), doing=doing, target=dn,
                accept=accept)


def text(entry: Entry, name: str, default: str = "") -> str:
    """The first value of an attribute as text (attribute names are case-insensitive)."""
    values = values_of(entry, name)
    return values[0] if values else default


def values_of(entry: Entry, name: str) -> list[str]:
    """All values of an attribute as text."""
    for key, values in entry.items():
        if key.lower() == name.lower():
            return [v.decode("utf-8", "replace") for v in values]
    return []


def guid_of(entry: Entry) -> str:
    """The objectGUID of an entry in its usual text form."""
    for key, values in entry.items():
        if key.lower() == "objectguid" and values:
            return str(uuid.UUID(bytes_le=values[0]))
    raise DirectoryError("The directory did not return the account's objectGUID.",
                         code="no_guid")


def guid_filter(guid: str) -> str:
    """An LDAP filter term matching one objectGUID."""
    return f"(objectGUID={escape_bytes(uuid.UUID(str(guid)).bytes_le)})"


def guid_dn(guid: str) -> str:
    """The <GUID=...> form AD accepts wherever a DN is expected, so no search is needed."""
    return f"<GUID={uuid.UUID(str(guid))}>"
