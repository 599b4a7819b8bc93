"""The few writes a job makes, prepared once and run on the session's connection.

A user's account takes about 40 ms of the DC's time and a job writes to the database about ten
times (claim, each step, outcome). Built per call through the ORM, those writes cost a worker
more CPU than the directory calls themselves on a 2-core machine shared with the DC; as Core
statements built once they cost a fraction of it. The ORM is still used to read a task.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import CloudSend, Deployment, Outcome, ProvisionTask, User, UserStatus
from app.models._base import utcnow

TASKS, USERS, SENDS = ProvisionTask.__table__, User.__table__, CloudSend.__table__
_task = TASKS.c.id == sa.bindparam("b_task")
_user = USERS.c.id == sa.bindparam("b_user")

CLAIM = (TASKS.update().where(_task, TASKS.c.outcome.in_(Outcome.WAITING))
         .values(outcome=Outcome.RUNNING, attempts=TASKS.c.attempts + 1, worker=sa.bindparam("b_worker"),
                 started_at=sa.bindparam("b_now")))
START_USER = (USERS.update().where(USERS.c.id == sa.select(TASKS.c.user_id).where(_task).scalar_subquery(),
                                   USERS.c.status == UserStatus.QUEUED)
              .values(status=UserStatus.PROVISIONING))
STEP = TASKS.update().where(_task).values(step=sa.bindparam("b_step"))
PASSWORD_STEP = TASKS.update().where(_task).values(step=sa.bindparam("b_step"), password_set=True)
USER_STEP = USERS.update().where(_user).values(step=sa.bindparam("b_step"), object_guid=sa.bindparam("b_guid"))
# Nobody will ever need a password that was not set; set ones wait to be delivered.
FINISH = TASKS.update().where(_task).values(
    outcome=sa.bindparam("b_outcome"), finished_at=sa.bindparam("b_now"), message=sa.bindparam("b_message"),
    error_code=sa.bindparam("b_code"), raw_error=sa.bindparam("b_raw"),
    duration_ms=sa.func.coalesce(sa.bindparam("b_duration", type_=sa.Integer), TASKS.c.duration_ms),
    timings=sa.func.coalesce(sa.bindparam("b_timings", type_=sa.JSON(none_as_null=True)), TASKS.c.timings),
    password_secret=sa.case((TASKS.c.password_set, TASKS.c.password_secret), else_=sa.null()))
USER_CREATED = USERS.update().where(_user).values(
    status=UserStatus.IN_CLOUD, ad_dn=sa.bindparam("b_dn"), object_guid=sa.bindparam("b_guid"), step="", last_error="")
_open = sa.select(TASKS.c.id).where(TASKS.c.send_id == sa.bindparam("b_send"),
                                    TASKS.c.outcome.in_(Outcome.OPEN)).exists()
FINISH_SEND = (SENDS.update().where(SENDS.c.id == sa.bindparam("b_send"), SENDS.c.finished_at.is_(None), ~_open)
               .values(finished_at=sa.bindparam("b_now")))


class Writer:
    """Where a job's writes go: one connection held for the whole job, or the request's session.

    Each write group is committed at once. A job holds one connection instead of letting the
    session hand its connection back (and ping a new one) after each of its ten commits.
    """

    def __init__(self, conn=None):
        self.conn = conn

    def run(self, statement, **params) -> int:
        """Execute a prepared statement; the rows it changed."""
        return (self.conn or db.session.connection()).execute(statement, params).rowcount

    def scalar(self, statement, **params):
        """The first column of the first row."""
        return (self.conn or db.session.connection()).execute(statement, params).scalar()

    def commit(self) -> None:
        """Make the writes so far durable and visible."""
        (self.conn or db.session).commit()

    def rollback(self) -> None:
        """Drop the writes not committed yet."""
        (self.conn or db.session).rollback()


SESSION = Writer()


def claim(writer: Writer, task_id: int, worker: str) -> bool:
    """Take a waiting task for this run (and mark its user provisioning); False if not waiting."""
    claimed = writer.run(CLAIM, b_task=task_id, b_worker=worker[:120], b_now=utcnow())
    if claimed:
        writer.run(START_USER, b_task=task_id)
    writer.commit()
    return bool(claimed)


def load(task_id: int):
    """The task with its user (None once deleted), deployment and send, in one query."""
    return db.session.execute(
        sa.select(ProvisionTask, User, Deployment, CloudSend)
        .join(CloudSend, CloudSend.id == ProvisionTask.send_id)
        .join(Deployment, Deployment.id == CloudSend.deployment_id)
        .outerjoin(User, User.id == ProvisionTask.user_id)
        .where(ProvisionTask.id == task_id)).one()


def step(writer: Writer, task_id: int, user_id: int | None, name: str, guid: str, *, creating: bool) -> None:
    """Commit the step reached (and the account's GUID) before the next one starts."""
    writer.run(PASSWORD_STEP if name == "password" else STEP, b_task=task_id, b_step=name)
    if creating and user_id is not None:
        writer.run(USER_STEP, b_user=user_id, b_step=name, b_guid=guid)
    writer.commit()
