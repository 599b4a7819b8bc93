"""Managing users after creation, each change a job: edit, reset password, groups, disable, delete."""

from __future__ import annotations

import ldap3
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Outcome, ProvisionTask, User, UserStatus
from app.services import provisioning, secrets
from tests.jobs.support import accounts_in, configure_directory

pytestmark = pytest.mark.samba


@pytest.fixture
def created(app, cloud_deployment, make_user, work):
    """A user already created in AD by a send."""
    user = make_user(cloud_deployment, first_name="Ann", last_name="Lee", department="Sales")
    provisioning.send_to_cloud(cloud_deployment, "tests")
    work()
    user = db.session.get(User, user.id)
    assert user.status == UserStatus.IN_CLOUD
    return user


def account(admin_conn, test_ou, user) -> dict:
    """The user's account as AD has it now (None when gone)."""
    return next((a for a in accounts_in(admin_conn, test_ou) if a["guid"] == user.object_guid), None)


def attribute(admin_conn, dn: str, name: str) -> list[str]:
    """Values of one attribute."""
    admin_conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[name])
    return [v.decode() for v in admin_conn.response[0]["raw_attributes"].get(name, [])]


def latest_task() -> ProvisionTask:
    """The newest task."""
    return db.session.scalar(sa.select(ProvisionTask).order_by(ProvisionTask.id.desc()).limit(1))


def test_an_edit_is_pushed_to_the_account(created, admin_conn, samba_dc, work):
    provisioning.update_in_cloud(created, {"department": "Finance", "phone": "5559876", "username": "ann.lee2"},
                                 "tests")
    assert db.session.get(User, created.id).step == "updating"
    work()
    user = db.session.get(User, created.id)
    assert (user.step, user.last_error, user.status) == ("", "", UserStatus.IN_CLOUD)
    assert attribute(admin_conn, user.ad_dn, "department") == ["Finance"]
    assert attribute(admin_conn, user.ad_dn, "telephoneNumber") == ["5559876"]
    assert attribute(admin_conn, user.ad_dn, "sAMAccountName") == ["ann.lee2"]
    assert attribute(admin_conn, user.ad_dn, "userPrincipalName") == [f"ann.lee2@{samba_dc.upn_suffix}"]


def test_reset_password_sets_a_new_one_shown_once(created, samba_dc, work):
    send = provisioning.reset_password(created, "tests")
    work()
    task = latest_task()
    assert task.outcome == Outcome.OK and task.password_set
    password = secrets.box().decrypt(task.password_secret)
    conn = ldap3.Connection(ldap3.Server(samba_dc.url, use_ssl=True, tls=samba_dc.tls(), get_info=ldap3.NONE),
                            f"ann.lee@{samba_dc.upn_suffix}", password)
    assert conn.bind()
    rows = provisioning.passwords.take(db.session.get(type(send), send.id), "tests", channel="show")
    assert [r.password for r in rows] == [password]


def test_groups_are_added_and_removed(created, admin_conn, test_ou, make_group, work):
    first, second = make_group(), make_group()
    provisioning.change_groups(created, "tests", add=[f"{first}\n{second}"])
    work()
    groups = account(admin_conn, test_ou, created)["groups"]
    assert sorted(g.split(",")[0][3:] for g in groups) == sorted([first, second])
    provisioning.change_groups(db.session.get(User, created.id), "tests", remove=[first])
    work()
    assert [g.split(",")[0][3:] for g in account(admin_conn, test_ou, created)["groups"]] == [second]


def test_disable_then_send_again_enables(created, admin_conn, test_ou, work):
    provisioning.remove_from_cloud(created, "tests", mode="disable")
    work()
    user = db.session.get(User, created.id)
    assert user.status == UserStatus.DISABLED and account(admin_conn, test_ou, user)["uac"] & 2
    provisioning.send_to_cloud(user.deployment, "tests", user_ids=[user.id])
    work()
    user = db.session.get(User, created.id)
    assert user.status == UserStatus.IN_CLOUD and account(admin_conn, test_ou, user)["uac"] == 512
    assert len(accounts_in(admin_conn, test_ou)) == 1


def test_delete_removes_the_account_and_the_user_can_be_sent_again(created, admin_conn, test_ou, work):
    guid = created.object_guid
    provisioning.remove_from_cloud(created, "tests", mode="delete")
    work()
    user = db.session.get(User, created.id)
    assert (user.status, user.object_guid, user.ad_dn) == (UserStatus.DRAFT, "", "")
    assert accounts_in(admin_conn, test_ou) == []
    provisioning.send_to_cloud(user.deployment, "tests")
    work()
    [again] = accounts_in(admin_conn, test_ou)
    assert again["guid"] != guid and db.session.get(User, created.id).object_guid == again["guid"]


def test_an_account_deleted_behind_enlists_back_is_reported(created, admin_conn, work):
    admin_conn.delete(created.ad_dn)
    provisioning.remove_from_cloud(created, "tests", mode="disable")
    work()
    user = db.session.get(User, created.id)
    assert user.status == UserStatus.FAILED and user.last_error == "The account no longer exists in the directory."
    assert latest_task().error_code == "account_missing"


def test_changes_wait_for_a_verified_connection(created, samba_dc, test_ou):
    deployment = created.deployment
    configure_directory(deployment, samba_dc, test_ou, verify=False, default_groups="Staff")
    with pytest.raises(provisioning.sends.Conflict) as refused:
        provisioning.reset_password(created, "tests")
    assert "Test connection" in refused.value.message
