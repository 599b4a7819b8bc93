"""Operators: first-run setup, sign-in, creation and personal API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from app.extensions import db
from app.models import ApiToken, Operator
from app.models._base import utcnow
from app.services import audit
from app.services.errors import Conflict, DomainError
from app.services.secrets import new_token, token_digest

MIN_PASSWORD = 12
API_TOKEN_PREFIX = "enl"


def needs_setup() -> bool:
    """True until the first operator exists (the first-run setup page creates the admin)."""
    return db.session.scalar(sa.select(sa.func.count(Operator.id))) == 0


def normalise_email(email: str) -> str:
    """An operator's email in its canonical, lower-cased form; DomainError when invalid."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"That email address is not valid: {exc}") from exc


def check_password_strength(password: str) -> None:
    """Refuse short passwords with a message saying what is needed."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"The password must be at least {MIN_PASSWORD} characters long.")


def create_operator(email: str, password: str, *, role: str = "technician", name: str = "",
                    actor=None) -> Operator:
    """A new operator with a hashed password; Conflict when the email is taken."""
    email = normalise_email(email)
    check_password_strength(password)
    if role not in ("admin", "technician"):
        raise DomainError("The role must be admin or technician.")
    if db.session.scalar(sa.select(Operator).where(Operator.email == email)):
        raise Conflict(f"An operator with the email {email} already exists.")
    operator = Operator(email=email, name=name.strip(), role=role)
    operator.set_password(password)
    db.session.add(operator)
    db.session.flush()
    audit.record(actor or operator, "operator.create", obj=operator, summary=f"{email} ({role})")
    db.session.commit()
    return operator


def authenticate(email: str, password: str) -> Operator | None:
    """The active operator with these credentials, or None (same answer for any wrong part)."""
    operator = db.session.scalar(sa.select(Operator).where(Operator.email == email.strip().lower()))
    if operator is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        Operator(password_hash="").set_password(password)
        return None
    if not operator.check_password(password) or not operator.active:
        return None
    operator.last_login_at = utcnow()
    db.session.commit()
    return operator


def end_sessions(operator: Operator) -> None:
    """End every session of the operator: a session cookie copied before this no longer signs anyone in.

    Flask keeps the session in a signed cookie, so a sign-out cannot delete a copy of it; the session
    identity carries the operator's session version instead, and a new version makes every older
    cookie worthless (on every browser the operator used).
    """
    operator.session_version = (operator.session_version or 0) + 1
    db.session.commit()


def operator_by_session_id(session_id: str) -> Operator | None:
    """The operator of a session identity 'id:version', if the version still matches."""
    try:
        operator_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    operator = db.session.get(Operator, operator_id)
    if operator is None or operator.session_version != version:
        return None
    return operator


def issue_api_token(operator: Operator, name: str = "") -> str:
    """A new personal API token; only its digest is kept, so it is shown this once."""
    token = new_token(API_TOKEN_PREFIX)
    row = ApiToken(operator_id=operator.id, name=name or "token", token_digest=token_digest(token))
    db.session.add(row)
    db.session.flush()
    audit.record(operator, "api_token.issue", obj=row, summary=row.name)
    db.session.commit()
    return token


def operator_for_api_token(token: str) -> Operator | None:
    """The active operator owning a valid, unrevoked API token."""
    if not token.startswith(API_TOKEN_PREFIX + "_"):
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_digest == token_digest(token)))
    if row is None or row.revoked_at is not None or not row.operator.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.operator


def revoke_api_token(token_id: int, actor) -> None:
    """Revoke a token: it stops working at once."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise DomainError("No such token.")
    row.revoked_at = utcnow()
    audit.record(actor, "api_token.revoke", obj=row, summary=row.name)
    db.session.commit()
