"""First smoke: send a few users through the service and an in-process worker."""

import pytest

from app.extensions import db
from app.models import User, UserStatus
from app.services import provisioning
from tests.jobs.support import accounts_in, make_users

pytestmark = pytest.mark.samba


def test_smoke(cloud_deployment, work, admin_conn, test_ou):
    ids = make_users(cloud_deployment, 5)
    result = provisioning.send_to_cloud(cloud_deployment, "tests")
    assert result.send.total == 5
    work()
    users = db.session.scalars(db.select(User)).all()
    assert [u.status for u in users] == [UserStatus.IN_CLOUD] * 5, [(u.status, u.last_error) for u in users]
    assert len(accounts_in(admin_conn, test_ou)) == 5
