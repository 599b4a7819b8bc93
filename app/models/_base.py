"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from app.services.user_schema import USER_FIELDS


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def user_field_columns() -> dict[str, sa.Column]:
    """One text column per field of the canonical user record, sized by the schema."""
    return {f.name: sa.Column(sa.String(f.max_length), nullable=False, default="", server_default="")
            for f in USER_FIELDS}


# A mixin generated from the schema, so the models never list the user fields again.
UserFieldsMixin = type("UserFieldsMixin", (), user_field_columns())


def record_of(obj) -> dict[str, str]:
    """The canonical record of a model carrying the user fields."""
    return {f.name: getattr(obj, f.name) or "" for f in USER_FIELDS}


def assign_record(obj, record: dict) -> None:
    """Copy the canonical record's fields onto a model carrying the user fields."""
    for f in USER_FIELDS:
        if f.name in record:
            setattr(obj, f.name, record[f.name] or "")
