"""CSRF, security headers, cookie flags, and inert rendering of hostile names."""

from tests.conftest import TEST_PASSWORD


def test_a_form_post_without_csrf_token_is_refused(client, make_operator):
    make_operator("tech@msp.example")
    response = client.post("/sign-in", data={"email": "tech@msp.example", "password": TEST_PASSWORD})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_an_htmx_request_without_the_csrf_header_is_refused(client, technician, make_deployment, make_user):
    user = make_user(make_deployment("ACME"))
    response = client.delete(f"/deployments/ACME/users/{user.id}", headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_pages_carry_the_security_headers(client, make_operator):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, make_operator):
    make_operator("tech@msp.example")
    response = auth.sign_in("tech@msp.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_behind_tls(app):
    from tests.conftest import make_app

    secure = make_app(SESSION_COOKIE_SECURE=True)
    assert secure.config["SESSION_COOKIE_SECURE"] is True


def test_htmx_is_served_locally_with_scripts_and_eval_disabled(client, make_operator):
    page = client.get("/sign-in").get_data(as_text=True)
    assert '"allowScriptTags":false' in page and '"allowEval":false' in page and '"historyCacheSize":0' in page
    assert 'src="/static/vendor/htmx-' in page and "https://" not in page.split("<body")[0]


def test_hostile_names_are_escaped_in_pages(client, technician, make_deployment):
    from app.extensions import db
    from app.models import User

    deployment = make_deployment("ACME")
    # Stored directly: the validator would refuse it, but older or imported data must still render inert.
    db.session.add(User(deployment_id=deployment.id, first_name="<img src=x onerror=alert(1)>",
                        last_name='<a hx-get="/x" hx-trigger="load">', email="x@acme.example",
                        username="x", username_key="x", email_key="x@acme.example", phone="1"))
    db.session.commit()
    page = client.get("/deployments/ACME/users/").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '<a hx-get="/x"' not in page


def test_health_reports_database_and_redis(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json["checks"] == {"database": "ok", "redis": "ok"}
