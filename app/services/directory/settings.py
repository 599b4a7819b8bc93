"""How Enlist reaches one deployment's Active Directory and what it creates there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from app.services.directory.errors import DirectoryError


@dataclass
class DirectorySettings:
    """One deployment's directory connection and account defaults (no Flask, no database)."""

    urls: list[str]  # LDAPS only: the primary DC first, then fallbacks tried in order
    bind_user: str  # a DN or a UPN
    bind_password: str = field(repr=False)
    users_ou: str  # full DN of the OU where new accounts go
    upn_suffix: str
    ca_cert_pem: str | None = field(default=None, repr=False)  # None: the system's trusted CAs
    verify_tls: bool = True  # turning verification off is an explicit choice
    tls_server_name: str | None = None  # the name the certificate must carry, when not the URL's host
    groups: list[str] = field(default_factory=list)  # group DNs, or names looked up in the domain
    must_change_password: bool = True
    # Windows ignores "must change at next logon" on an account whose password never expires.
    password_never_expires: bool = False
    account_expires: date | None = None  # the account works through this day (UTC)
    extension_in_phone: bool = False  # True: "5551234 x12" in telephoneNumber instead of ipPhone
    connect_timeout: float = 5
    receive_timeout: float = 15

    @property
    def base_dn(self) -> str:
        """The domain's naming context: the DC= components of the users OU."""
        return domain_of(self.users_ou)


def domain_of(dn: str) -> str:
    """The DC=... tail of a distinguished name; DirectoryError when there is none."""
    try:
        rdns = parse_dn(dn, strip=True)
    except LDAPInvalidDnError:
        rdns = []
    parts = [f"{attr}={value}" for attr, value, _ in rdns if attr.lower() == "dc"]
    if not parts:
        raise DirectoryError(f"'{dn}' is not a full distinguished name such as "
                             "OU=Staff,DC=client,DC=local.", code="invalid_dn")
    return ",".join(parts)
