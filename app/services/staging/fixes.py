"""One-click fixes: what a suggested fix changes in a record."""

from __future__ import annotations

from app.services.validation import split_phone

# Problems whose suggestion can be applied to every row like it.
FIXABLE = {"special_characters", "not_digits", "extension_in_phone", "missing", "invalid_username",
           "too_long", "control_characters", "invalid_email", "duplicate_username", "duplicate_in_file"}


def changes_for(problem: dict, record: dict) -> dict[str, str]:
    """The field values a problem's suggested fix sets ({} when it has none)."""
    suggestion = problem.get("suggestion")
    if not suggestion or problem.get("code") not in FIXABLE:
        return {}
    if problem["code"] == "extension_in_phone":
        digits, extension = split_phone(record.get("phone", ""))
        return {"phone": digits, "extension": extension}
    return {problem["field"]: suggestion}


def fix_label(problem: dict) -> str:
    """How the fix is offered on a button."""
    if problem.get("code") == "extension_in_phone":
        return "Move the extension"
    return f"Use “{problem['suggestion']}”"
