"""The Users table (search, sort, pages), inline editing, manual creation and deletion."""

from flask import abort, flash, g, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import hx_redirect, is_htmx
from app.blueprints.users import bp
from app.blueprints.users.forms import UserForm, attach_problems
from app.models import UserStatus
from app.models._base import record_of
from app.services import deployments, import_sources, provisioning, users
from app.services.errors import DomainError, ValidationFailed
from app.services.user_schema import FIELD_NAMES, FIELDS_BY_NAME


def _query() -> users.UserQuery:
    """The table's state from the query string."""
    args = request.args
    return users.UserQuery(q=args.get("q", "")[:100], status=args.get("status", ""),
                           sort=args.get("sort", "name"), direction=args.get("dir", "asc"),
                           page=args.get("page", 1, type=int), per_page=min(args.get("per_page", 25, type=int), 200))


def _user_or_404(user_id: int):
    """A user of the current deployment."""
    user = users.get_user(g.deployment, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
def index():
    """The page, or only the table when htmx asks (search as you type, sort, pages)."""
    query = _query()
    page = users.search_users(g.deployment, query)
    context = dict(deployment=g.deployment, page=page, query=query)
    if is_htmx() and request.headers.get("HX-Target") == "users-table":
        return render_template("users/_table.html", **context)
    return render_template("users/index.html", counts=deployments.status_counts(g.deployment),
                           sources=import_sources.for_deployment(g.deployment),
                           not_ready=deployments.cloud_readiness(g.deployment),
                           activity=provisioning.activity(g.deployment), **context)


@bp.get("/<int:user_id>")
def row(user_id: int):
    """One row, read-only (also the target of Cancel while editing)."""
    return render_template("users/_row.html", user=_user_or_404(user_id), deployment=g.deployment)


@bp.get("/<int:user_id>/edit")
def edit_row(user_id: int):
    """One row as an inline form (the pencil)."""
    user = _user_or_404(user_id)
    return render_template("users/_row_edit.html", user=user, values=record_of(user), problems={},
                           deployment=g.deployment)


@bp.put("/<int:user_id>")
def update(user_id: int):
    """Save an inline edit: the row back on success, the form with its problems (422) otherwise."""
    user = _user_or_404(user_id)
    values = {name: request.form.get(name, "") for name in FIELD_NAMES}
    in_ad = user.status in UserStatus.IN_AD
    try:
        if in_ad:  # saved here and pushed to the account by a job
            provisioning.update_in_cloud(user, values, current_user)
        else:
            users.update_user(user, values, current_user)
    except ValidationFailed as exc:
        return render_template("users/_row_edit.html", user=user, values=values, problems=exc.by_field(),
                               deployment=g.deployment), 422
    except DomainError as exc:  # not on cloud, or another change to the account still on its way
        if not in_ad:
            raise
        return render_template("users/_row.html", user=users.get_user(g.deployment, user_id),
                               deployment=g.deployment, notice=exc.message), 200
    headers = {"HX-Trigger": "cloud-activity"} if in_ad else {}
    return render_template("users/_row.html", user=user, deployment=g.deployment, saved=True), 200, headers


@bp.delete("/<int:user_id>")
def delete(user_id: int):
    """Delete a user (after the browser's confirmation); the row disappears."""
    user = _user_or_404(user_id)
    name = user.full_name
    users.delete_user(user, current_user)
    if is_htmx():
        return "", 200, {"HX-Trigger": "users-changed"}
    flash(f"{name} deleted.", "success")
    return hx_redirect(url_for("users.index"))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a user by hand: inline validation while typing, a draft user on save."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(g.deployment, form.data, current_user, origin="manual")
        except ValidationFailed as exc:
            attach_problems(form, exc.problems)
        else:
            flash(f"{user.full_name} added as a draft user.", "success")
            return hx_redirect(url_for("users.index"))
    return render_template("users/new.html", form=form, deployment=g.deployment), 422 if form.errors else 200


@bp.post("/validate")
def validate_field():
    """Inline validation of one field of the manual form, in the context of the others."""
    field = FIELDS_BY_NAME.get(request.form.get("_field", ""))
    if field is None:
        abort(400)
    _, problems = users.check_record(g.deployment, request.form)
    mine = [p for p in problems if p.field == field.name]
    return render_template("users/_feedback.html", field=field, problems=mine)
