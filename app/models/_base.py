"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.services.user_schema import USER_FIELDS


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def user_field_columns(sized: bool = True) -> dict[str, sa.Column]:
    """One text column per field of the canonical user record, sized by the schema or unbounded."""
    return {f.name: sa.Column(sa.String(f.max_length) if sized else sa.Text, nullable=False, default="",
                              server_default="")
            for f in USER_FIELDS}


# Mixins generated from the schema, so the models never list the user fields again. Staged rows
# are unbounded: a value too long is kept, shown and flagged, not refused by the database.
UserFieldsMixin = type("UserFieldsMixin", (), user_field_columns())
RawUserFieldsMixin = type("RawUserFieldsMixin", (), user_field_columns(sized=False))


def record_of(obj) -> dict[str, str]:
    """The canonical record of a model carrying the user fields."""
    return {f.name: getattr(obj, f.name) or "" for f in USER_FIELDS}


def assign_record(obj, record: dict) -> None:
    """Copy the canonical record's fields onto a model carrying the user fields."""
    for f in USER_FIELDS:
        if f.name in record:
            setattr(obj, f.name, record[f.name] or "")
