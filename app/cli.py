"""The `enlist` console command: serve, worker, and the administration commands."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from app import create_app
from app.services.errors import DomainError


def _read_secret(prompt: str) -> str:
    """A secret from stdin when piped, else from a hidden prompt (never from the command line)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _fail(exc: DomainError):
    """Print the domain's message and exit non-zero."""
    raise click.ClickException(exc.message)


@click.command("create-operator")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the operator the admin role.")
@click.option("--name", default="", help="The operator's name.")
@with_appcontext
def create_operator_command(email: str, admin: bool, name: str):
    """Create an operator; the password is read from a prompt or stdin."""
    from app.services import operators

    try:
        operator = operators.create_operator(email, _read_secret("Password"), name=name,
                                             role="admin" if admin else "technician", actor="console")
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created {operator.role} {operator.email}.")


@click.command("issue-token")
@click.argument("email")
@click.option("--name", default="console", help="What the token is for.")
@with_appcontext
def issue_token_command(email: str, name: str):
    """Print a new personal API token for Authorization: Bearer (shown once)."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Operator
    from app.services import operators

    operator = db.session.scalar(sa.select(Operator).where(Operator.email == email.strip().lower()))
    if operator is None:
        raise click.ClickException(f"No operator with the email {email}.")
    click.echo(operators.issue_api_token(operator, name))


@click.command("create-deployment")
@click.argument("code")
@click.argument("name")
@with_appcontext
def create_deployment_command(code: str, name: str):
    """Create a deployment (a client) with a short code and a name."""
    from app.services import deployments

    try:
        deployment = deployments.create_deployment(code, name, "console")
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created deployment {deployment.code} ({deployment.name}).")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst: bool):
    """Run a background worker for every queue."""
    from app.jobs.runner import run

    run(burst=burst)


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("ENLIST_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("ENLIST_PORT", "5000")), type=int, show_default="5000")
@click.option("--web-workers", default=2, type=int, show_default=True)
@click.option("--workers", "job_workers", default=1, type=int, show_default=True, help="Background workers.")
def serve_command(host: str, port: int, web_workers: int, job_workers: int):
    """Migrate the database, then run the web server and the background workers together."""
    from app.services.serve import serve

    serve(host=host, port=port, web_workers=web_workers, job_workers=job_workers)


def init_app(app) -> None:
    """Register the commands on the app (flask --app wsgi ... works too)."""
    for command in (create_operator_command, issue_token_command, create_deployment_command,
                    worker_command, serve_command):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `enlist` script."""
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                     help="Enlist: bring a client's users into Active Directory.")
    cli.main(prog_name="enlist")
