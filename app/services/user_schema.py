"""The canonical user record: every field defined once.

The Excel template, the validator, the header matcher, the field-matching screen, the manual form,
the database columns and the Active Directory attribute map are all derived from USER_FIELDS.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserField:
    """One field of the canonical user record."""

    name: str
    label: str
    mandatory: bool
    max_length: int
    kind: str  # "name", "email", "username", "digits", "text": which rules of the validator apply
    ad_attribute: str | None
    header: str
    aliases: tuple[str, ...] = field(default_factory=tuple)
    help: str = ""
    allowed: str = ""  # the allowed characters, in words, for the template's instructions
    derivable: bool = False  # mandatory, but can be derived when missing (the username)
    as_text: bool = False  # kept as text in spreadsheets so leading zeros survive

    @property
    def template_header(self) -> str:
        """The header written in the Excel template: mandatory fields carry a star."""
        return f"{self.header}*" if self.mandatory else self.header


USER_FIELDS: tuple[UserField, ...] = (
    UserField(
        "first_name", "First name", True, 64, "name", "givenName", "First Name",
        aliases=("firstname", "given name", "givenname", "forename", "first",
                 "first name [required]", "name.givenname", "contact first name"),
        help="Letters, spaces and hyphens only.",
        allowed="letters (accented letters too), spaces and hyphens",
    ),
    UserField(
        "last_name", "Last name", True, 64, "name", "sn", "Last Name",
        aliases=("lastname", "surname", "family name", "familyname", "sn", "last",
                 "last name [required]", "name.familyname", "contact last name"),
        help="Letters, spaces and hyphens only.",
        allowed="letters (accented letters too), spaces and hyphens",
    ),
    UserField(
        "email", "Email", True, 254, "email", "mail", "Email",
        aliases=("e-mail", "mail", "email address", "e-mail address", "emailaddress",
                 "primary email", "primary email [required]", "work email",
                 "contact email", "email id"),
        help="The user's own mailbox, for example pat.oleary@client.com.",
        allowed="a valid email address",
    ),
    UserField(
        "username", "Username", True, 20, "username", "sAMAccountName", "Username",
        aliases=("user name", "user", "login", "logon name", "samaccountname", "account name",
                 "user principal name", "userprincipalname", "upn",
                 "user name [username@domain] required", "user name [userprincipalname] required",
                 "user principal name [userprincipalname] required"),
        help="The Windows sign-in name: at most 20 characters. Left empty, it is derived "
             "from the naming policy.",
        allowed='up to 20 characters, none of " / \\ [ ] : ; | = , + * ? < > @, no trailing dot',
        derivable=True, as_text=True,
    ),
    UserField(
        "phone", "Phone", True, 32, "digits", "telephoneNumber", "Phone",
        aliases=("phone number", "telephone", "telephone number", "telephonenumber", "tel",
                 "mobile", "mobile phone", "mobile number", "cell", "cell phone",
                 "office phone", "business phone", "work phone", "direct", "direct line",
                 "phone numbers.value", "mobile phone [mobile]",
                 "office phone [telephonenumber]"),
        help="Digits only: no parentheses, spaces or dashes.",
        allowed="digits only (no parentheses, spaces, dashes or plus sign)",
        as_text=True,
    ),
    UserField(
        "extension", "Extension", False, 10, "digits", "ipPhone", "Extension",
        aliases=("ext", "ext.", "phone extension", "extension number", "ipphone"),
        help="Digits only, optional.",
        allowed="digits only",
        as_text=True,
    ),
    UserField(
        "department", "Department", False, 64, "text", "department", "Department",
        aliases=("dept", "team", "division", "department [department]", "organizations.department"),
        allowed="any printable characters",
    ),
    UserField(
        "location", "Location", False, 128, "text", "physicalDeliveryOfficeName", "Location",
        aliases=("office", "office location", "site", "branch", "physicaldeliveryofficename",
                 "office [physicaldeliveryofficename]", "city",
                 "addresses.locality", "building", "building id"),
        allowed="any printable characters",
    ),
    UserField(
        "job_title", "Job title", False, 128, "text", "title", "Job Title",
        aliases=("title", "position", "role", "job", "jobtitle", "job title [jobtitle]",
                 "organizations.title", "employee title"),
        allowed="any printable characters",
    ),
)

FIELDS_BY_NAME: dict[str, UserField] = {f.name: f for f in USER_FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in USER_FIELDS)
MANDATORY_FIELDS: tuple[str, ...] = tuple(f.name for f in USER_FIELDS if f.mandatory)
AD_ATTRIBUTES: dict[str, str] = {f.name: f.ad_attribute for f in USER_FIELDS if f.ad_attribute}

_STAR_AND_SPACES = re.compile(r"[\s*_]+")


def header_key(text: object) -> str:
    """Fold a spreadsheet header for matching: case, spaces, underscores and the star ignored."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return _STAR_AND_SPACES.sub(" ", folded).strip()


def _header_index() -> dict[str, str]:
    """Every accepted spelling of every header, folded, mapped to its field name."""
    index: dict[str, str] = {}
    for f in USER_FIELDS:
        for spelling in (f.name, f.header, f.label, *f.aliases):
            index.setdefault(header_key(spelling), f.name)
            index.setdefault(header_key(spelling).replace(" ", ""), f.name)
    return index


HEADER_INDEX: dict[str, str] = _header_index()


def field_for_header(text: object) -> str | None:
    """The field a spreadsheet or CSV header stands for, or None for an unknown column."""
    key = header_key(text)
    return HEADER_INDEX.get(key) or HEADER_INDEX.get(key.replace(" ", ""))


def empty_record() -> dict[str, str]:
    """A record with every field present and empty."""
    return {name: "" for name in FIELD_NAMES}
