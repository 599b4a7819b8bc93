"""Access: every route generated from app.url_map refuses whom it must, so a new route is covered at once.

Pages send an anonymous caller to sign in (302, or 401 with HX-Redirect for htmx); the API answers 401
JSON; admin-only routes (marked by admin_required) answer 403 to a technician; every state-changing page
route refuses a request without the CSRF token; sessions expire; API tokens can be revoked; sign-in and the
API are rate limited.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

from app.blueprints.access import is_admin_only
from app.extensions import db
from app.models import ApiToken, AuditEvent
from app.services import operators
from tests.conftest import TEST_PASSWORD, csrf_token_of

# The deliberately public endpoints, listed here by hand: adding one to the app must be a decision that
# also changes this list. api.discovery authenticates with its own (discovery) token.
EXPECTED_PUBLIC = {"auth.sign_in", "auth.setup", "main.health", "static", "api.discovery"}
# Admin-only endpoints known today; every route marked by admin_required is checked, these must be among them.
KNOWN_ADMIN = {"operators.index", "operators.toggle_active", "audit.portal_log"}
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
SAMPLE_VALUES = {"code": "ACME", "fmt": "xlsx", "filename": "app.css"}


def sample_value(name: str, converter):
    """A value the URL variable's converter accepts."""
    kind = type(converter).__name__
    if kind in ("IntegerConverter", "FloatConverter"):
        return 1
    if kind == "AnyConverter":
        return sorted(converter.items)[0]
    if kind == "UUIDConverter":
        return "00000000-0000-4000-8000-000000000000"
    return SAMPLE_VALUES.get(name, "x")


def routes(app):
    """Every (endpoint, method, url) of the app, with sample values for the URL's variables."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        values = {name: sample_value(name, rule._converters[name]) for name in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, adapter.build(rule.endpoint, values, method=method)))
    return found


def is_api(endpoint: str) -> bool:
    return endpoint.startswith("api.")


def page_routes(app, methods=None):
    return [(e, m, u) for e, m, u in routes(app)
            if not is_api(e) and e not in EXPECTED_PUBLIC and (methods is None or m in methods)]


def api_routes(app):
    return [(e, m, u) for e, m, u in routes(app) if is_api(e) and e not in EXPECTED_PUBLIC]


def admin_routes(app):
    return [(e, m, u) for e, m, u in routes(app) if is_admin_only(app.view_functions[e])]


@pytest.fixture()
def set_up(make_operator, make_deployment):
    """Setup is done (an admin exists) and the sample deployment ACME exists."""
    make_operator("admin@msp.example", role="admin")
    make_deployment("ACME")


def anonymous_csrf(client) -> str:
    """A CSRF token of the anonymous session, so CSRF is not what refuses the request."""
    return csrf_token_of(client.get("/sign-in").get_data(as_text=True))


def test_the_route_list_is_generated_and_covers_the_known_areas(app):
    endpoints = {e for e, _, _ in routes(app)}
    assert len(routes(app)) >= 60
    assert {"users.index", "users.update", "imports.upload", "operators.index", "api.list_users",
            "api.create_import", "cloud.send"} <= endpoints


def test_only_the_deliberately_public_endpoints_skip_sign_in(app):
    from app.blueprints import access
    from app.blueprints.api import auth as api_auth

    assert access.PUBLIC_ENDPOINTS | api_auth.OWN_AUTH <= EXPECTED_PUBLIC


def test_every_page_route_sends_an_anonymous_caller_to_sign_in(client, set_up):
    token = anonymous_csrf(client)
    checked = 0
    for endpoint, method, url in page_routes(client.application):
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        assert response.status_code == 302, (endpoint, method, url, response.status_code)
        assert response.headers["Location"].startswith("/sign-in"), (endpoint, method, url)
        checked += 1
    assert checked >= 45


def test_every_page_route_answers_an_anonymous_htmx_request_with_401_and_a_redirect(client, set_up):
    token = anonymous_csrf(client)
    for endpoint, method, url in page_routes(client.application):
        response = client.open(url, method=method, headers={"X-CSRFToken": token, "HX-Request": "true"})
        assert response.status_code == 401, (endpoint, method, url, response.status_code)
        assert response.headers["HX-Redirect"].startswith("/sign-in"), (endpoint, method, url)
        assert b"Acme" not in response.data


def test_an_anonymous_caller_cannot_tell_which_deployment_codes_exist(client, set_up):
    known = client.get("/deployments/ACME/users/")
    unknown = client.get("/deployments/NOPE/users/")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"].replace("ACME", "X") == unknown.headers["Location"].replace("NOPE", "X")


def test_every_api_route_refuses_a_missing_a_wrong_or_a_foreign_kind_of_credential(app, client, set_up,
                                                                                     make_operator):
    technician = make_operator("tech@msp.example")
    client.post("/sign-in", data={"email": technician.email, "password": TEST_PASSWORD,
                                  "csrf_token": anonymous_csrf(client)})
    assert client.get("/deployments/").status_code == 200  # the session cookie is valid for pages
    wrong = ["", "Bearer", "Bearer enl_" + "x" * 43, "Basic dGVjaDpwYXNz", "Bearer " + TEST_PASSWORD]
    checked = 0
    for endpoint, method, url in api_routes(app):
        for header in wrong:
            response = client.open(url, method=method, headers={"Authorization": header} if header else {},
                                   json={})
            assert response.status_code == 401, (endpoint, method, url, header, response.status_code)
            assert response.is_json and response.json["error"], (endpoint, method, url)
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (endpoint, method, url)
        checked += 1
    assert checked >= 12


def test_the_public_endpoints_do_only_what_they_must(client, set_up):
    assert client.get("/sign-in").status_code == 200
    assert client.get("/setup").headers["Location"].endswith("/sign-in")  # setup is closed once an operator exists
    assert client.post("/setup", data={"email": "evil@x.example", "password": "p" * 20, "confirm": "p" * 20,
                                       "csrf_token": anonymous_csrf(client)}).status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0
    assert operators.authenticate("evil@x.example", "p" * 20) is None
    assert client.get("/health").json["status"] == "ok"
    assert client.get("/static/app.css").status_code == 200
    if "api.discovery" in client.application.view_functions:
        assert client.post("/api/v1/discovery", json={}).status_code == 401


def test_a_technician_gets_403_from_every_admin_only_route(client, auth, technician, make_deployment):
    make_deployment("ACME")
    marked = admin_routes(client.application)
    assert KNOWN_ADMIN <= {e for e, _, _ in marked}
    headers = {"X-CSRFToken": auth.token("/deployments/")}
    for endpoint, method, url in marked:
        response = client.open(url, method=method, headers=headers, data={"email": "x@msp.example"})
        assert response.status_code == 403, (endpoint, method, url, response.status_code)
    assert technician.is_admin is False and not technician.role == "admin"


def test_routes_that_manage_integration_accounts_are_admin_only(app):
    # ConnectWise and Zendesk keys are admin business (issue 6): whatever the blueprint calls them.
    suspects = [e for e, _, _ in routes(app) if re.search(r"integration.*account|account.*integration|credential", e)]
    assert all(is_admin_only(app.view_functions[e]) for e in suspects), suspects


def test_an_admin_reaches_the_admin_only_pages(client, admin):
    for endpoint, method, url in admin_routes(client.application):
        if method == "GET":
            assert client.get(url).status_code == 200, (endpoint, url)


def csrf_targets(app):
    """Every state-changing page route (the API takes no cookies, so CSRF does not apply there)."""
    return [(e, m, u) for e, m, u in routes(app) if m in STATE_CHANGING and not is_api(e)]


def audit_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


def test_every_state_changing_page_route_refuses_a_request_without_the_csrf_token(client, admin, make_deployment,
                                                                                   make_user):
    make_user(make_deployment("ACME"))
    before = audit_count()
    targets = csrf_targets(client.application)
    assert len(targets) >= 20
    for endpoint, method, url in targets:
        for headers in ({}, {"HX-Request": "true"}, {"X-CSRFToken": "forged"}):
            response = client.open(url, method=method, headers=headers, data={"email": "a@b.example"})
            assert response.status_code == 400, (endpoint, method, url, headers, response.status_code)
    assert audit_count() == before
    assert client.get("/deployments/").status_code == 200  # still signed in: nothing was changed


def test_a_csrf_token_of_another_session_is_refused(app, client, admin, make_deployment, make_user):
    user = make_user(make_deployment("ACME"))
    other = app.test_client()
    foreign = anonymous_csrf(other)
    response = client.delete(f"/deployments/ACME/users/{user.id}", headers={"HX-Request": "true",
                                                                            "X-CSRFToken": foreign})
    assert response.status_code == 400


def signed_in_for(client, auth, make_operator) -> None:
    make_operator("admin@msp.example", role="admin")
    auth.sign_in(make_operator("tech@msp.example").email)


def shift_clock(monkeypatch, seconds: float) -> None:
    """Move the clock the session cookie's signature is checked against."""
    now = time.time() + seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now))


def test_a_session_expires_after_its_lifetime(app, client, auth, make_operator, monkeypatch):
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert timedelta(minutes=5) <= lifetime <= timedelta(hours=24)
    signed_in_for(client, auth, make_operator)
    shift_clock(monkeypatch, lifetime.total_seconds() - 120)
    assert client.get("/deployments/").status_code == 200
    shift_clock(monkeypatch, lifetime.total_seconds() + 120)  # the previous answer refreshed the cookie at -120
    assert client.get("/deployments/").status_code == 200
    shift_clock(monkeypatch, 2 * lifetime.total_seconds() + 240)
    response = client.get("/deployments/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_a_tiny_session_lifetime_signs_out_in_real_time(app, client, auth, make_operator):
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    signed_in_for(client, auth, make_operator)
    assert client.get("/deployments/").status_code == 200
    time.sleep(2.1)
    assert client.get("/deployments/").status_code == 302


def test_sign_in_sets_no_long_lived_remember_cookie(client, auth, make_operator):
    make_operator("tech@msp.example")
    cookies = auth.sign_in("tech@msp.example").headers.getlist("Set-Cookie")
    assert cookies and not any(c.startswith("remember_token") for c in cookies)
    assert client.get_cookie("remember_token") is None


def test_a_session_cookie_copied_before_sign_out_no_longer_works(app, client, auth, make_operator):
    signed_in_for(client, auth, make_operator)
    stolen = client.get_cookie("session").value
    auth.post("/sign-out", page="/deployments/")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/deployments/").status_code == 302


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_api_token_stops_working_on_every_api_route_at_once(app, client, make_operator, make_deployment):
    make_deployment("ACME")
    operator = make_operator("tech@msp.example")
    kept, revoked = operators.issue_api_token(operator, "kept"), operators.issue_api_token(operator, "revoked")
    assert client.get("/api/v1/deployments", headers=bearer(revoked)).status_code == 200
    operators.revoke_api_token(db.session.scalar(db.select(ApiToken.id).where(ApiToken.name == "revoked")), operator)
    for endpoint, method, url in api_routes(app):
        response = client.open(url, method=method, headers=bearer(revoked), json={})
        assert response.status_code == 401 and "revoked" in response.json["error"], (endpoint, method, url)
    assert client.get("/api/v1/deployments", headers=bearer(kept)).status_code == 200


def test_an_operator_revokes_a_token_through_the_page_but_not_anothers(client, auth, technician, make_operator):
    other = operators.issue_api_token(make_operator("other@msp.example"), "other")
    mine = operators.issue_api_token(technician, "mine")
    ids = dict(db.session.execute(db.select(ApiToken.name, ApiToken.id)).all())
    assert auth.post(f"/account/tokens/{ids['other']}/revoke", page="/account/tokens").status_code == 404
    assert auth.post(f"/account/tokens/{ids['mine']}/revoke", page="/account/tokens").status_code == 302
    assert client.get("/api/v1/deployments", headers=bearer(mine)).status_code == 401
    assert client.get("/api/v1/deployments", headers=bearer(other)).status_code == 200
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).actor == \
        technician.email


def test_a_disabled_operators_api_token_stops_working(client, make_operator):
    operator = make_operator("tech@msp.example")
    token = operators.issue_api_token(operator, "t")
    operator.active = False
    db.session.commit()
    assert client.get("/api/v1/deployments", headers=bearer(token)).status_code == 401


def test_the_api_is_rate_limited_per_token_with_429_json(app, client, make_operator):
    app.config["ENLIST_API_LIMIT"] = "3 per minute"
    operator = make_operator("tech@msp.example")
    first, second = operators.issue_api_token(operator, "a"), operators.issue_api_token(operator, "b")
    codes = [client.get("/api/v1/deployments", headers=bearer(first)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/deployments", headers=bearer(first))
    assert limited.is_json and "Too many" in limited.json["error"] and int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/deployments", headers=bearer(second)).status_code == 200


def test_sign_in_is_rate_limited_per_address_whatever_the_account(app, client, auth, make_operator):
    app.config["ENLIST_LOGIN_LIMIT"] = "3 per minute"
    make_operator("tech@msp.example")
    codes = [auth.sign_in(f"user{i}@msp.example", "wrong-password-xx").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    other_address = client.post("/sign-in", environ_base={"REMOTE_ADDR": "10.9.9.9"},
                                data={"email": "tech@msp.example", "password": TEST_PASSWORD,
                                      "csrf_token": auth.token()})
    assert other_address.status_code == 302


def test_guessing_api_tokens_from_one_address_is_rate_limited(app, client, make_operator):
    app.config["ENLIST_API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    codes = [client.get("/api/v1/deployments", headers=bearer(f"enl_guess{i:040d}")).status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    limited = client.get("/api/v1/deployments", headers=bearer("enl_guess"))
    assert limited.is_json and "Too many" in limited.json["error"]
    # a real token from another address is not held up by the guesser
    token = operators.issue_api_token(make_operator("tech@msp.example"), "t")
    other = client.get("/api/v1/deployments", headers=bearer(token), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200
    # successful calls do not use up the failure budget
    assert all(client.get("/api/v1/deployments", headers=bearer(token), environ_base={"REMOTE_ADDR": "10.7.7.7"})
               .status_code == 200 for _ in range(5))


def test_discovery_tokens_are_rate_limited_when_discovery_exists(app, client):
    if "api.discovery" not in app.view_functions:
        pytest.skip("no discovery endpoint yet (issue 5)")
    app.config["ENLIST_API_LIMIT"] = "3 per minute"
    codes = [client.post("/api/v1/discovery", headers=bearer("bogus-discovery-token"), json={}).status_code
             for _ in range(6)]
    assert 429 in codes
