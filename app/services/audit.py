"""The audit log: every create, edit, delete, import and send is recorded."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Operator


def actor_label(actor) -> str:
    """How an actor appears in the log: an operator's email, or a label such as 'agent'."""
    if isinstance(actor, Operator):
        return actor.email
    return str(actor or "system")


def record(actor, action: str, *, deployment=None, obj=None, summary: str = "",
           outcome: str = "ok", detail: dict | None = None) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the change it describes)."""
    event = AuditEvent(
        actor=actor_label(actor),
        operator_id=actor.id if isinstance(actor, Operator) else None,
        deployment_id=getattr(deployment, "id", deployment),
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        summary=summary[:500],
        outcome=outcome,
        detail=detail or {},
    )
    db.session.add(event)
    return event


def events_for(deployment_id: int | None, *, page: int = 1, per_page: int = 50, action: str = ""):
    """The newest events first, for one deployment (or the portal-wide ones for None)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if deployment_id is not None:
        query = query.where(AuditEvent.deployment_id == deployment_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
