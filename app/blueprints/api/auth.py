"""Bearer-token authentication for the API: personal tokens here, discovery tokens on their route."""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from app.blueprints.api import bp
from app.extensions import limiter
from app.services import operators
from app.services.secrets import token_digest

# Routes that authenticate with something else than a personal API token.
OWN_AUTH = {"api.discovery"}


def bearer_token() -> str | None:
    """The token of an 'Authorization: Bearer ...' header."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthorized(message: str):
    """401 with a JSON message and the challenge header."""
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="enlist"'
    return response


def _limit_key() -> str:
    """Rate limits count per token (per address when there is none)."""
    token = bearer_token()
    # The limiter writes its key to Redis and to its log: a digest, never the token itself.
    return "token:" + token_digest(token)[:32] if token else request.remote_addr or "anonymous"


limiter.limit(lambda: current_app.config["ENLIST_API_LIMIT"], key_func=_limit_key)(bp)
# Each guessed token would get a fresh budget above, so failed authentications also count per address:
# once an address has used up its failures, it gets 429 until the window passes.
limiter.limit(lambda: current_app.config["ENLIST_API_AUTH_FAILURE_LIMIT"],
              key_func=lambda: "auth-failures:" + (request.remote_addr or "anonymous"),
              deduct_when=lambda response: response.status_code == 401, scope="api-auth-failures")(bp)


@bp.before_request
def authenticate():
    """Every API route needs a valid personal token, except those with their own scheme."""
    if request.endpoint in OWN_AUTH:
        return None
    token = bearer_token()
    if not token:
        return unauthorized("Send a personal API token: Authorization: Bearer <token> (enlist issue-token).")
    operator = operators.operator_for_api_token(token)
    if operator is None:
        return unauthorized("This API token is not valid or was revoked.")
    g.api_operator = operator
    return None
