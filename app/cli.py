"""The `enlist` console command: serve, worker, and the administration commands."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from app import create_app
from app.services.errors import DomainError
from app.services.queue import QUEUE_NAMES


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


@click.command("discovery-token")
@click.argument("code")
@click.option("--name", default="console", help="What the token is for (shown in the portal).")
@with_appcontext
def discovery_token_command(code: str, name: str):
    """Print a new discovery token of a deployment, for scripted agent roll-outs (shown once)."""
    from app.services import deployments, discovery

    try:
        _, token = discovery.issue_token(deployments.get_by_code(code), name, "console")
    except DomainError as exc:
        _fail(exc)
    click.echo(token)


@click.command("set-directory")
@click.argument("code")
@click.option("--url", required=True, help="ldaps://dc1.client.local:636")
@click.option("--fallback-url", "fallback_urls", multiple=True, help="Another DC's ldaps:// URL (repeat).")
@click.option("--bind-user", required=True, help="The service account (DN or user@domain).")
@click.option("--base-ou", required=True, help="The domain's base DN, e.g. DC=client,DC=local.")
@click.option("--users-ou", default=None, help="Where new users go (default OU=Users,OU=<code>,<base DN>).")
@click.option("--upn-suffix", required=True, help="Users sign in as username@SUFFIX.")
@click.option("--ca-file", type=click.File("r"), default=None,
              help="PEM file of the CA that signed the DC's certificate.")
@click.option("--tls-name", default=None, help="The name on the DC's certificate, when the URL uses an address.")
@click.option("--no-verify-tls", is_flag=True, help="Do not verify the DC's certificate (labs only).")
@click.option("--group", "groups", multiple=True, help="A default group, name or DN (repeat).")
@click.option("--test/--no-test", default=True, show_default=True,
              help="Run Test connection afterwards (a passing test puts the deployment on cloud).")
@with_appcontext
def set_directory_command(code, url, fallback_urls, bind_user, base_ou, users_ou, upn_suffix, ca_file, tls_name,
                          no_verify_tls, groups, test):
    """Set a deployment's directory connection; the bind password is read from stdin (or a prompt)."""
    from app.services import deployments, provisioning

    settings = dict(ldaps_url=url, fallback_urls="\n".join(fallback_urls), bind_user=bind_user,
                    base_ou=base_ou, upn_suffix=upn_suffix, verify_tls=not no_verify_tls,
                    bind_password=_read_secret("Bind password") or None)
    optional = dict(users_ou=users_ou, tls_server_name=tls_name, ca_cert=ca_file.read() if ca_file else None,
                    default_groups="\n".join(groups) if groups else None)
    settings.update({k: v for k, v in optional.items() if v is not None})
    try:
        deployment = deployments.update_deployment(deployments.get_by_code(code), "console", **settings)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Saved the directory settings of {deployment.code}.")
    if not test:
        click.echo("Not tested: run Test connection before sending users to the cloud.")
        return
    checks = provisioning.verify_connection(deployment, "console")
    for check in checks:
        click.echo(f"  {'ok ' if check.ok else 'FAIL'} {check.name}: {check.message}")
    if not all(c.ok for c in checks):
        raise click.ClickException("The connection test failed: the deployment is not on cloud.")
    click.echo(f"{deployment.code} is on cloud.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUE_NAMES),
              help="A queue to serve (repeat; default: every queue).")
@click.option("--fork/--no-fork", default=None,
              help="Fork a process per job (default: yes, except for a provisioning-only worker).")
def worker_command(burst: bool, queues: tuple[str, ...], fork: bool | None):
    """Run a background worker."""
    from app.jobs.runner import run

    run(burst=burst, queues=list(queues) or None, fork=fork)


@click.command("reconcile")
@with_appcontext
def reconcile_command():
    """Enqueue again the users stuck in queued or provisioning whose job is gone."""
    from app.services import provisioning

    report = provisioning.reconcile(grace_seconds=0)
    click.echo(f"Enqueued again: {report.requeued}; failed after too many interruptions: {report.failed}; "
               f"welcome emails enqueued again: {report.emails}; expired password sets erased: {report.purged}.")


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("ENLIST_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("ENLIST_PORT", "5000")), type=int, show_default="5000")
@click.option("--web-workers", default=2, type=int, show_default=True)
@click.option("--workers", "job_workers", default=1, type=int, show_default=True, help="Background workers.")
@click.option("--provisioning-workers", default=3, type=int, show_default=True,
              help="Workers that create accounts in AD (each keeps its own LDAPS connection).")
def serve_command(host: str, port: int, web_workers: int, job_workers: int, provisioning_workers: int):
    """Migrate the database, then run the web server and the background workers together."""
    from app.services.serve import serve

    serve(host=host, port=port, web_workers=web_workers, job_workers=job_workers,
          provisioning_workers=provisioning_workers)


@click.command("rotate-key")
@with_appcontext
def rotate_key_command():
    """Re-encrypt every stored secret under the newest data key (listed first in ENLIST_DATA_KEYS)."""
    from app.services import key_rotation
    from app.services.secrets import SecretError

    try:
        report = key_rotation.rotate_all()
    except SecretError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, count in report.columns.items():
        click.echo(f"  {name}: {count}")
    click.echo(f"Re-encrypted {report.total} stored secrets under the newest key.")
    if report.key_count < 2:
        click.echo("Only one data key is configured: to rotate, list a new key first in ENLIST_DATA_KEYS (or "
                   "instance/data.key), keep the old one after it, and run this again.")
    else:
        click.echo("Remove the old keys once every web and worker process runs with the new list.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str):
    """Copy the database to PATH while the portal runs (SQLite backup API; pg_dump for PostgreSQL)."""
    from flask import current_app

    from app.services import backup

    try:
        result = backup.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Backed up the database to {result.path} ({result.size:,} bytes, {result.tool}).")
    click.echo("The data key is not in the backup: keep ENLIST_DATA_KEYS (or instance/data.key) safe, apart.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: str, yes: bool):
    """Replace the database with the backup at PATH, then migrate it forward. Stop web and workers first."""
    from alembic.script import ScriptDirectory
    from flask import current_app
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import backup

    if not yes:
        click.confirm("This replaces every deployment, user and import with the backup's. Continue?", abort=True)
    known = {rev.revision for rev in ScriptDirectory(current_app.extensions["migrate"].directory).walk_revisions()}
    db.engine.dispose()  # no pooled connection may hold the old file open
    try:
        kept = backup.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path, known)
    except DomainError as exc:
        _fail(exc)
    upgrade(revision="heads")
    if kept:
        click.echo(f"The data that was there is kept in {kept}.")
    click.echo(f"Restored the database from {path}. Start the portal again.")


def init_app(app) -> None:
    """Register the commands on the app (flask --app wsgi ... works too)."""
    for command in (create_operator_command, issue_token_command, create_deployment_command,
                    set_directory_command, discovery_token_command, worker_command, reconcile_command,
                    serve_command, rotate_key_command, backup_command, restore_command):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `enlist` script."""
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                     help="Enlist: bring a client's users into Active Directory.")
    cli.main(prog_name="enlist")
