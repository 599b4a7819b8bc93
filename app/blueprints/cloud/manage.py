"""One user in the cloud: retry, link a conflict, reset password, groups, disable or delete in AD."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import is_htmx
from app.blueprints.cloud import bp
from app.services import deployments, provisioning, users
from app.services.errors import DomainError


def _user(user_id: int):
    """A user of the current deployment."""
    user = users.get_user(g.deployment, user_id)
    if user is None:
        abort(404)
    return user


def _row(user, message: str = ""):
    """The user's row, and a nudge for the Users page banner to start following the work."""
    html = render_template("users/_row.html", user=user, deployment=g.deployment, notice=message)
    return html, 200, {"HX-Trigger": "cloud-activity"}


def _to_send(send):
    """After a change was queued: its page, where the outcome (and any new password) appears."""
    return redirect(url_for("cloud.send_progress", send_id=send.id), code=303)


@bp.get("/users/<int:user_id>/manage")
def manage(user_id: int):
    """What can be done to this user's account in AD."""
    return render_template("cloud/manage.html", user=_user(user_id), deployment=g.deployment,
                           not_ready=deployments.cloud_readiness(g.deployment))


@bp.post("/users/<int:user_id>/retry")
def retry(user_id: int):
    """Send one failed or conflicting user again (after a rename, for a conflict)."""
    user = _user(user_id)
    try:
        provisioning.send_to_cloud(g.deployment, current_user, user_ids=[user.id],
                                   password=request.form.get("initial_password") or None)
    except DomainError as exc:
        return _row(user, exc.message)
    return _row(users.get_user(g.deployment, user_id))


@bp.post("/users/<int:user_id>/link")
def link(user_id: int):
    """Adopt the existing AD account a conflicting user collided with."""
    user = _user(user_id)
    try:
        provisioning.link_existing(user, current_user)
    except DomainError as exc:
        return _row(user, exc.message)
    return _row(users.get_user(g.deployment, user_id))


def _manage_action(user_id: int, action):
    """Run a change on the user's account; back to the manage page with the message when refused."""
    user = _user(user_id)
    try:
        send = action(user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("cloud.manage", user_id=user.id), code=303)
    if is_htmx():
        return _row(user)
    return _to_send(send)


@bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):
    """A new initial password, shown once when it is set."""
    return _manage_action(user_id, lambda user: provisioning.reset_password(
        user, current_user, password=request.form.get("initial_password") or None))


@bp.post("/users/<int:user_id>/groups")
def groups(user_id: int):
    """Add the account to groups and remove it from others."""
    return _manage_action(user_id, lambda user: provisioning.change_groups(
        user, current_user, add=[request.form.get("add", "")], remove=[request.form.get("remove", "")]))


@bp.post("/users/<int:user_id>/remove")
def remove(user_id: int):
    """Remove from cloud: disable the account, or delete it (the technician's choice)."""
    return _manage_action(user_id, lambda user: provisioning.remove_from_cloud(
        user, current_user, mode=request.form.get("mode", "")))


@bp.app_template_global()
def pending_label(user) -> str:
    """What a user's row says about work on its way: the step reached or the change waiting."""
    from app.models import UserStatus

    if user.status == UserStatus.QUEUED:
        return f"waiting · step {user.step}" if user.step else "waiting for a worker"
    if user.status == UserStatus.PROVISIONING:
        return f"step: {user.step}" if user.step else "starting"
    if user.status in UserStatus.IN_AD and user.step:
        return f"{user.step}…"
    if user.status == UserStatus.FAILED and user.step:
        return f"stopped after step {user.step}"
    return ""
