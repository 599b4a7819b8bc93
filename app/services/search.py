"""Text search helpers shared by the list pages."""

from __future__ import annotations

import sqlalchemy as sa


def like_pattern(text: str) -> str:
    """A case-folded LIKE pattern matching text anywhere, with % and _ taken literally."""
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches_any(columns, text: str):
    """A condition: any of the columns contains text, case-insensitively."""
    pattern = like_pattern(text)
    return sa.or_(*(sa.func.lower(column).like(pattern, escape="\\") for column in columns))
