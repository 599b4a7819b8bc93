"""Field matching: which source field fills each Enlist field, a preview of it, then staging.

The Enlist fields come from the user schema; the source fields and defaults from the integrations
package. The mapping chosen is saved on the integration account and offered again next time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import FetchState, ImportBatch, ImportRow, IntegrationFetch
from app.services.errors import Conflict, DomainError
from app.services.integration_imports.accounts import LABELS
from app.services.integration_imports.fetches import fetch_result
from app.services.integrations import (
    CONNECTWISE,
    FetchResult,
    MappedRecord,
    SourceField,
    apply_mapping,
    default_mapping,
    source_fields,
)
from app.services.staging.batches import StagedRecord, recount, stage_records
from app.services.user_schema import FIELD_NAMES, USER_FIELDS, UserField
from app.services.validation import WARNING

FIELD_PREFIX = "map-"  # the select of Enlist field x is named map-x
PREVIEW_ROWS = 8
NAMES_SHOWN = 10


@dataclass
class Matching:
    """What the field-matching screen shows."""

    fields: tuple[UserField, ...]
    options: list[SourceField]
    mapping: dict[str, str | None]
    preview: list[MappedRecord]
    result: FetchResult


def _offered(provider: str, records: list[dict]) -> tuple[list[SourceField], set[str]]:
    """The source fields offered for these records, and their keys."""
    options = source_fields(provider, records)
    return options, {o.key for o in options}


def initial_mapping(fetch: IntegrationFetch, records: list[dict]) -> dict[str, str | None]:
    """The account's saved mapping where it still applies, the defaults elsewhere."""
    mapping = default_mapping(fetch.provider, records)
    _, offered = _offered(fetch.provider, records)
    saved = fetch.account.field_mapping or {}
    for name in FIELD_NAMES:
        if name in saved and (saved[name] is None or saved[name] in offered):
            mapping[name] = saved[name]
    return mapping


def mapping_from_form(provider: str, form: Mapping, records: list[dict]) -> dict[str, str | None]:
    """The mapping the screen sends (map-first_name=firstName ...); unknown keys map to nothing."""
    _, offered = _offered(provider, records)
    return {name: form.get(FIELD_PREFIX + name) if form.get(FIELD_PREFIX + name) in offered else None
            for name in FIELD_NAMES}


def matching_for(fetch: IntegrationFetch, form: Mapping | None = None) -> Matching:
    """The screen's content: the saved or default mapping (or the one sent), and the first rows under it."""
    result = fetch_result(fetch)
    options, _ = _offered(fetch.provider, result.records)
    mapping = mapping_from_form(fetch.provider, form, result.records) if form is not None \
        else initial_mapping(fetch, result.records)
    preview = [apply_mapping(fetch.provider, r, mapping) for r in result.records[:PREVIEW_ROWS]]
    return Matching(USER_FIELDS, options, mapping, preview, result)


def _people(provider: str, plural: bool) -> str:
    """contact(s) or user(s)."""
    noun = "contact" if provider == CONNECTWISE else "user"
    return noun + ("s" if plural else "")


def skipped_summary(result: FetchResult, name_guesses: int = 0) -> str:
    """One sentence for the import preview: who was left out and why, and the names split by guess."""
    parts = []
    for reason, count in result.skipped_counts.items():
        names = [n for n in result.skipped_names(reason) if n]
        shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {len(names) - NAMES_SHOWN:,} more"
                                                   if len(names) > NAMES_SHOWN else "")
        noun = reason + ("s" if count != 1 else "") if reason in ("agent", "admin") \
            else f"{reason} {_people(result.provider, count != 1)}"
        parts.append(f"{count:,} {noun}" + (f" ({shown})" if shown else ""))
    text = ""
    if parts:
        text = "Left out " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + "."
    if name_guesses:
        text += (f" {name_guesses:,} {'name was' if name_guesses == 1 else 'names were'} split into first and "
                 "last name by guess: those rows carry a warning to check.")
    return text.strip()


def nobody_message(fetch: IntegrationFetch, result: FetchResult) -> str:
    """Why a finished fetch has nobody to import, exactly."""
    if result.skipped:
        return "Nobody is left to import. " + skipped_summary(result)
    if fetch.fetched:
        return "A newer fetch replaced this one: fetch again to import."
    return result.summary()  # "The ConnectWise company Acme (id 250) has no contacts: ..."


def stage_fetch(fetch: IntegrationFetch, mapping: dict[str, str | None], actor) -> ImportBatch:
    """Map every fetched person and stage them for the import preview; the mapping is saved for next time."""
    if fetch.state == FetchState.STAGED and fetch.batch_id:
        batch = db.session.get(ImportBatch, fetch.batch_id)
        if batch is not None:
            return batch  # a second click on the same screen
    if fetch.state != FetchState.FETCHED:
        raise Conflict("This fetch has not finished, or it failed: fetch again.")
    result = fetch_result(fetch)
    if not result.records:
        raise DomainError(nobody_message(fetch, result))
    mapped = [apply_mapping(fetch.provider, record, mapping) for record in result.records]
    guesses = {n: m.warnings for n, m in enumerate(mapped, start=1) if m.warnings}
    fetch.account.field_mapping = dict(mapping)
    meta = {"provider": fetch.provider, "account": fetch.account.name, "fetch_id": fetch.id,
            "remote": {"id": fetch.remote_id, "name": fetch.remote_name}, "mapping": dict(mapping),
            "found": len(result.records), "skipped": result.skipped_counts,
            "skipped_names": {reason: result.skipped_names(reason)[:200] for reason in result.skipped_counts},
            "name_guesses": len(guesses), "skipped_summary": skipped_summary(result, len(guesses))}
    batch = stage_records(fetch.deployment, fetch.provider,
                          [StagedRecord(row_number=n, values=m.values, source_key=m.source_key)
                           for n, m in enumerate(mapped, start=1)],
                          actor, filename=f"{LABELS[fetch.provider]} {fetch.remote_name}", meta=meta)
    _flag_guesses(batch, guesses)
    fetch.state, fetch.batch_id, fetch.records = FetchState.STAGED, batch.id, []  # the batch holds them now
    db.session.commit()
    return batch


def _flag_guesses(batch: ImportBatch, guesses: dict[int, list[tuple[str, str]]]) -> None:
    """What the mapping had to guess (a name split, an email chosen) becomes a warning on the row."""
    numbers = sorted(guesses)
    for start in range(0, len(numbers), 500):
        rows = db.session.scalars(sa.select(ImportRow).where(ImportRow.batch_id == batch.id,
                                                             ImportRow.row_number.in_(numbers[start:start + 500])))
        for row in rows:
            extra = [{"field": field, "code": _guess_code(note), "message": note[:1].upper() + note[1:],
                      "suggestion": None, "severity": WARNING} for field, note in guesses[row.row_number]]
            row.problems, row.has_warnings = [*row.problems, *extra], True
    if numbers:
        recount(batch)


def _guess_code(note: str) -> str:
    """A problem code for a mapping's note, so the fix-up summary groups them."""
    if note.startswith("ambiguous name split"):
        return "ambiguous_name_split"
    if note.startswith("only one name"):
        return "one_name_only"
    return "guessed_value"
