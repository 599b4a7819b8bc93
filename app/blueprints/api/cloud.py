"""Send to cloud over the API: the same services and messages as the pages."""

from flask import g, jsonify, request, url_for

from app.blueprints.api import bp
from app.services import deployments, provisioning
from app.services.errors import DomainError
from app.services.provisioning import passwords, results


def send_json(send, *, with_users: bool = True) -> dict:
    """A send: counts per outcome (they add up to total) and each user's outcome."""
    progress = provisioning.progress(send, limit=100_000 if with_users else 0)
    body = {"id": send.id, "deployment": send.deployment.code, "action": send.action, "total": progress.total,
            "finished": progress.finished, "percent": progress.percent, "counts": progress.counts,
            "summary": provisioning.summary(progress), "created_by": send.created_by,
            "created_at": send.created_at.isoformat(),
            "finished_at": send.finished_at.isoformat() if send.finished_at else None,
            "results": {fmt: url_for("api.send_results", send_id=send.id, fmt=fmt) for fmt in results.FORMATS}}
    if with_users:
        body["users"] = [{"user_id": t.user_id, "username": t.username, "name": t.full_name,
                          "outcome": t.outcome, "step": t.step, "attempts": t.attempts, "message": t.message,
                          "error_code": t.error_code} for t in progress.tasks]
    return body


@bp.post("/deployments/<code>/send-to-cloud")
def send_to_cloud(code: str):
    """Queue users for AD: {"user_ids": [...]} or {"all_drafts": true}; 202 with the send's id."""
    deployment = deployments.get_by_code(code)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send a JSON object: {\"user_ids\": [1, 2]} or {\"all_drafts\": true}."), 400
    ids = payload.get("user_ids")
    if payload.get("all_drafts") is True:
        ids = None
    elif not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return jsonify(error="Give user_ids as a list of user ids, or all_drafts: true."), 400
    try:
        result = provisioning.send_to_cloud(deployment, g.api_operator, user_ids=ids,
                                            password=payload.get("password"))
    except DomainError as exc:
        return jsonify(error=exc.message), 409 if exc.status == 409 else 422
    body = {"send": send_json(result.send, with_users=False), "skipped": result.skipped}
    return jsonify(body), 202, {"Location": url_for("api.get_send", send_id=result.send.id)}


@bp.get("/sends/<int:send_id>")
def get_send(send_id: int):
    """A send's counts per outcome and each user's outcome, step and message."""
    return jsonify(send_json(provisioning.get_send(None, send_id)))


@bp.get("/sends/<int:send_id>/results.<fmt>")
def send_results(send_id: int, fmt: str):
    """The results file: every user with outcome and reason (.xlsx or .csv, formula-safe)."""
    if fmt not in results.FORMATS:
        return jsonify(error="Ask for results.xlsx or results.csv."), 404
    data, mimetype, name = results.results_file(provisioning.get_send(None, send_id), fmt)
    return data, 200, {"Content-Type": mimetype, "Content-Disposition": f'attachment; filename="{name}"'}


@bp.post("/sends/<int:send_id>/passwords")
def take_passwords(send_id: int):
    """The send's initial passwords, once (this is the send's one download)."""
    send = provisioning.get_send(None, send_id)
    try:
        rows = passwords.take(send, g.api_operator, channel="download")
    except DomainError as exc:
        return jsonify(error=exc.message), 409
    response = jsonify(passwords=[{"username": r.username, "sign_in": r.sign_in, "email": r.email,
                                   "password": r.password, "outcome": r.outcome} for r in rows])
    response.headers["Cache-Control"] = "no-store"
    return response
