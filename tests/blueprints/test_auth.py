"""First-run setup, sign-in, sign-out, roles and sessions."""

from tests.conftest import TEST_PASSWORD


def test_first_visit_leads_to_setup_which_creates_a_signed_in_admin(client, auth):
    response = client.get("/deployments/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup")
    response = auth.post("/setup", {"name": "Ada", "email": "Ada@MSP.example", "password": "a-long-password",
                                    "confirm": "a-long-password"})
    assert response.status_code == 302
    assert "New deployment" in client.get("/deployments/new").get_data(as_text=True)
    assert client.get("/setup").status_code == 302  # setup is gone once an operator exists


def test_setup_refuses_a_short_password_with_a_message(client, auth):
    response = auth.post("/setup", {"email": "ada@msp.example", "password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_wrong_password_is_refused_and_audited(client, auth, make_operator):
    make_operator("tech@msp.example")
    response = auth.sign_in("tech@msp.example", "wrong-password-here")
    assert response.status_code == 422 and "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/deployments/").status_code == 302


def test_sign_in_then_sign_out(client, auth, make_operator):
    make_operator("tech@msp.example")
    assert auth.sign_in("tech@msp.example").status_code == 302
    assert client.get("/deployments/").status_code == 200
    auth.post("/sign-out", page="/deployments/")
    assert client.get("/deployments/").status_code == 302


def test_sign_in_does_not_redirect_to_another_site(client, auth, make_operator):
    make_operator("tech@msp.example")
    response = client.post("/sign-in?next=//evil.example/x", data={
        "email": "tech@msp.example", "password": TEST_PASSWORD, "csrf_token": auth.token()})
    assert response.headers["Location"] == "/deployments/"


def test_sign_in_is_rate_limited(app, client, auth, make_operator):
    app.config["ENLIST_LOGIN_LIMIT"] = "3 per minute"
    make_operator("tech@msp.example")
    codes = [auth.sign_in("tech@msp.example", "wrong-password-xx").status_code for _ in range(4)]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429
    assert "Too many attempts" in auth.sign_in("tech@msp.example").get_data(as_text=True)


def test_technician_cannot_reach_admin_pages(client, technician):
    assert client.get("/operators").status_code == 403
    assert client.get("/audit").status_code == 403


def test_admin_adds_a_technician_who_can_sign_in(client, auth, admin):
    response = auth.post("/operators", {"email": "new@msp.example", "password": "another-long-pass",
                                        "role": "technician", "name": "New"})
    assert response.status_code == 302
    auth.post("/sign-out", page="/deployments/")
    assert auth.sign_in("new@msp.example", "another-long-pass").status_code == 302


def test_disabling_an_operator_ends_their_session(app, client, auth, make_operator):
    from app.extensions import db

    operator = make_operator("tech@msp.example")
    make_operator("admin@msp.example", role="admin")
    auth.sign_in("tech@msp.example")
    operator.active = False
    operator.session_version += 1
    db.session.commit()
    assert client.get("/deployments/").status_code == 302
