"""Initial passwords: encrypted only, never in Redis or the logs, shown once, downloaded once; welcome emails."""

from __future__ import annotations

import html
import logging
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from app.extensions import db
from app.models import CloudSend, ProvisionTask, User, UserStatus
from app.models._base import utcnow
from app.services import provisioning, secrets
from app.services.provisioning import passwords
from tests.jobs.smtp_sink import SmtpSink
from tests.jobs.support import configure_directory, make_users

pytestmark = pytest.mark.samba


def everything_in_redis(url: str) -> bytes:
    """Every key and value of the Redis database, whatever its type."""
    r = redis.Redis.from_url(url)
    blob = b""
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        blob += key
        if kind == b"string":
            blob += r.get(key) or b""
        elif kind == b"hash":
            blob += b"".join(k + v for k, v in r.hgetall(key).items())
        elif kind == b"list":
            blob += b"".join(r.lrange(key, 0, -1))
        elif kind == b"set":
            blob += b"".join(r.smembers(key))
        elif kind == b"zset":
            blob += b"".join(m for m, _ in r.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            blob += repr(r.xrange(key)).encode()
    return blob


def test_passwords_never_reach_redis_or_the_logs_and_are_delivered_once(app, client, auth, technician,
                                                                        cloud_deployment, work, caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):  # alembic's fileConfig disabled the app's loggers
        if name.startswith(("app", "rq", "ldap3", "enlist")):
            logging.getLogger(name).disabled = False
    make_users(cloud_deployment, 3)
    send = provisioning.send_to_cloud(cloud_deployment, technician).send
    work()
    stored = [secrets.box().decrypt(s) for s in db.session.scalars(sa.select(ProvisionTask.password_secret))]
    assert len(stored) == 3 and all(stored)
    blob = everything_in_redis(app.config["REDIS_URL"])
    logs = caplog.text + "".join(str(r.args) for r in caplog.records)
    for password in stored:
        assert password.encode() not in blob and password not in logs
    page = f"/deployments/ACME/cloud/sends/{send.id}"
    shown = html.unescape(auth.htmx("POST", f"{page}/passwords/show", page=page).get_data(as_text=True))
    assert all(p in shown for p in stored)
    file = auth.post(f"{page}/passwords/download", {"format": "xlsx"}, page=page)
    assert file.status_code == 200 and file.headers["Content-Type"].startswith("application/vnd.openxml")
    assert db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.password_secret.is_not(None))) == 0
    db.session.expire_all()
    assert db.session.get(CloudSend, send.id).passwords_purged_at is not None
    assert any("task 1 (create user" in r.getMessage() for r in caplog.records)  # the job's log was captured
    assert "erased" in client.get(page).get_data(as_text=True)


def test_expired_passwords_are_erased_by_the_reconciler(app, cloud_deployment, work):
    make_users(cloud_deployment, 2)
    send = provisioning.send_to_cloud(cloud_deployment, "tests").send
    work()
    send = db.session.get(CloudSend, send.id)
    assert passwords.pending_count(send) == 2
    send.passwords_expire_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert provisioning.reconcile(grace_seconds=0).purged == 1
    assert db.session.scalar(sa.select(sa.func.count()).where(ProvisionTask.password_secret.is_not(None))) == 0
    db.session.expire_all()
    assert "expired" in passwords.availability(db.session.get(CloudSend, send.id))


@pytest.fixture
def smtp(app):
    """A local SMTP server the portal is configured to use."""
    with SmtpSink() as sink:
        app.config.update(ENLIST_SMTP_HOST="127.0.0.1", ENLIST_SMTP_PORT=sink.port, ENLIST_SMTP_SECURITY="none",
                          ENLIST_SMTP_FROM="it@msp.example")
        yield sink


def test_welcome_email_with_the_initial_password(app, make_deployment, make_user, samba_dc, test_ou, smtp, work):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     welcome_email="password", must_change_password=True)
    user = make_user(deployment, first_name="Ann", last_name="Lee", email="ann@client.example")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    [(sender, recipients, message)] = smtp.messages
    password = secrets.box().decrypt(db.session.scalar(sa.select(ProvisionTask.password_secret)))
    body = message.get_content()
    assert sender == "it@msp.example" and recipients == ["ann@client.example"]
    assert message["Subject"] == "Your Acme Dental account is ready"
    assert f"Sign-in name: ann.lee@{samba_dc.upn_suffix}" in body and f"Initial password: {password}" in body
    assert "choose a new password" in body
    task = db.session.scalar(sa.select(ProvisionTask))
    assert task.email_state == "sent" and db.session.get(User, user.id).status == UserStatus.IN_CLOUD


def test_welcome_email_without_password_and_a_refusing_server(app, make_deployment, make_user, samba_dc, test_ou,
                                                              smtp, work):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     welcome_email="details")
    make_user(deployment, first_name="Ann", last_name="Lee")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    body = smtp.messages[0][2].get_content()
    assert "Initial password" not in body and "Your IT contact will give you your initial password" in body
    smtp.refuse_code = 550
    bo = make_user(deployment, first_name="Bo", last_name="Ray")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    task = db.session.scalar(sa.select(ProvisionTask).where(ProvisionTask.user_id == bo.id))
    assert task.email_state == "failed" and "refused the recipient" in task.email_error
    assert db.session.get(User, bo.id).status == UserStatus.IN_CLOUD  # a mail problem never fails the account
