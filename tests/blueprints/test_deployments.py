"""Deployments: create, edit, the dashboard, and what 'on cloud' means."""

from app.extensions import db
from app.models import Deployment, UserStatus
from app.models._base import utcnow


def test_create_a_deployment_and_see_its_dashboard(client, auth, technician):
    response = auth.post("/deployments/new", {"code": "acme", "name": "Acme Dental", "naming_policy": "first.last",
                                              "verify_tls": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/deployments/ACME")
    page = client.get("/deployments/ACME").get_data(as_text=True)
    assert "Acme Dental" in page and "Not on cloud" in page and "not configured yet" in page


def test_code_must_be_3_to_6_letters_or_digits(client, auth, technician):
    response = auth.post("/deployments/new", {"code": "A-1", "name": "Bad", "naming_policy": "first.last"},
                         page="/deployments/new")
    assert response.status_code == 422 and "3 to 6 letters or digits" in response.get_data(as_text=True)


def test_a_taken_code_is_refused(client, auth, technician, make_deployment):
    make_deployment("ACME")
    response = auth.post("/deployments/new", {"code": "acme", "name": "Other", "naming_policy": "first.last"})
    assert response.status_code == 422 and "already used" in response.get_data(as_text=True)


def test_bind_password_is_stored_encrypted_and_never_shown(client, auth, technician, make_deployment):
    make_deployment("ACME")
    response = auth.post("/deployments/ACME/edit", {
        "name": "Acme Dental", "ldaps_url": "ldaps://dc1.acme.local", "bind_user": "svc@acme.local",
        "bind_password": "S3cret-bind-pass!", "base_ou": "DC=acme,DC=local", "upn_suffix": "acme.example",
        "naming_policy": "first.last", "verify_tls": "y"})
    assert response.status_code == 302
    deployment = db.session.scalar(db.select(Deployment))
    assert deployment.bind_secret and "S3cret" not in deployment.bind_secret
    for path in ("/deployments/ACME", "/deployments/ACME/edit"):
        assert "S3cret-bind-pass!" not in client.get(path).get_data(as_text=True)
    # Saving again without a password keeps the saved one.
    auth.post("/deployments/ACME/edit", {"name": "Acme", "ldaps_url": "ldaps://dc1.acme.local", "bind_user": "svc",
                                         "naming_policy": "first.last", "upn_suffix": "acme.example"})
    db.session.refresh(deployment)
    assert deployment.bind_secret


def test_plain_ldap_urls_are_refused(client, auth, technician, make_deployment):
    make_deployment("ACME")
    response = auth.post("/deployments/ACME/edit",
                         {"name": "Acme", "ldaps_url": "ldap://dc1", "naming_policy": "first.last"})
    assert response.status_code == 422 and "ldaps://" in response.get_data(as_text=True)


def test_on_cloud_only_while_the_verified_settings_are_unchanged(app, make_deployment):
    deployment = make_deployment("ACME", ldaps_url="ldaps://dc1", bind_user="svc", bind_password="pw",
                                 base_ou="DC=acme,DC=local")
    assert deployment.directory_configured and not deployment.on_cloud
    deployment.directory_verified_at, deployment.directory_verified_digest = utcnow(), deployment.directory_digest()
    assert deployment.on_cloud
    deployment.ldaps_url = "ldaps://dc2"
    assert not deployment.on_cloud


def test_dashboard_counts_users_per_status(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    failed = make_user(deployment, first_name="Bo", last_name="Ray")
    failed.status = UserStatus.FAILED
    db.session.commit()
    page = client.get("/deployments/").get_data(as_text=True)
    assert "badge-draft" in page and "badge-failed" in page


def test_unknown_deployment_is_a_404_page(client, technician):
    response = client.get("/deployments/NOPE/users/")
    assert response.status_code == 404 and "no deployment with the code" in response.get_data(as_text=True)
