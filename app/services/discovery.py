"""Discovery: the agents' tokens, the discovery API's record rules, and the upsert into the Catalog.

The PC agent, the agent's --network mode and the portal's own network discovery all end here: every
record is checked by check_record and written by upsert_records, keyed by (deployment, source_key).
Discovery data is raw: only what would break storage or make no sense is refused (lengths from the
field schema, email syntax, control characters). The strict import rules are flagged later, in the
import preview.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import CatalogEntry, Deployment, DiscoveryToken
from app.models._base import utcnow
from app.services import audit
from app.services.errors import DomainError, NotFound
from app.services.secrets import new_token, same_digest, token_digest
from app.services.user_schema import FIELD_NAMES, FIELDS_BY_NAME

TOKEN_PREFIX = "end"
MAX_RECORDS = 1000
MAX_BYTES = 4 * 1024 * 1024  # 1,000 records of every field at its longest, JSON-escaped, fit
SOURCES = ("pc", "network")
EXTRA_FIELDS = ("display_name", "machine_name", "os")  # what a discovery record adds to the user fields
COMPARED = (*FIELD_NAMES, *EXTRA_FIELDS)
RECORD_FIELDS = frozenset(("source", "source_key", *COMPARED))
OUTCOMES = ("created", "updated", "unchanged", "rejected")
TOKEN_ERROR = "This discovery token is not valid or was revoked. Ask your IT provider for a new agent."
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PC_KEY = re.compile(r"pc:[^:]+:.+\\.+|S-1-\d+(?:-\d+)+")
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                          r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_IDENTITY = ("first_name", "last_name", "display_name", "email", "username")
_CHUNK = 500  # keys per IN (...) lookup


def _max_length(name: str) -> int:
    """A field's longest value: the schema's for user fields, the column's for the others."""
    if name in FIELDS_BY_NAME:
        return FIELDS_BY_NAME[name].max_length
    return CatalogEntry.__table__.c[name].type.length


MAX_LENGTHS = {name: _max_length(name) for name in ("source_key", *COMPARED)}


# --- tokens -------------------------------------------------------------------------------------

def list_tokens(deployment: Deployment) -> list[DiscoveryToken]:
    """The deployment's tokens, active first, newest first."""
    return list(db.session.scalars(sa.select(DiscoveryToken).where(DiscoveryToken.deployment_id == deployment.id)
                                   .order_by(DiscoveryToken.revoked_at.is_not(None), DiscoveryToken.id.desc())))


def issue_token(deployment: Deployment, name: str, actor) -> tuple[DiscoveryToken, str]:
    """A new token for the deployment's agents; only its digest is kept, so it is shown this once."""
    name = " ".join((name or "").split())[:120] or "agents"
    token = new_token(TOKEN_PREFIX)
    row = DiscoveryToken(deployment_id=deployment.id, name=name, token_digest=token_digest(token),
                         hint=token[:8], created_by=audit.actor_label(actor))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "discovery_token.issue", deployment=deployment, obj=row, summary=f"{name} ({row.hint}…)")
    db.session.commit()
    return row, token


def get_token(deployment: Deployment, token_id: int) -> DiscoveryToken:
    """One of the deployment's tokens; NotFound otherwise."""
    row = db.session.get(DiscoveryToken, token_id)
    if row is None or row.deployment_id != deployment.id:
        raise NotFound("This discovery token does not exist.")
    return row


def revoke_token(deployment: Deployment, token_id: int, actor) -> DiscoveryToken:
    """Revoke a token: every agent carrying it is refused from now on."""
    row = get_token(deployment, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor, "discovery_token.revoke", deployment=deployment, obj=row,
                     summary=f"{row.name} ({row.hint}…)")
        db.session.commit()
    return row


def rotate_token(deployment: Deployment, token_id: int, actor) -> tuple[DiscoveryToken, str]:
    """Revoke a token and issue its replacement under the same name."""
    old = get_token(deployment, token_id)
    if old.revoked_at is not None:
        raise DomainError("This token is already revoked: create a new one instead.")
    revoke_token(deployment, token_id, actor)
    return issue_token(deployment, old.name, actor)


def token_for(token: str | None) -> DiscoveryToken | None:
    """The active token row matching a presented bearer token, or None."""
    if not token or not token.startswith(TOKEN_PREFIX + "_") or len(token) > 200:
        return None
    digest = token_digest(token)
    row = db.session.scalar(sa.select(DiscoveryToken).where(DiscoveryToken.token_digest == digest))
    if row is None or row.revoked_at is not None or not same_digest(row.token_digest, digest):
        return None
    return row


# --- records ------------------------------------------------------------------------------------

def _bad_characters(text: str) -> bool:
    """Control characters, line separators or lone surrogates: nothing a name or address carries."""
    return any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text if not c.isprintable())


def email_syntax_ok(value: str) -> bool:
    """Whether an address is well formed (any domain, .local included: discovery data is raw)."""
    if value.isascii() and _PLAIN_EMAIL.fullmatch(value) and len(value) <= 254:
        return True
    try:
        validate_email(value, check_deliverability=False, globally_deliverable=False, test_environment=True)
    except EmailNotValidError:
        return False
    return "@" in value and "." in value.rsplit("@", 1)[1]


def _error(name: str, message: str) -> dict:
    """One field error as the API answers it."""
    return {"field": name, "message": message}


def check_record(raw) -> tuple[dict | None, list[dict]]:
    """A discovery record trimmed and normalised (only the fields it carries), or its errors."""
    if not isinstance(raw, dict):
        return None, [_error("record", "A record must be a JSON object.")]
    errors = [_error(k, "Unknown field.") for k in raw if k not in RECORD_FIELDS]
    record: dict[str, str] = {}
    for name, value in raw.items():
        if name not in RECORD_FIELDS:
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors.append(_error(name, "Must be text."))
            continue
        text = (value if value.isascii() else unicodedata.normalize("NFC", value)).strip()
        limit = MAX_LENGTHS.get(name, 20)  # "source" is one of two short words
        if _bad_characters(text):
            errors.append(_error(name, "Contains line breaks or control characters."))
        elif len(text) > limit:
            errors.append(_error(name, f"Is {len(text)} characters long; at most {limit} are allowed."))
        record[name] = text
    if errors:
        return None, errors
    errors = _check_identity(record)
    return (None, errors) if errors else (record, [])


def _check_identity(record: dict) -> list[dict]:
    """The source and key make sense together, the email is well formed, and someone is named."""
    errors = []
    source, key = record.get("source", ""), record.get("source_key", "")
    if source not in SOURCES:
        errors.append(_error("source", 'Must be "pc" or "network".'))
    elif not key:
        errors.append(_error("source_key", "Missing: a stable key (objectGUID, SID or pc:MACHINE:DOMAIN\\account)."))
    elif not (_GUID if source == "network" else _PC_KEY).fullmatch(key):
        what = "an objectGUID" if source == "network" else "a SID or pc:MACHINE:DOMAIN\\account"
        errors.append(_error("source_key", f"Not a {source} source key: expected {what}."))
    elif source == "network":
        record["source_key"] = key.lower()
    if record.get("email") and not email_syntax_ok(record["email"]):
        errors.append(_error("email", "Not a valid email address."))
    if not any(record.get(name) for name in _IDENTITY):
        errors.append(_error("record", "Names nobody: send a name, an email address or a username."))
    return errors


# --- the upsert ---------------------------------------------------------------------------------

@dataclass
class _Known:
    """A catalog entry as the upsert sees it: stored values, and what this batch changes."""

    id: int | None
    values: dict
    times_seen: int = 0
    seen: int = 0
    changed: set = field(default_factory=set)


def _load(deployment_id: int, keys: list[str]) -> dict[str, _Known]:
    """The existing entries for these source keys, in a few bulk queries."""
    columns = [CatalogEntry.id, CatalogEntry.source_key, CatalogEntry.times_seen,
               *(getattr(CatalogEntry, n) for n in COMPARED)]
    known = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        rows = db.session.execute(sa.select(*columns).where(CatalogEntry.deployment_id == deployment_id,
                                                            CatalogEntry.source_key.in_(chunk)))
        for row in rows:
            known[row.source_key] = _Known(row.id, {n: getattr(row, n) or "" for n in COMPARED}, row.times_seen)
    return known


def upsert_records(deployment_id: int, records: list[dict], now: datetime | None = None) -> list[str]:
    """Write checked records into the Catalog; return each one's outcome (created, updated, unchanged)."""
    for attempt in range(3):
        try:
            return _upsert(deployment_id, records, now or utcnow())
        except IntegrityError:  # another request created one of these keys meanwhile: read again
            db.session.rollback()
            if attempt == 2:
                raise
    return []


def _upsert(deployment_id: int, records: list[dict], now: datetime) -> list[str]:
    """One attempt of upsert_records, inside the caller's transaction."""
    known = _load(deployment_id, sorted({r["source_key"] for r in records}))
    outcomes, new = [], {}
    for record in records:
        key = record["source_key"]
        entry = known.get(key)
        if entry is None:
            entry = known[key] = new[key] = _Known(None, {n: record.get(n, "") for n in COMPARED})
            entry.values["source"] = record["source"]
            entry.seen = 1
            outcomes.append("created")
            continue
        diff = {n for n in COMPARED if n in record and record[n] != entry.values[n]}
        entry.values.update({n: record[n] for n in diff})
        entry.changed |= diff
        entry.seen += 1
        outcomes.append("updated" if diff else "unchanged")
    _write(deployment_id, known, new, now)
    return outcomes


def _write(deployment_id: int, known: dict[str, _Known], new: dict[str, _Known], now: datetime) -> None:
    """Bulk statements: one insert of the new entries, updates by primary key, one bump of the seen."""
    if new:
        db.session.execute(sa.insert(CatalogEntry), [
            {**e.values, "deployment_id": deployment_id, "source_key": key, "first_seen": now, "last_seen": now,
             "times_seen": e.seen, "missing_since": None} for key, e in new.items()])
    stored = [e for e in known.values() if e.id is not None and e.seen]
    changed = [{"id": e.id, **{n: e.values[n] for n in COMPARED}} for e in stored if e.changed]
    if changed:
        db.session.execute(sa.update(CatalogEntry), changed)
    by_count: dict[int, list[int]] = {}
    for e in stored:
        by_count.setdefault(e.seen, []).append(e.id)
    for count, ids in by_count.items():
        for start in range(0, len(ids), _CHUNK):
            db.session.execute(sa.update(CatalogEntry).where(CatalogEntry.id.in_(ids[start:start + _CHUNK]))
                               .values(last_seen=now, times_seen=CatalogEntry.times_seen + count, missing_since=None)
                               .execution_options(synchronize_session=False))


# --- the API's request --------------------------------------------------------------------------

def ingest(token: DiscoveryToken, batch: list) -> dict:
    """Check and upsert one request's records for the token's deployment; the answer, record by record."""
    checked = [check_record(raw) for raw in batch]
    good = [record for record, _ in checked if record is not None]
    now = utcnow()
    written = iter(upsert_records(token.deployment_id, good, now))
    results = []
    for index, (record, errors) in enumerate(checked):
        key = record["source_key"] if record else _raw_key(batch[index])
        outcome = next(written) if record else "rejected"
        results.append({"index": index, "source_key": key, "outcome": outcome, "errors": errors})
    counts = {name: 0 for name in OUTCOMES}
    for result in results:
        counts[result["outcome"]] += 1
    token.last_used_at, token.uses = now, (token.uses or 0) + 1
    if counts["created"] or counts["updated"] or counts["rejected"]:
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        audit.record(f"discovery token {token.name} ({token.hint}…)", "discovery.ingest",
                     deployment=token.deployment_id, summary=summary, detail=counts,
                     outcome="partial" if counts["rejected"] else "ok")
    db.session.commit()
    return {"counts": counts, "results": results}


def _raw_key(raw) -> str:
    """The source key of a refused record, as text, for the answer."""
    key = raw.get("source_key") if isinstance(raw, dict) else ""
    return key[:255] if isinstance(key, str) else ""
