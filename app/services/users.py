"""Users of a deployment: create, edit, delete and list, all through the one validator."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, User, UserStatus
from app.models._base import assign_record, record_of
from app.services import audit
from app.services.errors import Conflict, ValidationFailed
from app.services.search import matches_any
from app.services.user_schema import FIELD_NAMES
from app.services.validation import ValidationContext, clean_record, has_errors, validate_record

SORTABLE = {"name": (User.last_name, User.first_name), "email": (User.email,),
            "username": (User.username,), "status": (User.status,), "created": (User.created_at,),
            "department": (User.department,), "location": (User.location,)}


def validation_context(deployment: Deployment, exclude_user_id: int | None = None) -> ValidationContext:
    """A context that checks usernames and emails against the deployment's users."""

    def owner(column, value: str) -> str | None:
        query = sa.select(User).where(User.deployment_id == deployment.id, column == value.lower())
        if exclude_user_id:
            query = query.where(User.id != exclude_user_id)
        user = db.session.scalar(query.limit(1))
        return f"the user {user.full_name} ({user.username})" if user else None

    return ValidationContext(
        username_owner=lambda name: owner(User.username_key, name),
        email_owner=lambda email: owner(User.email_key, email),
        naming_policy=deployment.naming_policy,
        upn_suffix=deployment.upn_suffix or None,
    )


def check_record(deployment: Deployment, values: dict, exclude_user_id: int | None = None):
    """The record cleaned, and its problems in the context of the deployment."""
    record = clean_record(values)
    return record, validate_record(record, validation_context(deployment, exclude_user_id))


def _store(user: User, record: dict) -> None:
    """Write the record's fields and the case-insensitive uniqueness keys."""
    assign_record(user, record)
    user.username_key = record["username"].lower()
    user.email_key = record["email"].lower()


def create_user(deployment: Deployment, values: dict, actor, *, origin: str = "manual") -> User:
    """A new draft user; ValidationFailed with every problem when the record has errors."""
    record, problems = check_record(deployment, values)
    if has_errors(problems):
        raise ValidationFailed(problems)
    user = User(deployment_id=deployment.id, origin=origin, status=UserStatus.DRAFT,
                created_by=audit.actor_label(actor))
    _store(user, record)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", deployment=deployment, obj=user,
                 summary=f"{user.full_name} ({user.username}) added {origin}")
    db.session.commit()
    return user


def update_user(user: User, values: dict, actor) -> User:
    """Change a user's fields; only users not yet in or on their way to the cloud."""
    if not user.editable:
        raise Conflict(f"{user.full_name} is {user.status_label}: it can no longer be edited here.")
    merged = {**record_of(user), **{k: v for k, v in values.items() if k in FIELD_NAMES}}
    record, problems = check_record(user.deployment, merged, exclude_user_id=user.id)
    if has_errors(problems):
        raise ValidationFailed(problems)
    before = record_of(user)
    _store(user, record)
    changed = [name for name in FIELD_NAMES if before[name] != record[name]]
    audit.record(actor, "user.update", deployment=user.deployment, obj=user,
                 summary=f"{user.full_name}: changed {', '.join(changed) or 'nothing'}",
                 detail={"fields": changed})
    db.session.commit()
    return user


def delete_user(user: User, actor) -> None:
    """Remove a user that is not in or on its way to the cloud."""
    if user.status in (UserStatus.QUEUED, UserStatus.PROVISIONING, UserStatus.IN_CLOUD):
        raise Conflict(f"{user.full_name} is {user.status_label}: remove it from the cloud first.")
    audit.record(actor, "user.delete", deployment=user.deployment, obj=user,
                 summary=f"{user.full_name} ({user.username})")
    db.session.delete(user)
    db.session.commit()


def get_user(deployment: Deployment, user_id: int) -> User | None:
    """A user of this deployment by id (None for another deployment's user)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.deployment_id == deployment.id else None


@dataclass
class UserQuery:
    """What the Users table shows: search text, status filter, sort and page."""

    q: str = ""
    status: str = ""
    sort: str = "name"
    direction: str = "asc"
    page: int = 1
    per_page: int = 25


def search_users(deployment: Deployment, query: UserQuery):
    """A page of the deployment's users matching the query."""
    stmt = sa.select(User).where(User.deployment_id == deployment.id)
    if query.q:
        stmt = stmt.where(matches_any([getattr(User, name) for name in FIELD_NAMES], query.q))
    if query.status in UserStatus.ALL:
        stmt = stmt.where(User.status == query.status)
    columns = SORTABLE.get(query.sort, SORTABLE["name"])
    order = [c.desc() if query.direction == "desc" else c.asc() for c in columns]
    stmt = stmt.order_by(*order, User.id)
    return db.paginate(stmt, page=max(query.page, 1), per_page=query.per_page, error_out=False)
