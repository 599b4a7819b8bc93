"""What each kind of task does in the directory, on a pooled connection; every action is idempotent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from app.models import Action, UserStatus
from app.services.directory import (
    AccountSpec,
    DirectoryError,
    DirectorySettings,
    delete_account,
    disable_account,
    ensure_ad_user,
    ensure_ou,
    find_account,
    reset_password,
    set_groups,
    update_account,
)
from app.services.directory.attributes import upn_for
from app.services.directory.groups import resolve_groups
from app.services.provisioning.pool import PooledDirectory


@dataclass
class TaskContext:
    """What a task needs, read from the database once before any directory call."""

    action: str
    settings: DirectorySettings
    enlist_id: str
    username: str
    record: dict[str, str]
    guid: str
    password: str | None = field(repr=False)
    options: dict
    step_done: Callable[[str, str], None]  # (step, objectGUID): recorded before the next step starts


def create(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Send to cloud (and link): the OU, then add, password, enable and groups, each only if missing."""
    conn = entry.conn
    if not entry.ou_ready:
        try:
            ensure_ou(conn, ctx.settings.users_ou)
        except DirectoryError as error:
            raise DirectoryError(f"The target OU {ctx.settings.users_ou} is missing and Enlist cannot create "
                                 f"it: {error.message}", code="ou_missing", raw=error.raw,
                                 transient=error.transient) from None
        entry.ou_ready = True
    if entry.group_dns is None:  # names are looked up once per connection, not once per user
        entry.group_dns = resolve_groups(conn, ctx.settings.base_dn, ctx.settings.groups)
    settings = dataclasses.replace(ctx.settings, groups=entry.group_dns)
    known = ctx.guid
    if ctx.action == Action.LINK and not known:
        found = find_account(conn, settings, username=ctx.username, upn=upn_for(ctx.username, settings))
        if found is not None:
            known = found.guid
            ctx.step_done("link", found.guid)
    spec = AccountSpec(enlist_id=ctx.enlist_id, username=ctx.username, attributes=ctx.record,
                       password=ctx.password or "")
    try:
        result = ensure_ad_user(conn, settings, spec, known_guid=known or None, step_done=ctx.step_done)
    except DirectoryError as error:
        if error.code == "no_such_object":  # the OU vanished since this connection checked it
            entry.ou_ready = False
        raise
    return {"status": UserStatus.IN_CLOUD, "ad_dn": result.dn, "object_guid": result.guid}


def update(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Write the user's current record to the account."""
    update_account(entry.conn, ctx.settings, _guid(ctx), ctx.record)
    ctx.step_done("update", ctx.guid)
    return {}


def reset(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Set the new initial password (to be changed at next sign-in when the deployment says so)."""
    reset_password(entry.conn, _guid(ctx), ctx.password or "", ctx.settings.must_change_password)
    ctx.step_done("password", ctx.guid)
    return {}


def groups(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Add the account to some groups and remove it from others."""
    set_groups(entry.conn, _guid(ctx), add=ctx.options.get("add", []), remove=ctx.options.get("remove", []))
    ctx.step_done("groups", ctx.guid)
    return {}


def disable(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Disable the account; Send to cloud enables it again."""
    disable_account(entry.conn, _guid(ctx))
    ctx.step_done("disable", ctx.guid)
    return {"status": UserStatus.DISABLED}


def delete(ctx: TaskContext, entry: PooledDirectory) -> dict:
    """Delete the account; the user goes back to draft and can be sent again."""
    delete_account(entry.conn, _guid(ctx))
    ctx.step_done("delete", ctx.guid)
    return {"status": UserStatus.DRAFT, "ad_dn": "", "object_guid": ""}


def _guid(ctx: TaskContext) -> str:
    """The account's objectGUID; a user without one has no account to manage."""
    if not ctx.guid:
        raise DirectoryError("Enlist has no record of this user's account in the directory.",
                             code="account_missing")
    return ctx.guid


ACTIONS: dict[str, Callable[[TaskContext, PooledDirectory], dict]] = {
    Action.CREATE: create, Action.LINK: create, Action.UPDATE: update, Action.RESET_PASSWORD: reset,
    Action.GROUPS: groups, Action.DISABLE: disable, Action.DELETE: delete,
}
