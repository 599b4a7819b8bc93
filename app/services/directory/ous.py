"""Organizational units: making sure the target OU exists."""

from __future__ import annotations

import ldap3
from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from app.services.directory import operations as op
from app.services.directory.errors import DirectoryError


def exists(conn: ldap3.Connection, dn: str) -> bool:
    """True when an entry with this DN exists."""
    return bool(op.search(conn, dn, "(objectClass=*)", ["objectClass"], doing="read the OU",
                          scope=ldap3.BASE))


def ancestors(dn: str) -> list[str]:
    """The DN and each parent up to (not including) the domain, nearest first."""
    try:
        rdns = parse_dn(dn, strip=True)
    except LDAPInvalidDnError:
        raise DirectoryError(f"'{dn}' is not a valid distinguished name.",
                             code="invalid_dn") from None
    chain = [",".join(f"{a}={v}" for a, v, _ in rdns[i:]) for i in range(len(rdns))]
    return [d for d, (attr, _, _) in zip(chain, rdns) if attr.lower() != "dc"]


def nearest_existing(conn: ldap3.Connection, dn: str) -> str | None:
    """The DN itself or its closest existing parent below the domain; None when none exists."""
    for candidate in ancestors(dn):
        if exists(conn, candidate):
            return candidate
    return None


def ensure_ou(conn: ldap3.Connection, dn: str) -> list[str]:
    """Create the OU and any missing parent OUs, top down; return the DNs created (idempotent)."""
    if exists(conn, dn):
        return []
    created = []
    for level in reversed(ancestors(dn)):
        if not level.lower().startswith("ou="):
            if exists(conn, level):
                continue
            raise DirectoryError(f"{level} does not exist and is not an OU Enlist can create.",
                                 code="no_such_object")
        code = op.add(conn, level, "organizationalUnit", {}, doing="create the OU", accept=(68,))
        if code == 0:
            created.append(level)
    return created
