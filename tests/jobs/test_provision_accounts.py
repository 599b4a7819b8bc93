"""Send to cloud against a real Samba AD DC: the accounts, their options, and plain messages."""

from __future__ import annotations

from datetime import date

import ldap3
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.services import provisioning, secrets
from app.services.directory.attributes import filetime_end_of
from tests.jobs.support import accounts_in, configure_directory, make_users

pytestmark = pytest.mark.samba


def bind_result(dc, upn: str, password: str) -> dict:
    """The result of a simple bind as upn over verified LDAPS."""
    conn = ldap3.Connection(ldap3.Server(dc.url, use_ssl=True, tls=dc.tls(), get_info=ldap3.NONE), upn, password)
    conn.bind()
    return conn.result


def read(conn, dn: str) -> dict:
    """Every attribute of one entry as {lower-case name: [text]}."""
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["*", "memberOf"])
    raw = conn.response[0]["raw_attributes"]
    return {k.lower(): [v.decode(errors="replace") for v in vals] for k, vals in raw.items() if k != "objectGUID"}


def initial_password(user: User) -> str:
    """The stored (encrypted) initial password of the user's latest task."""
    task = db.session.scalar(sa.select(ProvisionTask).where(ProvisionTask.user_id == user.id)
                             .order_by(ProvisionTask.id.desc()).limit(1))
    return secrets.box().decrypt(task.password_secret)


def test_accounts_have_every_attribute_the_ou_and_the_groups(app, make_deployment, make_user, samba_dc,
                                                            test_ou, admin_conn, make_group, work):
    groups = [make_group(), make_group()]
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     groups=groups)
    user = make_user(deployment, first_name="Zoë", last_name="O Leary-Núñez", email="zoe@client.example",
                     username="zoe.oleary", phone="5551234", extension="12", department="Finance",
                     location="Dublin", job_title="Accountant")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert (user.status, user.last_error, user.step) == (UserStatus.IN_CLOUD, "", "")
    assert user.ad_dn == f"CN=Zoë O Leary-Núñez,OU=Users,{test_ou}"  # the OU was created
    entry = read(admin_conn, user.ad_dn)
    expected = {"givenname": "Zoë", "sn": "O Leary-Núñez", "mail": "zoe@client.example",
                "samaccountname": "zoe.oleary", "telephonenumber": "5551234", "ipphone": "12",
                "department": "Finance", "physicaldeliveryofficename": "Dublin", "title": "Accountant",
                "userprincipalname": f"zoe.oleary@{samba_dc.upn_suffix}", "useraccountcontrol": "512"}
    assert {k: entry[k][0] for k in expected} == expected
    assert sorted(g.split(",")[0][3:] for g in entry["memberof"]) == sorted(groups)
    [account] = accounts_in(admin_conn, test_ou)
    assert account["guid"] == user.object_guid and account["marker"].startswith("enlist:ACME/")
    assert bind_result(samba_dc, f"zoe.oleary@{samba_dc.upn_suffix}", initial_password(user))["result"] == 0
    task = db.session.scalar(sa.select(ProvisionTask))
    assert (task.outcome, task.step, task.attempts) == (Outcome.OK, "groups", 1)
    assert {"add", "password", "enable", "groups", "claim", "directory"} <= set(task.timings)


def test_must_change_password_never_expires_and_expiry_are_honoured(app, make_deployment, make_user, samba_dc,
                                                                   test_ou, admin_conn, work):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     must_change_password=True)
    ann = make_user(deployment, first_name="Ann", last_name="Lee")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    result = bind_result(samba_dc, f"ann.lee@{samba_dc.upn_suffix}", initial_password(ann))
    assert result["result"] == 49 and "data 773" in result["message"]  # must change password first
    configure_directory(deployment, samba_dc, test_ou, must_change_password=False, password_never_expires=True,
                        account_expires="2031-06-30")
    bo = make_user(deployment, first_name="Bo", last_name="Ray")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    entry = read(admin_conn, db.session.get(User, bo.id).ad_dn)
    assert int(entry["useraccountcontrol"][0]) == 0x200 | 0x10000
    assert int(entry["accountexpires"][0]) == filetime_end_of(date(2031, 6, 30))


def test_an_account_enlist_did_not_create_is_a_conflict_then_linked(app, cloud_deployment, make_user, admin_conn,
                                                                    test_ou, work):
    admin_conn.add(f"CN=Someone Else,{test_ou}", ["top", "person", "organizationalPerson", "user"],
                   {"sAMAccountName": "ann.lee"})
    user = make_user(cloud_deployment, first_name="Ann", last_name="Lee")
    provisioning.send_to_cloud(cloud_deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.CONFLICT
    assert user.last_error == (f"The username ann.lee is already used by another account (CN=Someone Else,{test_ou}) "
                               "that Enlist did not create.")
    task = db.session.scalar(sa.select(ProvisionTask))
    assert task.outcome == Outcome.CONFLICT and task.error_code == "username_in_use"
    assert "CN=Someone Else" in task.raw_error
    provisioning.link_existing(user, "tests")
    work()
    user = db.session.get(User, user.id)
    [account] = accounts_in(admin_conn, test_ou)
    assert user.status == UserStatus.IN_CLOUD and user.object_guid == account["guid"]
    assert account["uac"] & 2 == 0  # it was disabled (no password): linking enabled it


def test_duplicate_upn_is_a_conflict_and_rename_then_retry_succeeds(app, cloud_deployment, make_user, admin_conn,
                                                                    test_ou, samba_dc, work):
    admin_conn.add(f"CN=Other,{test_ou}", ["top", "person", "organizationalPerson", "user"],
                   {"sAMAccountName": "other1", "userPrincipalName": f"bo.ray@{samba_dc.upn_suffix}"})
    user = make_user(cloud_deployment, first_name="Bo", last_name="Ray")
    provisioning.send_to_cloud(cloud_deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.CONFLICT and "sign-in name bo.ray@" in user.last_error
    from app.services import users

    users.update_user(user, {"username": "bo.ray2"}, "tests")  # rename...
    provisioning.send_to_cloud(cloud_deployment, "tests", user_ids=[user.id])  # ...and retry
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.IN_CLOUD and user.username == "bo.ray2"
    assert sorted(a["username"] for a in accounts_in(admin_conn, test_ou)) == ["bo.ray2", "other1"]


def test_weak_password_gets_the_plain_message(app, cloud_deployment, make_user, admin_conn, samba_dc, work):
    domain = samba_dc.base_dn
    admin_conn.modify(domain, {"minPwdLength": [(ldap3.MODIFY_REPLACE, [20])]})
    try:
        user = make_user(cloud_deployment, first_name="Ann", last_name="Lee")
        provisioning.send_to_cloud(cloud_deployment, "tests")
        work()
    finally:
        admin_conn.modify(domain, {"minPwdLength": [(ldap3.MODIFY_REPLACE, [7])]})
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.FAILED and user.step == "add"
    assert user.last_error.startswith("The domain's password policy rejected the password")
    task = db.session.scalar(sa.select(ProvisionTask))
    assert task.error_code == "password_policy" and "0000052D" in task.raw_error.upper() and task.attempts == 1


def test_missing_ou_gets_the_plain_message(app, make_deployment, make_user, samba_dc, test_ou, work):
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou)
    deployment.users_ou = f"OU=Users,CN=Nowhere,{test_ou}"
    deployment.directory_verified_digest = deployment.directory_digest()  # as if verified before it vanished
    db.session.commit()
    user = make_user(deployment, first_name="Ann", last_name="Lee")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.FAILED and user.last_error.startswith(
        f"The target OU OU=Users,CN=Nowhere,{test_ou} is missing and Enlist cannot create it")
    assert db.session.scalar(sa.select(ProvisionTask.attempts)) == 1  # permanent: not retried


def test_an_account_without_rights_gets_the_plain_message(app, make_deployment, make_user, samba_dc, test_ou,
                                                          admin_conn, work):
    helper = f"CN=helpdesk,{test_ou}"
    admin_conn.add(helper, ["top", "person", "organizationalPerson", "user"], {"sAMAccountName": "helpdesk1"})
    admin_conn.modify(helper, {"unicodePwd": [(ldap3.MODIFY_REPLACE, ['"Helpdesk-Pa55!"'.encode("utf-16-le")])],
                               "userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})
    deployment = configure_directory(make_deployment("ACME", upn_suffix=samba_dc.upn_suffix), samba_dc, test_ou,
                                     verify=False, bind_user=f"helpdesk1@{samba_dc.upn_suffix}",
                                     bind_password="Helpdesk-Pa55!", users_ou=test_ou)
    checks = provisioning.verify_connection(deployment, "tests")
    assert not deployment.on_cloud and any("may not create users" in c.message for c in checks if not c.ok)
    deployment.directory_verified_digest = deployment.directory_digest()
    deployment.directory_verified_at = db.func.now()
    db.session.commit()
    user = make_user(deployment, first_name="Ann", last_name="Lee")
    provisioning.send_to_cloud(deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.FAILED and "not permitted" in user.last_error


def test_running_a_job_twice_creates_one_account(app, cloud_deployment, admin_conn, test_ou, work):
    from app.jobs.provision import run_task

    make_users(cloud_deployment, 3)
    provisioning.send_to_cloud(cloud_deployment, "tests")
    task_ids = list(db.session.scalars(sa.select(ProvisionTask.id)))
    work()
    assert all(run_task(t) == "skipped" for t in task_ids)  # the same job again: its task is taken
    # The reconciler or RQ may run a task again after Redis lost the outcome: the steps are idempotent.
    db.session.execute(sa.update(ProvisionTask).values(outcome=Outcome.QUEUED))
    db.session.commit()
    assert [run_task(t) for t in task_ids] == [Outcome.OK] * 3
    accounts = accounts_in(admin_conn, test_ou)
    assert sorted(a["username"] for a in accounts) == ["u0000", "u0001", "u0002"]
    users = db.session.scalars(sa.select(User)).all()
    assert {u.object_guid for u in users} == {a["guid"] for a in accounts}
    assert all(u.status == UserStatus.IN_CLOUD for u in users)
