"""POST /api/v1/discovery: the discovery agents report users; authenticated by a discovery token."""

from __future__ import annotations

import json

from flask import jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.api import bp
from app.blueprints.api.auth import bearer_token, unauthorized
from app.services import discovery as discovery_service

TOO_LARGE = (f"The upload is too large: send at most {discovery_service.MAX_RECORDS} records and "
             f"{discovery_service.MAX_BYTES // (1024 * 1024)} MB per request.")


def _refuse(status: int, message: str):
    """A JSON refusal of the whole request."""
    return jsonify(error=message), status


@bp.post("/discovery")
def discovery():
    """Upsert one record or {"records": [...]} into the token's Catalog; answer record by record."""
    token = discovery_service.token_for(bearer_token())
    if token is None:
        return unauthorized(discovery_service.TOKEN_ERROR)
    if (request.content_length or 0) > discovery_service.MAX_BYTES:
        return _refuse(413, TOO_LARGE)
    if request.mimetype != "application/json":
        return _refuse(415, "Send the records as application/json.")
    request.max_content_length = discovery_service.MAX_BYTES
    try:
        data = json.loads(request.get_data(cache=False))
    except RequestEntityTooLarge:
        return _refuse(413, TOO_LARGE)
    except (ValueError, RecursionError):
        return _refuse(400, "The body is not valid JSON.")
    batch = data["records"] if isinstance(data, dict) and "records" in data else [data]
    if not isinstance(batch, list) or not batch:
        return _refuse(400, "records must be a non-empty list of user records.")
    if len(batch) > discovery_service.MAX_RECORDS:
        return _refuse(413, TOO_LARGE)
    answer = discovery_service.ingest(token, batch)
    return jsonify(answer), 422 if answer["counts"]["rejected"] else 200
