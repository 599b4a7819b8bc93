"""From a canonical user record to AD attribute values, via the one field schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ldap3.utils.dn import escape_rdn

from app.services.directory.settings import DirectorySettings
from app.services.user_schema import AD_ATTRIBUTES

# The marker that says "Enlist created this account for that user". adminDescription exists on
# every object in Samba and Windows AD, is writable by a delegated account and sits out of sight
# in the Attribute Editor, where technicians have no reason to change it.
MARKER_ATTRIBUTE = "adminDescription"
MARKER_PREFIX = "enlist:"
CN_MAX = 64  # Windows AD's upper bound for cn; Samba is laxer
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
DONT_EXPIRE_PASSWORD = 0x10000
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def marker_value(enlist_id: str) -> str:
    """The marker value stored on an account Enlist created for enlist_id."""
    return f"{MARKER_PREFIX}{enlist_id}"


def display_name(record: dict) -> str:
    """The "First Last" name used for cn and displayName."""
    return " ".join(str(record.get(k) or "").strip() for k in ("first_name", "last_name")).strip()


def upn_for(username: str, settings: DirectorySettings) -> str:
    """The userPrincipalName: username@upn_suffix."""
    return f"{username}@{settings.upn_suffix.lstrip('@')}"


def mapped_attributes(record: dict, settings: DirectorySettings) -> dict[str, str]:
    """AD attribute → value for every schema field present in record ('' means clear it)."""
    values = {AD_ATTRIBUTES[name]: str(value if value is not None else "").strip()
              for name, value in record.items() if name in AD_ATTRIBUTES}
    phone_attr, ext_attr = AD_ATTRIBUTES["phone"], AD_ATTRIBUTES["extension"]
    if settings.extension_in_phone and ext_attr in values:
        extension = values.pop(ext_attr)
        if extension and values.get(phone_attr):
            values[phone_attr] = f"{values[phone_attr]} x{extension}"
    if "first_name" in record or "last_name" in record:
        values["displayName"] = display_name(record)
    if "username" in record and values.get(AD_ATTRIBUTES["username"]):
        values["userPrincipalName"] = upn_for(values[AD_ATTRIBUTES["username"]], settings)
    return values


def new_account_attributes(record: dict, username: str, enlist_id: str,
                           settings: DirectorySettings) -> dict[str, object]:
    """Everything written by the add step: mapped fields, names, marker, disabled."""
    values = mapped_attributes({**record, "username": username}, settings)
    attributes: dict[str, object] = {k: v for k, v in values.items() if v}
    attributes["displayName"] = display_name(record) or username
    attributes[MARKER_ATTRIBUTE] = marker_value(enlist_id)
    attributes["userAccountControl"] = NORMAL_ACCOUNT | ACCOUNTDISABLE
    return attributes


def cn_candidates(record: dict, username: str) -> list[str]:
    """RDN values to try in order: "First Last", then "First Last (username)" on a collision."""
    name = display_name(record) or username
    suffix = f" ({username})"
    return [name[:CN_MAX].strip(), name[:CN_MAX - len(suffix)].strip() + suffix]


def account_dn(cn: str, ou: str) -> str:
    """The DN of an account named cn in ou, with the name escaped."""
    return f"CN={escape_rdn(cn)},{ou}"


def quoted_password(password: str) -> bytes:
    """unicodePwd's format: the password in double quotes, UTF-16LE."""
    return f'"{password}"'.encode("utf-16-le")


def enabled_flags(settings: DirectorySettings) -> int:
    """userAccountControl for an enabled account under these settings."""
    return NORMAL_ACCOUNT | (DONT_EXPIRE_PASSWORD if settings.password_never_expires else 0)


def filetime_end_of(day: date) -> int:
    """accountExpires for "works through day": midnight UTC after it, in 100 ns since 1601."""
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return int((moment - _FILETIME_EPOCH).total_seconds()) * 10_000_000
