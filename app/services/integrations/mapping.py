"""From a ConnectWise contact or a Zendesk user to a canonical user record.

A source field is named by a stable key: a dotted path into the record ("department.name"), or
a computed value ("email:default", "name:first", "item:Mobile"). The field-matching screen
offers source_fields(); a saved mapping is {Enlist field name: source key or None}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.services.integrations.names import split_name
from app.services.integrations.results import CONNECTWISE, ZENDESK, source_key
from app.services.user_schema import FIELD_NAMES, FIELDS_BY_NAME, empty_record, field_for_header

_EXT = ":extension"
_ITEM = "item:"
_USER_FIELD = "user_fields."


@dataclass(frozen=True)
class SourceField:
    """One field a provider offers on the field-matching screen."""

    key: str
    label: str


@dataclass
class MappedRecord:
    """One source record as canonical field values, with what the mapping had to guess."""

    values: dict[str, str]
    source_key: str
    warnings: list[tuple[str, str]] = field(default_factory=list)


_CONNECTWISE_FIELDS = (
    SourceField("firstName", "First name"),
    SourceField("lastName", "Last name"),
    SourceField("title", "Title"),
    SourceField("department.name", "Department"),
    SourceField("site.name", "Site"),
    SourceField("company.name", "Company name"),
    SourceField("email:default", "Default email"),
    SourceField("phone:default", "Default phone"),
    SourceField("phone:default" + _EXT, "Default phone extension"),
    SourceField(_ITEM + "Direct", "Direct"),
    SourceField(_ITEM + "Direct" + _EXT, "Direct extension"),
    SourceField(_ITEM + "Mobile", "Mobile"),
    SourceField("defaultPhoneNbr", "Default phone number (contact field)"),
    SourceField("defaultPhoneExtension", "Default phone extension (contact field)"),
)

_ZENDESK_FIELDS = (
    SourceField("name:first", "Name (first part)"),
    SourceField("name:last", "Name (last part)"),
    SourceField("name", "Name (whole)"),
    SourceField("email", "Email"),
    SourceField("phone", "Phone"),
    SourceField("external_id", "External id"),
)

# Keys are Enlist field names from the schema (checked below); fields not named map to nothing.
_DEFAULTS = {
    CONNECTWISE: {"first_name": "firstName", "last_name": "lastName", "email": "email:default",
                  "phone": "phone:default", "extension": "phone:default" + _EXT,
                  "department": "department.name", "location": "site.name",
                  "job_title": "title"},
    ZENDESK: {"first_name": "name:first", "last_name": "name:last", "email": "email",
              "phone": "phone"},
}
_unknown = {name for table in _DEFAULTS.values() for name in table} - set(FIELDS_BY_NAME)
if _unknown:  # the defaults name fields of the one schema; a renamed field must fail at import, loudly
    raise RuntimeError(f"integration mapping defaults name unknown fields: {sorted(_unknown)}")


def source_fields(provider: str, records: Iterable[dict] = ()) -> list[SourceField]:
    """The source fields offered for a provider, plus custom ones seen in fetched records."""
    if provider == CONNECTWISE:
        offered = list(_CONNECTWISE_FIELDS)
        known = {f.key for f in offered}
        for type_name in _seen((r.get("type") or {}).get("name") for rec in records
                               for r in rec.get("communicationItems") or []):
            if _ITEM + type_name not in known:
                offered.append(SourceField(_ITEM + type_name, type_name))
        return offered
    if provider == ZENDESK:
        keys = _seen(k for rec in records for k in (rec.get("user_fields") or {}))
        return [*_ZENDESK_FIELDS,
                *(SourceField(_USER_FIELD + k, f"Custom field: {k}") for k in keys)]
    raise ValueError(f"unknown provider {provider!r}")


def default_mapping(provider: str, records: Iterable[dict] = ()) -> dict[str, str | None]:
    """The mapping a technician starts from: every Enlist field, mapped or None."""
    mapping: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    mapping.update(_DEFAULTS[provider])
    if provider == ZENDESK:  # a custom field named like an Enlist header maps itself
        for source in source_fields(provider, records):
            if not source.key.startswith(_USER_FIELD):
                continue
            target = field_for_header(source.key[len(_USER_FIELD):])
            if target and mapping.get(target) is None:
                mapping[target] = source.key
    return mapping


def extract(provider: str, record: dict, key: str) -> str:
    """The text of one source field of one record ("" when absent)."""
    return _extract(provider, record, key)[0]


def apply_mapping(provider: str, record: dict, mapping: dict[str, str | None]) -> MappedRecord:
    """One record through a mapping: canonical values, the guesses made, its source key."""
    values = empty_record()
    warnings: list[tuple[str, str]] = []
    for name, key in mapping.items():
        if name not in values or not key:
            continue  # a field dropped from the schema since the mapping was saved
        values[name], note = _extract(provider, record, key)
        if note and all(note != seen for _, seen in warnings):
            warnings.append((name, note))
    return MappedRecord(values, record_key(provider, record), warnings)


def record_key(provider: str, record: dict) -> str:
    """The stable source key of a record: "connectwise:contact:123", "zendesk:user:456"."""
    kind = {CONNECTWISE: "contact", ZENDESK: "user"}[provider]
    return source_key(provider, kind, record.get("id"))


def _extract(provider: str, record: dict, key: str) -> tuple[str, str | None]:
    """A value and, when the value is a guess, a warning."""
    if provider == CONNECTWISE:
        return _connectwise_value(record, key)
    if provider == ZENDESK:
        return _zendesk_value(record, key)
    raise ValueError(f"unknown provider {provider!r}")


def _zendesk_value(user: dict, key: str) -> tuple[str, str | None]:
    """A Zendesk user's field: name parts computed, custom fields under user_fields."""
    if key in ("name:first", "name:last"):
        split = split_name(user.get("name"))
        return (split.first if key == "name:first" else split.last), split.warning
    if key.startswith(_USER_FIELD):
        return _text((user.get("user_fields") or {}).get(key[len(_USER_FIELD):])), None
    return _text(_path(user, key)), None


def _connectwise_value(contact: dict, key: str) -> tuple[str, str | None]:
    """A ConnectWise contact's field: email and phones come from communicationItems."""
    items = contact.get("communicationItems") or []
    if key == "email:default":
        return _default_email(items)
    if key.startswith("phone:default"):
        number, extension, note = _default_phone(contact, items)
        return (extension if key.endswith(_EXT) else number), note
    if key.startswith(_ITEM):
        type_name = key[len(_ITEM):].removesuffix(_EXT)
        chosen = _first_default([i for i in items if _type_name(i) == type_name.casefold()])
        if chosen is None:
            return "", None
        return _text(chosen.get("extension" if key.endswith(_EXT) else "value")), None
    return _text(_path(contact, key)), None


def _default_email(items: list[dict]) -> tuple[str, str | None]:
    """The default Email item, else the first one (flagged when there was a choice)."""
    emails = [i for i in items if i.get("communicationType") == "Email" and i.get("value")]
    chosen = _first_default(emails)
    if chosen is None:
        return "", None
    note = None
    if not chosen.get("defaultFlag") and len(emails) > 1:
        note = (f"{len(emails)} email addresses and none marked default: the first one "
                f"({chosen.get('value')}) was used")
    return _text(chosen.get("value")), note


def _default_phone(contact: dict, items: list[dict]) -> tuple[str, str, str | None]:
    """Number and extension: default Phone item, else the contact's default fields."""
    phones = [i for i in items if i.get("communicationType") == "Phone" and i.get("value")]
    default = next((i for i in phones if i.get("defaultFlag")), None)
    if default is not None:
        return _text(default.get("value")), _text(default.get("extension")), None
    if contact.get("defaultPhoneNbr"):
        return (_text(contact.get("defaultPhoneNbr")),
                _text(contact.get("defaultPhoneExtension")), None)
    if phones:  # numbers exist but none is marked default: take the first, and say so
        first = phones[0]
        return (_text(first.get("value")), _text(first.get("extension")),
                f"no default phone: the {first.get('type', {}).get('name') or 'first'} "
                "number was used")
    return "", "", None


def _first_default(items: list[dict]) -> dict | None:
    """The item flagged default, else the first, else None."""
    return next((i for i in items if i.get("defaultFlag")), items[0] if items else None)


def _type_name(item: dict) -> str:
    """A communication item's type name, folded for comparison."""
    return str((item.get("type") or {}).get("name") or "").casefold()


def _path(record: dict, key: str) -> object:
    """Follow a dotted path through nested objects; None when a step is missing."""
    value: object = record
    for step in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _text(value: object) -> str:
    """A source value as text: None and nested objects become empty, the rest str()."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def _seen(values: Iterable[object]) -> list[str]:
    """Distinct non-empty strings in first-seen order."""
    return list(dict.fromkeys(str(v) for v in values if v))
