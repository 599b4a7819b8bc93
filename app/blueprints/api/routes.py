"""Deployments and users over JSON; the OpenAPI document."""

from flask import g, jsonify, request

from app.blueprints.api import bp
from app.blueprints.api.openapi import openapi_document
from app.models._base import record_of
from app.services import deployments, users
from app.services.errors import ValidationFailed


def user_json(user) -> dict:
    """A user as the API shows it."""
    return {"id": user.id, **record_of(user), "status": user.status, "step": user.step,
            "last_error": user.last_error, "origin": user.origin, "object_guid": user.object_guid or None,
            "ad_dn": user.ad_dn or None}


def problems_json(exc: ValidationFailed):
    """422 with the validator's problems."""
    errors = [p.as_dict() for p in exc.problems if p.severity == "error"]
    warnings = [p.as_dict() for p in exc.problems if p.severity != "error"]
    return jsonify(error=exc.message, errors=errors, warnings=warnings), 422


@bp.get("/openapi.json")
def openapi():
    """The API's description."""
    return jsonify(openapi_document())


@bp.get("/deployments")
def list_deployments():
    """Every deployment with its user counts and whether it is on cloud."""
    return jsonify(deployments=[
        {"code": d.code, "name": d.name, "on_cloud": d.on_cloud, "counts": deployments.status_counts(d)}
        for d in deployments.list_deployments()])


@bp.get("/deployments/<code>/users")
def list_users(code: str):
    """The deployment's users, with status, step and last error."""
    deployment = deployments.get_by_code(code)
    query = users.UserQuery(q=request.args.get("q", ""), status=request.args.get("status", ""),
                            page=request.args.get("page", 1, type=int),
                            per_page=min(request.args.get("per_page", 100, type=int), 1000))
    page = users.search_users(deployment, query)
    return jsonify(users=[user_json(u) for u in page.items], page=page.page, pages=page.pages, total=page.total)


@bp.post("/deployments/<code>/users")
def create_user(code: str):
    """Create one draft user; 422 with every problem when the record has errors."""
    deployment = deployments.get_by_code(code)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send a JSON object with the user's fields."), 400
    try:
        user = users.create_user(deployment, payload, g.api_operator, origin="api")
    except ValidationFailed as exc:
        return problems_json(exc)
    return jsonify(user_json(user)), 201
