"""Match a sheet's column headers to the user record's fields, other vendors' templates included.

Besides the schema's aliases, two rules cover the bulk-user templates technicians already have:
- Microsoft Entra ("First name [givenName]", "Name [displayName] Required"): the bracketed
  attribute decides. It names a directory attribute, so it is matched against each field's AD
  attribute and aliases; a bracketed attribute we do not know (displayName, passwordProfile)
  makes the column unknown, whatever its label says.
- Google Workspace ("Email Address [Required]", "Recovery Phone [MUST BE IN THE E.164 FORMAT]"):
  a bracket that is a note, not an attribute, is dropped and the label is matched.
When two columns claim one field, an exact match (the field's own header, name, label or AD
attribute) beats an alias; among equals the first column wins. So Entra's "Office
[physicalDeliveryOfficeName]" wins location over the earlier "Usage location [usageLocation]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.services.user_schema import USER_FIELDS, field_for_header, header_key

EXACT, ALIAS = 2, 1
_BRACKET = re.compile(r"^(?P<label>[^\[]*)\[(?P<inside>[^\]]*)\](?P<rest>.*)$")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_MARKERS = {"required", "optional"}
_OWN_SPELLINGS = {
    header_key(spelling): f.name
    for f in USER_FIELDS
    for spelling in (f.name, f.header, f.label, f.ad_attribute)
    if spelling
}


@dataclass
class HeaderMatch:
    """Which column holds which field, and what the technician should be told about the rest."""

    columns: dict[str, int] = field(default_factory=dict)  # field name → column index
    unknown: list[str] = field(default_factory=list)  # headers matching no field: ignored
    missing_mandatory: list[str] = field(default_factory=list)  # field names, schema order
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # field → headers not used


def match_header(text: str) -> tuple[str | None, int]:
    """(field name or None, strength EXACT/ALIAS/0) for one header."""
    bracket = _BRACKET.match(str(text or ""))
    if bracket:
        inside = bracket.group("inside").strip()
        if _ATTRIBUTE.match(inside) and inside.casefold() not in _MARKERS:
            return _by_attribute(inside, text)
        text = bracket.group("label")  # a note such as [Required] or [UPLOAD ONLY]
    key = header_key(text)
    if key in _OWN_SPELLINGS:
        return _OWN_SPELLINGS[key], EXACT
    name = field_for_header(text)
    return (name, ALIAS) if name else (None, 0)


def _by_attribute(attribute: str, whole_header: str) -> tuple[str | None, int]:
    """Match a bracketed directory attribute: AD attribute exactly, else an alias of it."""
    folded = attribute.casefold()
    for f in USER_FIELDS:
        if f.ad_attribute and f.ad_attribute.casefold() == folded:
            return f.name, EXACT
    name = field_for_header(attribute) or field_for_header(whole_header)
    return (name, ALIAS) if name else (None, 0)


def match_headers(headers: list[str]) -> HeaderMatch:
    """Map each header to a field; list unknown columns, duplicates and missing mandatory fields."""
    result = HeaderMatch()
    claims: dict[str, list[tuple[int, int]]] = {}  # field → [(strength, column index)]
    for index, text in enumerate(headers):
        if not str(text or "").strip():
            continue  # a column without a header holds nothing we can place
        name, strength = match_header(text)
        if name is None:
            result.unknown.append(text)
        else:
            claims.setdefault(name, []).append((strength, index))
    for name, columns in claims.items():
        best = max(columns, key=lambda claim: (claim[0], -claim[1]))
        result.columns[name] = best[1]
        others = [headers[index] for _, index in columns if index != best[1]]
        if others:
            result.duplicates[name] = others
    result.columns = dict(sorted(result.columns.items(), key=lambda item: item[1]))
    result.missing_mandatory = [
        f.name for f in USER_FIELDS
        if f.mandatory and not f.derivable and f.name not in result.columns
    ]
    return result

