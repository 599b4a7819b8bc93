"""The enlist console commands."""

from app.extensions import db
from app.models import ApiToken, Deployment, Operator


def test_create_operator_reads_the_password_from_stdin(app):
    result = app.test_cli_runner().invoke(args=["create-operator", "Ops@MSP.example", "--admin"],
                                          input="a-very-long-password\n")
    assert result.exit_code == 0 and "Created admin ops@msp.example" in result.output
    operator = db.session.scalar(db.select(Operator))
    assert operator.is_admin and operator.check_password("a-very-long-password")
    assert "a-very-long-password" not in result.output


def test_create_operator_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(args=["create-operator", "ops@msp.example"], input="short\n")
    assert result.exit_code != 0 and "at least 12 characters" in result.output


def test_issue_token_prints_a_token_that_the_api_accepts(app, client, make_operator):
    make_operator("tech@msp.example")
    result = app.test_cli_runner().invoke(args=["issue-token", "tech@msp.example"])
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("enl_")
    assert db.session.scalar(db.select(ApiToken)).token_digest != token
    assert client.get("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_issue_token_for_an_unknown_operator_fails_clearly(app):
    result = app.test_cli_runner().invoke(args=["issue-token", "nobody@msp.example"])
    assert result.exit_code != 0 and "No operator" in result.output


def test_create_deployment(app):
    result = app.test_cli_runner().invoke(args=["create-deployment", "acme", "Acme Dental"])
    assert result.exit_code == 0 and "ACME" in result.output
    assert db.session.scalar(db.select(Deployment)).name == "Acme Dental"
    again = app.test_cli_runner().invoke(args=["create-deployment", "ACME", "Other"])
    assert again.exit_code != 0 and "already used" in again.output
