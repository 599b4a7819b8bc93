"""Validation of staged rows: the shared validator plus duplicates inside the batch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, User
from app.services.validation import ERROR, Problem, ValidationContext, suggest_username, validate_clean_record


@dataclass
class Owners:
    """Who already holds each username and email: the deployment's users and the batch's rows."""

    user_usernames: dict[str, str] = field(default_factory=dict)
    user_emails: dict[str, str] = field(default_factory=dict)
    row_usernames: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    row_emails: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def deployment_owners(deployment: Deployment, keys: tuple[set[str], set[str]] | None = None) -> Owners:
    """The deployment's users by username and email key (only those keys, when given)."""
    owners = Owners()
    stmt = sa.select(User.username_key, User.email_key, User.first_name, User.last_name, User.username) \
        .where(User.deployment_id == deployment.id)
    if keys is not None:
        usernames, emails = keys
        stmt = stmt.where(sa.or_(User.username_key.in_(usernames or {""}), User.email_key.in_(emails or {""})))
    for username_key, email_key, first, last, username in db.session.execute(stmt):
        label = f"the user {first} {last} ({username})".replace("  ", " ")
        owners.user_usernames[username_key] = label
        owners.user_emails[email_key] = label
    return owners


def context_for(deployment: Deployment, owners: Owners) -> ValidationContext:
    """A validation context answering from the owners (no query per row)."""
    return ValidationContext(
        username_owner=lambda name: owners.user_usernames.get(name.lower()),
        email_owner=lambda email: owners.user_emails.get(email.lower()),
        naming_policy=deployment.naming_policy,
        upn_suffix=deployment.upn_suffix or None,
        reserved_username=lambda name: name.lower() in owners.row_usernames,
    )


def _rows_text(numbers: list[int]) -> str:
    """'row 4', 'rows 4 and 9', 'rows 4, 9, 12 and 3 more'."""
    shown = sorted(numbers)
    if len(shown) == 1:
        return f"row {shown[0]}"
    if len(shown) <= 3:
        return "rows " + ", ".join(map(str, shown[:-1])) + f" and {shown[-1]}"
    return "rows " + ", ".join(map(str, shown[:3])) + f" and {len(shown) - 3} more"


def row_problems(record: dict, row_number: int, ctx: ValidationContext, owners: Owners) -> list[Problem]:
    """Every problem of one staged row (a clean record), duplicates in the same file included."""
    problems = validate_clean_record(record, ctx)
    flagged = {p.field for p in problems if p.severity == ERROR}
    for name, index in (("username", owners.row_usernames), ("email", owners.row_emails)):
        key = record[name].lower()
        others = [n for n in index.get(key, ()) if n != row_number] if key else []
        if others and name not in flagged:
            label = "Username" if name == "username" else "Email"
            # The first row keeps the name; later ones are offered the next free one.
            suggestion = (suggest_username(record, ctx) or None) \
                if name == "username" and row_number > min(others) else None
            problems.append(Problem(name, "duplicate_in_file",
                                    f"{label} {record[name]} is also on {_rows_text(others)} of this import.",
                                    ERROR, suggestion))
    return problems


def problem_dicts(problems: list[Problem]) -> list[dict]:
    """Problems as stored on a row (severity kept, so warnings stay apart from errors)."""
    return [{"field": p.field, "code": p.code, "message": p.message, "suggestion": p.suggestion,
             "severity": p.severity} for p in problems]
