"""The one validator every source uses: a record of the field schema in, problems out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError, validate_email

from app.services import naming
from app.services.user_schema import FIELD_NAMES, USER_FIELDS, UserField

ERROR = "error"
WARNING = "warning"

# Letters of any script (accented too), spaces and hyphens: the rule the Excel instructions state.
_NAME_OK = re.compile(r"^[^\W\d_]+(?:[ \-][^\W\d_]+)*$")
_NAME_BAD_CHAR = re.compile(r"[^\w \-]|[\d_]")
_SAM_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
_EXTENSION_IN_PHONE = re.compile(r"\s*(?:x|ext\.?|extension|#)\s*(\d{1,10})\s*$", re.IGNORECASE)
# Line breaks and control characters (C0, DEL, C1, the Unicode line and paragraph separators) ...
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# ... and invisible format characters: zero-width ones make 'adm\u200bin' look like 'admin', bidi
# overrides make 'Ann\u202egnp.exe' read as 'Annexe.png'. Neither belongs in a name, address or account.
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_UNSAFE = re.compile(f"{_CONTROL.pattern}|{_INVISIBLE.pattern}")
# The everyday address (ASCII dot-atom, ordinary domain) is checked here: email-validator costs
# ~35 us a call, most of the validation time of a 100,000-row import. Anything else goes to it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"^({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})$")
_SPECIAL_DOMAINS = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of a record."""

    field: str
    code: str
    message: str
    severity: str = ERROR
    suggestion: str | None = None

    def as_dict(self) -> dict:
        """The JSON shape the API and the pages use."""
        return {k: v for k, v in asdict(self).items() if k != "severity"}


@dataclass
class ValidationContext:
    """What the validator needs to know beyond the record: who already holds a name or address."""

    username_owner: Callable[[str], str | None] = lambda username: None
    email_owner: Callable[[str], str | None] = lambda email: None
    naming_policy: str = naming.DEFAULT_POLICY
    upn_suffix: str | None = None
    # Names a suggestion must avoid beyond the deployment's users (e.g. others in the same file).
    reserved_username: Callable[[str], bool] = lambda username: False


def clean_record(values: dict) -> dict[str, str]:
    """Every schema field as trimmed NFC text; unknown keys dropped."""
    record = {}
    for name in FIELD_NAMES:
        raw = values.get(name)
        if raw is None:
            record[name] = ""
            continue
        text = raw if isinstance(raw, str) else str(raw)
        record[name] = (text if text.isascii() else unicodedata.normalize("NFC", text)).strip()
    return record


def suggest_name(text: str) -> str:
    """The name with everything but letters, spaces and hyphens removed: O'Leary becomes OLeary."""
    kept = _NAME_BAD_CHAR.sub("", text)
    return re.sub(r"\s{2,}", " ", kept).strip(" -")


def split_phone(text: str) -> tuple[str, str]:
    """The phone's digits and an extension written inside it ('555 1234 x12' gives 5551234, 12)."""
    extension = ""
    match = _EXTENSION_IN_PHONE.search(text)
    if match:
        extension, text = match.group(1), text[: match.start()]
    return re.sub(r"\D", "", text), extension


def suggest_username(record: dict[str, str], ctx: ValidationContext) -> str:
    """A valid, free username for the record from the deployment's naming policy."""
    return naming.derive_username(
        record["first_name"], record["last_name"], ctx.naming_policy,
        is_taken=lambda name: ctx.username_owner(name) is not None or ctx.reserved_username(name),
    )


def validate_record(values: dict, ctx: ValidationContext | None = None) -> list[Problem]:
    """Every problem of one user record, errors and warnings, field by field in schema order."""
    return validate_clean_record(clean_record(values), ctx or ValidationContext())


def validate_clean_record(record: dict[str, str], ctx: ValidationContext) -> list[Problem]:
    """validate_record for a record that clean_record already produced (bulk imports)."""
    problems: list[Problem] = []
    for f in USER_FIELDS:
        if record[f.name] or f.mandatory:
            problems.extend(_check_field(f, record, ctx))
    return problems


def _check_field(f: UserField, record: dict[str, str], ctx: ValidationContext) -> list[Problem]:
    """The problems of one field: presence and length first, then the rules of its kind."""
    value = record[f.name]
    if not value:
        if f.mandatory:
            suggestion = suggest_username(record, ctx) if f.derivable else None
            hint = " It can be derived from the name." if suggestion else ""
            return [Problem(f.name, "missing", f"{f.label} is mandatory.{hint}", ERROR, suggestion or None)]
        return []
    if _UNSAFE.search(value):
        clean = re.sub(r"\s+", " ", _CONTROL.sub(" ", _INVISIBLE.sub("", value))).strip()
        return [Problem(f.name, "control_characters",
                        f"{f.label} contains line breaks or invisible control characters.", ERROR, clean or None)]
    problems = _KIND_CHECKS[f.kind](f, value, record, ctx)
    if len(value) > f.max_length and not any(p.code == "too_long" for p in problems):
        problems.append(Problem(f.name, "too_long",
                                f"{f.label} is {len(value)} characters long; at most {f.max_length} are allowed.",
                                ERROR, value[: f.max_length].strip()))
    return problems


def _check_name(f: UserField, value: str, record: dict, ctx: ValidationContext) -> list[Problem]:
    """Names: letters (accented too), spaces and hyphens only."""
    if _NAME_OK.match(value):
        return []
    bad = "".join(dict.fromkeys(c for c in value if _NAME_BAD_CHAR.match(c)))
    shown = " ".join(repr(c) if c != "'" else '"\'"' for c in bad) or "special characters"
    return [Problem(f.name, "special_characters",
                    f"{f.label} may contain only letters, spaces and hyphens; remove {shown}.",
                    ERROR, suggest_name(value) or None)]


def normalise_email(value: str) -> str:
    """The address in canonical form (domain lower-cased); EmailNotValidError when invalid."""
    match = _PLAIN_EMAIL.match(value)
    if match and len(match.group(1)) <= 64 and len(value) <= 254:
        domain = match.group(2).lower()
        if _ordinary_domain(domain):
            return f"{match.group(1)}@{domain}"
    return validate_email(value, check_deliverability=False).normalized


@lru_cache(maxsize=4096)  # a file has few distinct domains
def _ordinary_domain(domain: str) -> bool:
    """Not a special-use domain (.local, .test, ...) that email-validator refuses."""
    return not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_DOMAINS)


def _check_email(f: UserField, value: str, record: dict, ctx: ValidationContext) -> list[Problem]:
    """Email: valid syntax, not already used in the deployment, ideally in the UPN suffix domain."""
    try:
        normalized = normalise_email(value)
    except EmailNotValidError as exc:
        fixed = value.replace(" ", "").strip(".,;<>")
        return [Problem(f.name, "invalid_email", f"Email is not a valid address: {exc}",
                        ERROR, fixed if fixed != value else None)]
    problems = []
    owner = ctx.email_owner(normalized)
    if owner:
        problems.append(Problem(f.name, "duplicate_email", f"Email {normalized} is already used by {owner}."))
    domain = normalized.rsplit("@", 1)[1].casefold()
    if ctx.upn_suffix and domain != ctx.upn_suffix.casefold():
        problems.append(Problem(f.name, "email_domain", f"Email domain {domain} differs from the "
                                f"deployment's sign-in suffix {ctx.upn_suffix}.", WARNING))
    return problems


def _check_username(f: UserField, value: str, record: dict, ctx: ValidationContext) -> list[Problem]:
    """Username: a valid Windows sAMAccountName, free in the deployment."""
    bad = "".join(dict.fromkeys(c for c in value if c in _SAM_FORBIDDEN or c.isspace()))
    reasons = []
    if bad:
        reasons.append("it may not contain " + " ".join(bad.replace(" ", "")) + (" or spaces" if " " in bad else ""))
    if len(value) > f.max_length:
        reasons.append(f"it is {len(value)} characters long (at most {f.max_length})")
    if value.endswith("."):
        reasons.append("it may not end with a dot")
    if reasons:
        local = value.split("@", 1)[0]
        fixed = "".join(c for c in local if c not in _SAM_FORBIDDEN and not c.isspace())[: f.max_length].rstrip(".")
        code = "too_long" if reasons[0].startswith("it is") else "invalid_username"
        return [Problem(f.name, code, "Username is not a valid Windows sign-in name: " + "; ".join(reasons) + ".",
                        ERROR, fixed or suggest_username(record, ctx) or None)]
    owner = ctx.username_owner(value)
    if owner:
        return [Problem(f.name, "duplicate_username", f"Username {value} is already used by {owner}.",
                        ERROR, suggest_username(record, ctx) or None)]
    return []


def _check_digits(f: UserField, value: str, record: dict, ctx: ValidationContext) -> list[Problem]:
    """Phone and extension: digits only; an extension written inside the phone is pointed out."""
    if value.isdigit() and value.isascii():
        return []
    digits, extension = split_phone(value) if f.name == "phone" else (re.sub(r"\D", "", value), "")
    if extension and not record.get("extension"):
        return [Problem(f.name, "extension_in_phone",
                        f"{f.label} contains an extension (x{extension}); move it to Extension.",
                        ERROR, digits or None)]
    return [Problem(f.name, "not_digits",
                    f"{f.label} must be digits only: no parentheses, spaces, dashes or plus sign.",
                    ERROR, digits or None)]


def _check_text(f: UserField, value: str, record: dict, ctx: ValidationContext) -> list[Problem]:
    """Free text: only the length and control-character rules apply."""
    return []


_KIND_CHECKS = {"name": _check_name, "email": _check_email, "username": _check_username,
                "digits": _check_digits, "text": _check_text}


def has_errors(problems: list[Problem]) -> bool:
    """Whether any problem blocks the import."""
    return any(p.severity == ERROR for p in problems)
