"""Starting work in the directory: Send to cloud, link, and every change to an account in the cloud.

The request only changes rows and enqueues ids. Users are claimed with one conditional UPDATE, so
two clicks (or two technicians) never send the same user twice: the second finds nothing to send.
Initial passwords are generated here and stored encrypted on the task; jobs read them from the
database, never from Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Action, CloudSend, Deployment, ProvisionTask, User, UserStatus
from app.models._base import assign_record, record_of
from app.services import audit, secrets
from app.services.deployments import cloud_readiness
from app.services.directory import generate_password
from app.services.errors import Conflict, DomainError, ValidationFailed
from app.services.provisioning import passwords, queueing
from app.services.provisioning.settings import check_typed_password
from app.services.spreadsheet.export import is_formula_like
from app.services.user_schema import FIELD_NAMES
from app.services.validation import has_errors

CHUNK = 500  # ids per IN (...) list: well under every database's limit on bound parameters


@dataclass
class SendResult:
    """A new send and how many of the asked users were not sendable (already queued, in cloud...)."""

    send: CloudSend
    skipped: int


def _ready(deployment: Deployment) -> None:
    """Conflict with the reason when the deployment is not on cloud."""
    reason = cloud_readiness(deployment)
    if reason:
        raise Conflict(reason)


def send_to_cloud(deployment: Deployment, actor, *, user_ids: Sequence[int] | None = None,
                  password: str | None = None) -> SendResult:
    """Queue the chosen users (or every draft) and enqueue one job per user."""
    _ready(deployment)
    if user_ids is not None:
        user_ids = sorted({int(i) for i in user_ids})
        if not user_ids:
            raise DomainError("Select the users to send first.")
    # Chosen users may be retried after a failure or a conflict (renamed since); "all" means drafts.
    statuses = (*UserStatus.SENDABLE, UserStatus.CONFLICT) if user_ids is not None else (UserStatus.DRAFT,)
    typed = deployment.password_mode == "typed"
    if typed:
        check_typed_password(password, _usernames(deployment, user_ids, statuses))
    claimed = _claim(deployment, user_ids, statuses)
    asked = len(user_ids) if user_ids is not None else len(claimed)
    if not claimed:
        what = "These users are" if user_ids is not None else "There are no draft users:"
        raise Conflict(f"{what} already queued, being created or in the cloud: nothing new was sent.")
    users = _load(claimed)
    send = _new_send(deployment, Action.CREATE, actor, len(users))
    tasks = [_new_task(send, user, Action.CREATE, password if typed else _generated(user)) for user in users]
    db.session.flush()  # one multi-row INSERT: the jobs need the task ids
    audit.record(actor, "cloud.send", deployment=deployment, obj=send,
                 summary=f"Send to cloud: {len(users)} user{'s' if len(users) != 1 else ''}",
                 detail={"users": len(users), "skipped": asked - len(users)})
    db.session.commit()
    queueing.enqueue_tasks(tasks)
    return SendResult(send, asked - len(users))


def link_existing(user: User, actor) -> CloudSend:
    """Adopt the AD account a conflicting user collided with: Enlist manages it from now on."""
    _ready(user.deployment)
    if not _claim(user.deployment, [user.id], (UserStatus.CONFLICT,)):
        raise Conflict(f"{user.full_name} is {user.status_label}: only a conflict can be linked.")
    # Used only if the account is disabled and gets enabled; shown once like any initial password.
    return _single(user, Action.LINK, actor, password=_generated(user),
                   summary=f"{user.full_name}: link to the existing account {user.username}")


def update_in_cloud(user: User, values: dict, actor) -> CloudSend | None:
    """Save changed fields of a user in the cloud and push them to the account."""
    from app.services.users import check_record

    merged = {**record_of(user), **{k: v for k, v in values.items() if k in FIELD_NAMES}}
    record, problems = check_record(user.deployment, merged, exclude_user_id=user.id)
    if has_errors(problems):
        raise ValidationFailed(problems)
    before = record_of(user)
    changed = [name for name in FIELD_NAMES if before[name] != record[name]]
    if not changed:
        return None
    _ready(user.deployment)
    _claim_change(user, Action.UPDATE)
    assign_record(user, record)
    user.username_key, user.email_key = record["username"].lower(), record["email"].lower()
    return _single(user, Action.UPDATE, actor, detail={"fields": changed},
                   summary=f"{user.full_name}: changed {', '.join(changed)} (pushed to AD)")


def reset_password(user: User, actor, *, password: str | None = None) -> CloudSend:
    """Give the account a new initial password, shown once when the change is done."""
    _ready(user.deployment)
    typed = user.deployment.password_mode == "typed"
    chosen = check_typed_password(password, [user.username]) if typed else _generated(user)
    _claim_change(user, Action.RESET_PASSWORD)
    return _single(user, Action.RESET_PASSWORD, actor, password=chosen,
                   summary=f"{user.full_name}: reset password")


def change_groups(user: User, actor, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> CloudSend:
    """Add the account to groups and remove it from others (names or DNs)."""
    add, remove = _names(add), _names(remove)
    if not add and not remove:
        raise DomainError("Name at least one group to add or remove.")
    _ready(user.deployment)
    _claim_change(user, Action.GROUPS)
    return _single(user, Action.GROUPS, actor, options={"add": add, "remove": remove},
                   summary=f"{user.full_name}: groups +{', '.join(add) or '-'} / -{', '.join(remove) or '-'}")


def remove_from_cloud(user: User, actor, *, mode: str) -> CloudSend:
    """Disable the account, or delete it (the user goes back to draft): the technician's choice."""
    if mode not in (Action.DISABLE, Action.DELETE):
        raise DomainError("Choose whether to disable or to delete the account.")
    _ready(user.deployment)
    statuses = UserStatus.IN_AD if mode == Action.DELETE else (UserStatus.IN_CLOUD,)
    _claim_change(user, mode, statuses)
    verb = "disable" if mode == Action.DISABLE else "delete"
    return _single(user, mode, actor, summary=f"{user.full_name}: {verb} the account in AD")


def _single(user: User, action: str, actor, *, summary: str, password: str | None = None,
            options: dict | None = None, detail: dict | None = None) -> CloudSend:
    """A send of one task for one user, recorded and enqueued."""
    send = _new_send(user.deployment, action, actor, 1, options)
    task = _new_task(send, user, action, password)
    db.session.flush()
    audit.record(actor, f"cloud.{action}", deployment=user.deployment, obj=user, summary=summary,
                 detail={"send": send.id, **(detail or {})})
    db.session.commit()
    queueing.enqueue_tasks([task])
    return send


def _claim(deployment: Deployment, user_ids: Sequence[int] | None, statuses: tuple) -> list[int]:
    """Move the users in one of statuses to queued in one UPDATE each chunk; the ids that moved."""
    claimed: list[int] = []
    chunks = [None] if user_ids is None else [user_ids[i:i + CHUNK] for i in range(0, len(user_ids), CHUNK)]
    for chunk in chunks:
        stmt = sa.update(User).where(User.deployment_id == deployment.id, User.status.in_(statuses))
        if chunk is not None:
            stmt = stmt.where(User.id.in_(chunk))
        stmt = stmt.values(status=UserStatus.QUEUED, step="", last_error="").returning(User.id)
        claimed += db.session.execute(stmt, execution_options={"synchronize_session": False}).scalars().all()
    return claimed


def _claim_change(user: User, action: str, statuses: tuple = UserStatus.IN_AD) -> None:
    """Mark a change on its way for a user in AD with no other change waiting; Conflict otherwise."""
    moved = db.session.execute(
        sa.update(User).where(User.id == user.id, User.status.in_(statuses), User.step == "")
        .values(step=Action.PENDING[action][:20]), execution_options={"synchronize_session": False}).rowcount
    if not moved:
        db.session.rollback()
        if user.status in UserStatus.IN_AD:
            raise Conflict(f"A change to {user.full_name} is still on its way to AD: wait for it to finish.")
        raise Conflict(f"{user.full_name} is {user.status_label}: only users in the cloud can be changed there.")
    user.step = Action.PENDING[action][:20]


def _usernames(deployment: Deployment, user_ids, statuses) -> list[str]:
    """The usernames a typed password must not contain."""
    stmt = sa.select(User.username).where(User.deployment_id == deployment.id, User.status.in_(statuses))
    if user_ids is not None:
        stmt = stmt.where(User.id.in_(user_ids[:CHUNK * 20]))
    return list(db.session.scalars(stmt))


def _load(ids: list[int]) -> list[User]:
    """The users with these ids, in id order."""
    users: list[User] = []
    for i in range(0, len(ids), CHUNK):
        users += db.session.scalars(sa.select(User).where(User.id.in_(ids[i:i + CHUNK]))).all()
    return sorted(users, key=lambda u: u.id)


def _new_send(deployment: Deployment, action: str, actor, total: int, options: dict | None = None) -> CloudSend:
    """A send row (flushed, so it has an id)."""
    send = CloudSend(deployment_id=deployment.id, action=action, created_by=audit.actor_label(actor),
                     total=total, options=options or {}, passwords_expire_at=passwords.expiry())
    db.session.add(send)
    db.session.flush()
    return send


def _new_task(send: CloudSend, user: User, action: str, password: str | None) -> ProvisionTask:
    """A queued task of the send for the user, its initial password encrypted (flushed by the caller)."""
    task = ProvisionTask(send_id=send.id, user_id=user.id, action=action, username=user.username,
                         full_name=user.full_name[:130], password_secret=secrets.box().encrypt(password))
    task.job_id = queueing.job_id(task)
    db.session.add(task)
    return task


def _generated(user: User) -> str:
    """A random initial password that meets AD's complexity and avoids the user's names.

    It never starts with a character a spreadsheet reads as a formula, so the CSV download needs
    no protective apostrophe that the technician would then copy as part of the password.
    """
    while True:
        password = generate_password(16, username=user.username, display_name=user.full_name)
        if not is_formula_like(password):
            return password


def _names(groups: Iterable[str]) -> list[str]:
    """Group names or DNs, one per entry or line, trimmed, without repeats."""
    names = [line.strip() for text in groups for line in str(text).splitlines()]
    return list(dict.fromkeys(n for n in names if n))
