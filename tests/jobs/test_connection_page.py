"""Test connection through the deployment pages and the console, against the real DC."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Deployment
from tests.jobs.support import configure_directory

pytestmark = pytest.mark.samba
SHOW = "/deployments/ACME"


def test_test_connection_marks_the_deployment_on_cloud(client, auth, technician, make_deployment, samba_dc,
                                                        test_ou, make_group):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     groups=[make_group()], verify=False)
    assert "Not on cloud" in client.get(SHOW).get_data(as_text=True)
    response = auth.htmx("POST", f"{SHOW}/cloud/test-connection", page=SHOW)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count('class="ok"') >= 5 and "Verified." in html
    assert 'id="cloud-status" hx-swap-oob="true"' in html and "On cloud." in html
    db.session.expire_all()
    assert db.session.get(Deployment, deployment.id).on_cloud
    assert "Send to cloud is disabled" not in client.get(f"{SHOW}/users/").get_data(as_text=True)


def test_failed_checks_are_plain_and_clear_the_verification(client, auth, technician, make_deployment, samba_dc,
                                                            test_ou):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     default_groups="No Such Group", verify=False)
    deployment.directory_verified_digest = deployment.directory_digest()  # verified before the group went
    deployment.directory_verified_at = db.func.now()
    db.session.commit()
    html = auth.htmx("POST", f"{SHOW}/cloud/test-connection", page=SHOW).get_data(as_text=True)
    assert "The group No Such Group was not found in the domain" in html and "Not verified" in html
    assert "Not on cloud." in html
    db.session.expire_all()
    assert not db.session.get(Deployment, deployment.id).on_cloud


def test_set_directory_with_test_puts_the_deployment_on_cloud(app, make_deployment, samba_dc, test_ou, tmp_path):
    make_deployment("ACME")
    ca = tmp_path / "ca.pem"
    ca.write_text(samba_dc.ca_pem)
    result = app.test_cli_runner().invoke(args=[
        "set-directory", "ACME", "--url", samba_dc.url, "--bind-user", samba_dc.admin_upn, "--base-ou",
        samba_dc.base_dn, "--users-ou", f"OU=Users,{test_ou}", "--upn-suffix", samba_dc.upn_suffix,
        "--ca-file", str(ca), "--tls-name", samba_dc.tls_name], input=samba_dc.admin_password + "\n")
    assert result.exit_code == 0, result.output
    assert "ok  Sign in" in result.output and "ACME is on cloud." in result.output
    wrong = app.test_cli_runner().invoke(args=[
        "set-directory", "ACME", "--url", samba_dc.url, "--bind-user", samba_dc.admin_upn, "--base-ou",
        samba_dc.base_dn, "--upn-suffix", samba_dc.upn_suffix, "--ca-file", str(ca), "--tls-name", samba_dc.tls_name],
        input="wrong-password\n")
    assert wrong.exit_code != 0 and "wrong user name or password" in wrong.output and "not on cloud" in wrong.output
