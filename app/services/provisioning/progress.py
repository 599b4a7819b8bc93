"""Where a send stands: counts per outcome that always add up, each user's step, the summary."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Action, CloudSend, Deployment, Outcome, ProvisionTask
from app.services.errors import NotFound

# The columns of the progress panel, in order: waiting, running, then the three final outcomes.
COLUMNS = ("waiting", "running", Outcome.OK, Outcome.FAILED, Outcome.CONFLICT)
_COLUMN_OF = {Outcome.QUEUED: "waiting", Outcome.RETRYING: "waiting", Outcome.RUNNING: "running",
              Outcome.OK: Outcome.OK, Outcome.FAILED: Outcome.FAILED, Outcome.CONFLICT: Outcome.CONFLICT}


def column_labels(action: str) -> dict[str, str]:
    """What each column is called for this kind of send."""
    return {"waiting": "queued", "running": "in progress",
            Outcome.OK: "in cloud" if action in (Action.CREATE, Action.LINK) else "done",
            Outcome.FAILED: "failed", Outcome.CONFLICT: "conflict"}


@dataclass
class SendProgress:
    """Counts per column (they add up to total), how far along, and a page of tasks."""

    send: CloudSend
    counts: dict[str, int]
    total: int
    tasks: list[ProvisionTask]

    @property
    def done(self) -> int:
        """Tasks with a final outcome."""
        return sum(self.counts[c] for c in (Outcome.OK, Outcome.FAILED, Outcome.CONFLICT))

    @property
    def finished(self) -> bool:
        """Every task has its outcome."""
        return self.done == self.total

    @property
    def percent(self) -> int:
        """Share of tasks with an outcome, rounded down (100 only when finished)."""
        return 100 if self.finished else (self.done * 100) // max(self.total, 1)

    @property
    def labels(self) -> dict[str, str]:
        """Column labels for this send."""
        return column_labels(self.send.action)

    @property
    def columns(self) -> tuple[str, ...]:
        """The panel's columns, in order."""
        return COLUMNS


def get_send(deployment: Deployment | None, send_id: int) -> CloudSend:
    """A send (of this deployment, when one is given); NotFound otherwise."""
    send = db.session.get(CloudSend, send_id)
    if send is None or (deployment is not None and send.deployment_id != deployment.id):
        raise NotFound(f"There is no send {send_id}.")
    return send


def counts_for(send: CloudSend) -> dict[str, int]:
    """How many tasks of the send are in each column."""
    rows = db.session.execute(sa.select(ProvisionTask.outcome, sa.func.count())
                              .where(ProvisionTask.send_id == send.id).group_by(ProvisionTask.outcome))
    counts = dict.fromkeys(COLUMNS, 0)
    for outcome, n in rows:
        counts[_COLUMN_OF.get(outcome, "waiting")] += n
    return counts


def progress(send: CloudSend, *, limit: int = 500) -> SendProgress:
    """The send's counts and its first tasks: problems and unfinished ones first, by name."""
    counts = counts_for(send)
    order = sa.case({Outcome.CONFLICT: 0, Outcome.FAILED: 1, Outcome.RUNNING: 2, Outcome.RETRYING: 3,
                     Outcome.QUEUED: 4}, value=ProvisionTask.outcome, else_=5)
    tasks = list(db.session.scalars(sa.select(ProvisionTask).where(ProvisionTask.send_id == send.id)
                                    .order_by(order, ProvisionTask.full_name, ProvisionTask.id).limit(limit)))
    return SendProgress(send, counts, sum(counts.values()), tasks)


def summary(progress_: SendProgress) -> str:
    """One sentence whose numbers add up to the users sent."""
    labels, counts = progress_.labels, progress_.counts
    parts = [f"{counts[c]} {labels[c]}" for c in COLUMNS if counts[c]]
    noun = "user" if progress_.total == 1 else "users"
    return f"{progress_.total} {noun}: " + ", ".join(parts) + "."


@dataclass
class Activity:
    """Work still open in a deployment, for the Users page banner: counts and the newest send's progress."""

    open_tasks: int
    open_sends: list[int]
    latest: SendProgress | None = None


def activity(deployment: Deployment) -> Activity:
    """Open tasks of the deployment and the sends they belong to (newest first)."""
    rows = db.session.execute(
        sa.select(ProvisionTask.send_id, sa.func.count()).join(CloudSend, CloudSend.id == ProvisionTask.send_id)
        .where(CloudSend.deployment_id == deployment.id, ProvisionTask.outcome.in_(Outcome.OPEN))
        .group_by(ProvisionTask.send_id).order_by(ProvisionTask.send_id.desc())).all()
    latest = None
    if rows:
        send = db.session.get(CloudSend, rows[0][0])
        counts = counts_for(send)
        latest = SendProgress(send, counts, sum(counts.values()), [])
    return Activity(sum(n for _, n in rows), [send_id for send_id, _ in rows], latest)


def recent_sends(deployment: Deployment, limit: int = 10) -> list[CloudSend]:
    """The deployment's latest sends, newest first."""
    return list(db.session.scalars(sa.select(CloudSend).where(CloudSend.deployment_id == deployment.id)
                                   .order_by(CloudSend.created_at.desc(), CloudSend.id.desc()).limit(limit)))
