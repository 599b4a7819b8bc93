"""Helpers for the Send to cloud tests and the bench: configure a deployment, make users, run workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import ldap3
import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.models._base import utcnow
from app.services import deployments, provisioning

ROOT = Path(__file__).resolve().parents[2]


def configure_directory(deployment, dc, ou: str, *, groups=(), verify: bool = True, **options):
    """Point the deployment at the DC, new users in OU=Users under ou; verified like Test connection."""
    settings = dict(ldaps_url=dc.url, bind_user=dc.admin_upn, bind_password=dc.admin_password,
                    ca_cert=dc.ca_pem, tls_server_name=dc.tls_name, base_ou=dc.base_dn,
                    users_ou=f"OU=Users,{ou}", upn_suffix=dc.upn_suffix, default_groups="\n".join(groups),
                    must_change_password=False)
    settings.update(options)
    deployments.update_deployment(deployment, "tests", **settings)
    if verify:
        checks = provisioning.verify_connection(deployment, "tests")
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    return deployment


def on_cloud(deployment, **settings):
    """A directory that is not reached, marked verified (what a passing Test connection does)."""
    deployments.update_deployment(deployment, "tests", ldaps_url="ldaps://dc1.acme.invalid:636",
                                  bind_user="svc@acme.example", bind_password="bind-Secret-1",
                                  base_ou="DC=acme,DC=example", **settings)
    deployment.directory_verified_at = utcnow()
    deployment.directory_verified_digest = deployment.directory_digest()
    db.session.commit()
    return deployment


def make_users(deployment, count: int, prefix: str = "u") -> list[int]:
    """count valid draft users inserted at once (the validator is tested elsewhere); their ids."""
    rows = []
    for i in range(count):
        username = f"{prefix}{i:04d}"
        rows.append({"deployment_id": deployment.id, "first_name": "Test", "last_name": f"User {prefix} {i}",
                     "email": f"{username}@client.example", "username": username, "phone": "5551234",
                     "extension": "", "department": "Sales", "location": "HQ", "job_title": "Agent",
                     "username_key": username, "email_key": f"{username}@client.example",
                     "origin": "manual", "status": "draft", "step": "", "last_error": "", "ad_dn": "",
                     "object_guid": "", "created_by": "tests", "created_at": utcnow(), "updated_at": utcnow()})
    db.session.execute(sa.insert(User), rows)
    db.session.commit()
    return list(db.session.scalars(sa.select(User.id).where(User.deployment_id == deployment.id,
                                                            User.username.like(f"{prefix}%"))))


def run_jobs(app, queues=("provisioning",), with_scheduler: bool = False) -> None:
    """Work the queues in this process until they are empty: the real worker class, burst mode."""
    from app.jobs.runner import make_worker

    worker = make_worker(app, list(queues), fork=False)
    worker.work(burst=True, with_scheduler=with_scheduler)
    db.session.expire_all()


def open_tasks() -> int:
    """Tasks without an outcome yet."""
    return db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.outcome.in_(Outcome.OPEN)))


def in_cloud_count() -> int:
    """Users created so far."""
    return db.session.scalar(sa.select(sa.func.count()).where(User.status == UserStatus.IN_CLOUD))


def latest_outcomes() -> dict[int, str]:
    """Each user's latest task outcome (a user sent again after a failure has several tasks)."""
    latest = sa.select(sa.func.max(ProvisionTask.id)).where(ProvisionTask.user_id.is_not(None)) \
        .group_by(ProvisionTask.user_id)
    return dict(db.session.execute(sa.select(ProvisionTask.user_id, ProvisionTask.outcome)
                                   .where(ProvisionTask.id.in_(latest))).all())


def assert_every_user_accounted_for(admin_conn, ou: str) -> dict[str, int]:
    """Each user in_cloud exactly once (one account, its GUID stored) or failed with a reason; the
    users per status, which add up to every user."""
    db.session.rollback()
    users = db.session.scalars(sa.select(User)).all()
    accounts = accounts_in(admin_conn, ou)
    by_username = {}
    for account in accounts:
        by_username.setdefault(account["username"], []).append(account)
    assert all(len(found) == 1 for found in by_username.values()), "duplicate accounts"
    outcomes = latest_outcomes()
    for user in users:
        assert user.status in (UserStatus.IN_CLOUD, UserStatus.FAILED), (user.username, user.status)
        if user.status == UserStatus.FAILED:
            assert user.last_error and outcomes[user.id] == Outcome.FAILED, user.username
        else:
            [account] = by_username[user.username]
            assert account["guid"] == user.object_guid and account["uac"] == 512
            assert outcomes[user.id] == Outcome.OK, user.username
    assert len(accounts) == sum(u.status == UserStatus.IN_CLOUD for u in users)
    assert len(outcomes) == len(users) and set(outcomes.values()) <= set(Outcome.FINAL)
    statuses = {}
    for user in users:
        statuses[user.status] = statuses.get(user.status, 0) + 1
    assert sum(statuses.values()) == len(users)
    return statuses


def wait_until(predicate, timeout: float, step: float = 0.2, what: str = "condition"):
    """Poll predicate (with a fresh database view) until it is truthy; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def worker_env(app) -> dict:
    """The environment that points a worker process at the test app's database, Redis and keys."""
    return {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"], "ENLIST_DATA_KEYS": app.config["ENLIST_DATA_KEYS"],
            "ENLIST_SECRET_KEY": app.config["SECRET_KEY"], "PYTHONPATH": str(ROOT)}


def start_worker(app, *args: str, log: Path | None = None) -> subprocess.Popen:
    """A real worker process (python -m app.jobs.runner) in its own process group."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "app.jobs.runner", "--queue", "provisioning", *args],
                            env=worker_env(app), cwd=str(ROOT),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15) -> None:
    """Signal the worker's process group and reap it (SIGKILL when it does not stop in time)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def accounts_in(conn: ldap3.Connection, ou: str) -> list[dict]:
    """Every user account under ou: username, objectGUID, userAccountControl, DN and groups."""
    entries = conn.extend.standard.paged_search(
        ou, "(&(objectCategory=person)(objectClass=user))",
        attributes=["sAMAccountName", "objectGUID", "userAccountControl", "memberOf", "adminDescription"],
        paged_size=500, generator=False)
    accounts = []
    for entry in entries:
        if entry.get("type") != "searchResEntry":
            continue
        raw = entry["raw_attributes"]
        text = {k.lower(): [v.decode(errors="replace") for v in values] for k, values in raw.items()
                if k.lower() != "objectguid"}
        accounts.append({"username": text["samaccountname"][0], "dn": entry["dn"],
                         "guid": str(uuid.UUID(bytes_le=raw["objectGUID"][0])),
                         "uac": int(text["useraccountcontrol"][0]), "groups": text.get("memberof", []),
                         "marker": (text.get("admindescription") or [""])[0]})
    return accounts
