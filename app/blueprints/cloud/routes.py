"""Send to cloud, the progress panel, results and initial passwords, Test connection."""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import hx_redirect, is_htmx
from app.blueprints.cloud import bp
from app.services import deployments, provisioning
from app.services.errors import DomainError
from app.services.provisioning import passwords, results


def _download(data: bytes, mimetype: str, name: str):
    """A file response that no cache keeps."""
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/send")
def send():
    """Send the selected users, or every draft, then show the send's progress."""
    scope = request.form.get("scope", "selected")
    user_ids = request.form.getlist("user_ids", type=int) if scope == "selected" else None
    try:
        result = provisioning.send_to_cloud(g.deployment, current_user, user_ids=user_ids,
                                            password=request.form.get("initial_password") or None)
    except DomainError as exc:
        flash(exc.message, "error")
        return hx_redirect(url_for("users.index"))
    sent = result.send.total
    note = f" {result.skipped} selected user(s) were already on their way or in the cloud." if result.skipped else ""
    flash(f"Sending {sent} user{'s' if sent != 1 else ''} to the cloud.{note}", "success")
    return hx_redirect(url_for("cloud.send_progress", send_id=result.send.id))


@bp.get("/sends/<int:send_id>")
def send_progress(send_id: int):
    """The send's page; htmx polls the panel alone until every user has an outcome."""
    progress = provisioning.progress(provisioning.get_send(g.deployment, send_id))
    context = dict(p=progress, deployment=g.deployment, summary=provisioning.summary(progress),
                   password_reason=passwords.availability(progress.send),
                   password_count=passwords.pending_count(progress.send))
    if is_htmx():
        return render_template("cloud/_progress.html", **context)
    return render_template("cloud/send.html", **context)


@bp.get("/sends")
def sends():
    """The deployment's latest sends."""
    return render_template("cloud/sends.html", deployment=g.deployment,
                           sends=provisioning.recent_sends(g.deployment, 50))


@bp.get("/sends/<int:send_id>/results.<fmt>")
def send_results(send_id: int, fmt: str):
    """Every user of the send with outcome and reason, as .xlsx or .csv."""
    if fmt not in results.FORMATS:
        abort(404)
    send = provisioning.get_send(g.deployment, send_id)
    return _download(*results.results_file(send, fmt))


@bp.post("/sends/<int:send_id>/passwords/show")
def show_passwords(send_id: int):
    """The initial passwords, this once."""
    send = provisioning.get_send(g.deployment, send_id)
    try:
        rows = passwords.take(send, current_user, channel="show")
    except DomainError as exc:
        return render_template("cloud/_passwords.html", send=send, rows=None, message=exc.message)
    return render_template("cloud/_passwords.html", send=send, rows=rows, message="")


@bp.post("/sends/<int:send_id>/passwords/download")
def download_passwords(send_id: int):
    """The initial passwords as a file, this once."""
    send = provisioning.get_send(g.deployment, send_id)
    fmt = request.form.get("format", "xlsx")
    if fmt not in results.FORMATS:
        abort(400)
    try:
        rows = passwords.take(send, current_user, channel="download")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("cloud.send_progress", send_id=send.id), code=303)
    return _download(*results.password_file(rows, fmt, send))


@bp.get("/activity")
def activity():
    """The Users page banner: work on its way to AD; asks the table to refresh when it moved."""
    now = provisioning.activity(g.deployment)
    seen = request.args.get("seen", type=int)
    response = make_response(render_template("cloud/_activity.html", activity=now, deployment=g.deployment))
    if seen is not None and seen != now.open_tasks:
        response.headers["HX-Trigger"] = "users-changed"
    return response


@bp.post("/test-connection")
def test_connection():
    """Test connection: each check in plain words; all passing puts the deployment on cloud."""
    checks = provisioning.verify_connection(g.deployment, current_user)
    return render_template("cloud/_checks.html", checks=checks, deployment=g.deployment,
                           not_ready=deployments.cloud_readiness(g.deployment))
