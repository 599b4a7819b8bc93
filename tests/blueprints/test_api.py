"""The automation API: bearer tokens, users as JSON, the OpenAPI document."""

import pytest

from app.services import operators


@pytest.fixture()
def token(app, make_operator):
    """A personal API token of a technician."""
    return operators.issue_api_token(make_operator("tech@msp.example"), "tests")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_api_refuses_a_caller_without_a_token(client, make_deployment):
    response = client.get("/api/v1/deployments")
    assert response.status_code == 401 and "Bearer" in response.json["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_refuses_a_revoked_token(client, token):
    from app.extensions import db
    from app.models import ApiToken

    operators.revoke_api_token(db.session.scalar(db.select(ApiToken.id)), "tests")
    response = client.get("/api/v1/deployments", headers=bearer(token))
    assert response.status_code == 401 and "revoked" in response.json["error"]


def test_api_does_not_accept_a_session_cookie(client, technician):
    assert client.get("/api/v1/deployments").status_code == 401


def test_create_and_list_users_over_the_api(client, token, make_deployment):
    make_deployment("ACME")
    record = {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example", "username": "alee",
              "phone": "5551234567"}
    created = client.post("/api/v1/deployments/ACME/users", json=record, headers=bearer(token))
    assert created.status_code == 201 and created.json["status"] == "draft" and created.json["origin"] == "api"
    listed = client.get("/api/v1/deployments/ACME/users", headers=bearer(token)).json
    assert listed["total"] == 1 and listed["users"][0]["username"] == "alee"


def test_api_answers_422_with_the_validators_messages(client, token, make_deployment):
    make_deployment("ACME")
    record = {"first_name": "Pat", "last_name": "O'Leary", "email": "pat@acme.example", "username": "pat",
              "phone": "(555) 1234"}
    response = client.post("/api/v1/deployments/ACME/users", json=record, headers=bearer(token))
    assert response.status_code == 422
    by_field = {e["field"]: e for e in response.json["errors"]}
    assert by_field["last_name"]["suggestion"] == "OLeary" and by_field["phone"]["suggestion"] == "5551234"


def test_api_unknown_deployment_is_404_json(client, token):
    response = client.get("/api/v1/deployments/NOPE/users", headers=bearer(token))
    assert response.status_code == 404 and "NOPE" in response.json["error"]


def test_openapi_document_describes_the_user_record_from_the_schema(client, token):
    from app.services.user_schema import USER_FIELDS

    doc = client.get("/api/v1/openapi.json", headers=bearer(token)).json
    assert doc["openapi"].startswith("3.")
    assert set(doc["components"]["schemas"]["UserRecord"]["properties"]) == {f.name for f in USER_FIELDS}
    assert {"/deployments/{code}/users", "/deployments/{code}/imports", "/imports/{id}/commit"} <= set(doc["paths"])
