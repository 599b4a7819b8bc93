"""Finding groups by DN or name, and changing membership idempotently."""

from __future__ import annotations

import ldap3
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from app.services.directory import operations as op
from app.services.directory.errors import DirectoryError

# Already a member: 68 (Samba, and Windows for the primary group), 20 attributeOrValueExists.
_ALREADY_MEMBER = (20, 68)
# Not a member: 16 noSuchAttribute, 53 unwillingToPerform (Windows 00000561, Samba).
_NOT_MEMBER = (16, 53)


def is_dn(name: str) -> bool:
    """True when a configured group is written as a DN rather than a plain name."""
    return "=" in name


def dn_key(dn: str) -> tuple:
    """A comparable form of a DN: case and spaces around separators ignored."""
    try:
        return tuple((a.lower(), v.lower()) for a, v, _ in parse_dn(dn, strip=True))
    except Exception:  # an unparsable DN still compares with itself
        return (dn.lower(),)


def resolve_groups(conn: ldap3.Connection, base_dn: str, groups: list[str]) -> list[str]:
    """Group DNs for configured groups: DNs pass through, names are looked up (one search)."""
    names = [g for g in groups if not is_dn(g)]
    if not names:
        return list(groups)
    found = find_groups(conn, base_dn, names)
    missing = [n for n in names if n.lower() not in found]
    if missing:
        raise DirectoryError(f"The group {', '.join(missing)} was not found in the domain.",
                             code="group_missing")
    return [g if is_dn(g) else found[g.lower()] for g in groups]


def find_groups(conn: ldap3.Connection, base_dn: str, names: list[str]) -> dict[str, str]:
    """Lower-cased name → DN for the groups among names, matched on sAMAccountName or cn."""
    terms = "".join(f"(sAMAccountName={escape_filter_chars(n)})(cn={escape_filter_chars(n)})"
                    for n in names)
    entries = op.search(conn, base_dn, f"(&(objectClass=group)(|{terms}))",
                        ["sAMAccountName", "cn"], doing="look up the groups")
    result: dict[str, str] = {}
    for attribute in ("cn", "sAMAccountName"):  # the account name wins over a display cn
        for dn, entry in entries:
            result[op.text(entry, attribute).lower()] = dn
    return result


def add_member(conn: ldap3.Connection, group_dn: str, member_dn: str) -> bool:
    """Add member_dn to group_dn; False when it was already a member."""
    try:
        code = op.modify(conn, group_dn, {"member": [(ldap3.MODIFY_ADD, [member_dn])]},
                         doing="add the account to the group", accept=_ALREADY_MEMBER)
    except DirectoryError as error:
        if error.code != "no_such_object":
            raise
        raise DirectoryError(f"The group {group_dn} does not exist in the directory.",
                             code="group_missing", raw=error.raw) from None
    return code == 0


def remove_member(conn: ldap3.Connection, group_dn: str, member_dn: str) -> bool:
    """Remove member_dn from group_dn; False when it was not a member."""
    code = op.modify(conn, group_dn, {"member": [(ldap3.MODIFY_DELETE, [member_dn])]},
                     doing="remove the account from the group", accept=_NOT_MEMBER)
    return code == 0
