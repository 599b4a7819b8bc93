"""Fetch a linked company's people in a background job; the raw records wait in the database.

Several web processes may serve the progress poll and the field-matching screen, so nothing waits in
process memory, and nothing secret goes to Redis: the job gets the fetch id, the worker decrypts the key.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.extensions import db
from app.models import Deployment, FetchState, IntegrationFetch
from app.models._base import utcnow
from app.services import audit
from app.services.errors import DomainError, NotFound
from app.services.integration_imports.accounts import LABELS, check_provider, client_for, remember_codebase
from app.services.integration_imports.links import NOT_LINKED, link_for
from app.services.integrations import CONNECTWISE, FetchResult, IntegrationError, SkippedRecord
from app.services.queue import connection, get_queue

JOB = "app.jobs.integrations.fetch_people"
JOB_TIMEOUT = 900  # 429 waits of up to a minute each can make a large fetch slow
LOST = "The fetch job was lost (a worker or Redis restarted before it finished). Start the fetch again."
Report = Callable[[dict], None]


def job_id_for(fetch_id: int) -> str:
    """The RQ job id of a fetch: derived from its id, so the job can be found again."""
    return f"integration-fetch-{fetch_id}"


def get_fetch(deployment: Deployment, fetch_id: int) -> IntegrationFetch:
    """A fetch of this deployment; NotFound otherwise."""
    fetch = db.session.get(IntegrationFetch, fetch_id)
    if fetch is None or fetch.deployment_id != deployment.id:
        raise NotFound("This fetch does not exist (the deployment may have been unlinked).")
    return fetch


def recent_fetches(deployment: Deployment, provider: str, limit: int = 5) -> list[IntegrationFetch]:
    """The deployment's latest fetches from a provider, newest first."""
    return list(db.session.scalars(sa.select(IntegrationFetch).where(
        IntegrationFetch.deployment_id == deployment.id, IntegrationFetch.provider == provider)
        .order_by(IntegrationFetch.id.desc()).limit(limit)))


def start_fetch(deployment: Deployment, provider: str, actor) -> IntegrationFetch:
    """Queue a fetch of the linked company's people (or return the one already running)."""
    link = link_for(deployment, check_provider(provider))
    if link is None:
        raise DomainError(NOT_LINKED[provider])
    running = next((f for f in recent_fetches(deployment, provider, 1) if f.running), None)
    if running is not None and refresh(running).running:
        return running  # a second click while the job works
    fetch = IntegrationFetch(deployment_id=deployment.id, account_id=link.account_id, provider=provider,
                             remote_id=link.remote_id, remote_name=link.remote_name,
                             created_by=audit.actor_label(actor), records=[], skipped=[])
    db.session.add(fetch)
    db.session.flush()
    fetch.job_id = job_id_for(fetch.id)
    _forget_older(deployment, provider, fetch.id)
    audit.record(actor, "integration.fetch", deployment=deployment, obj=fetch,
                 summary=f"fetch from {LABELS[provider]} {link.remote_name} (id {link.remote_id})")
    db.session.commit()
    try:
        get_queue("imports").enqueue(JOB, fetch.id, job_id=fetch.job_id, job_timeout=JOB_TIMEOUT,
                                     result_ttl=3600, failure_ttl=7 * 86400)
    except redis.RedisError:
        _finish(fetch, FetchState.FAILED, "The background queue (Redis) cannot be reached, so the fetch did "
                                          "not start. Try again in a moment.", "queue")
        raise DomainError(fetch.message) from None
    return fetch


def _forget_older(deployment: Deployment, provider: str, newest_id: int) -> None:
    """Raw people of earlier unstaged fetches are dropped: a newer fetch replaces them."""
    db.session.execute(sa.update(IntegrationFetch).where(
        IntegrationFetch.deployment_id == deployment.id, IntegrationFetch.provider == provider,
        IntegrationFetch.id != newest_id, IntegrationFetch.state.not_in(FetchState.OPEN))
        .values(records=[], skipped=[]))


def wait_text(seconds: float, reason: str) -> str:
    """"Waiting 3 s: ConnectWise rate limit"."""
    shown = f"{seconds:.0f}" if seconds >= 1 else f"{seconds:.1f}"
    return f"Waiting {shown} s: {reason}"


def run_fetch(fetch_id: int, report: Report | None = None) -> dict:
    """The job's work: fetch every person, keep them on the fetch row, record the outcome.

    Safe to run twice: a fetch that already has its outcome is left as it is. Failures are
    recorded in plain words, then raised so the queue records them too.
    """
    fetch = db.session.get(IntegrationFetch, fetch_id)
    if fetch is None:
        raise NotFound(f"Fetch {fetch_id} does not exist (its deployment may have been deleted).")
    if not fetch.running:
        return outcome(fetch)
    fetch.state, fetch.started_at = FetchState.RUNNING, utcnow()
    db.session.commit()

    def progress(**changes) -> None:
        for name, value in changes.items():
            setattr(fetch, name, value)
        db.session.commit()
        if report is not None:
            report(outcome(fetch))

    try:
        with client_for(fetch.account, on_wait=lambda s, why: progress(waiting=wait_text(s, why)[:255])) as client:
            fetch_people = client.fetch_contacts if fetch.provider == CONNECTWISE else client.fetch_org_users
            result = fetch_people(int(fetch.remote_id),
                                  on_progress=lambda seen, total: progress(fetched=seen, total=total, waiting=""))
            remember_codebase(fetch.account, client)
    except IntegrationError as exc:
        _finish(fetch, FetchState.FAILED, exc.message, exc.kind, report)
        raise
    except Exception:
        db.session.rollback()
        _finish(fetch, FetchState.FAILED, "The fetch stopped on an unexpected error (see the worker's log). "
                                          "Try again; if it happens again, tell your administrator.", "unexpected",
                report)
        raise
    fetch.records = result.records
    fetch.skipped = [[s.source_key, s.name, s.reason] for s in result.skipped]
    fetch.pages, fetch.fetched, fetch.remote_name = result.pages, result.total_seen, result.account_name[:255]
    _finish(fetch, FetchState.FETCHED, result.summary(), report=report)
    return outcome(fetch)


def _finish(fetch: IntegrationFetch, state: str, message: str, kind: str = "", report: Report | None = None) -> None:
    """Record a fetch's final state and its outcome in plain words (in the job's report too)."""
    fetch.state, fetch.message, fetch.error_kind = state, message, kind
    fetch.waiting, fetch.finished_at = "", utcnow()
    db.session.commit()
    if report is not None:
        report(outcome(fetch))


def outcome(fetch: IntegrationFetch) -> dict:
    """The fetch's state as the job reports it (counts and words only)."""
    return {"fetch_id": fetch.id, "state": fetch.state, "fetched": fetch.fetched, "total": fetch.total,
            "waiting": fetch.waiting, "message": fetch.message, "error_kind": fetch.error_kind}


def fetch_result(fetch: IntegrationFetch) -> FetchResult:
    """The stored fetch as the integrations package's FetchResult."""
    return FetchResult(fetch.provider, int(fetch.remote_id), fetch.remote_name, records=list(fetch.records or []),
                       skipped=[SkippedRecord(*s) for s in fetch.skipped or []], pages=fetch.pages)


def refresh(fetch: IntegrationFetch) -> IntegrationFetch:
    """A running fetch whose job is gone (Redis flushed, worker killed) is marked failed, with why."""
    if fetch.running and not _job_alive(fetch):
        db.session.refresh(fetch)  # the job may have finished between the read and the check
        if fetch.running:
            _finish(fetch, FetchState.FAILED, LOST, "lost")
    return fetch


def _job_alive(fetch: IntegrationFetch) -> bool:
    """Whether the fetch's job is still queued, running or finishing (True when Redis cannot say)."""
    try:
        job = Job.fetch(fetch.job_id, connection=connection(), serializer=JSONSerializer)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return False
    except redis.RedisError:
        return True
    return status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
