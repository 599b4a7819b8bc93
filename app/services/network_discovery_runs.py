"""Network discovery from the portal: the source domain's settings, queueing a run, the job's body.

The job gets the run id only; the worker decrypts the bind password. Progress and counts are kept on
the run row (every web process sees them) and in job.meta. A run whose job is gone is marked lost.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.extensions import db
from app.models import Deployment, DiscoveryRun, NetworkSource, RunState
from app.models._base import utcnow
from app.models.network_source import DEFAULT_SERVICE_PATTERNS
from app.services import audit, secrets
from app.services.directory import DirectoryError
from app.services.directory.settings import domain_of
from app.services.errors import DomainError, NotFound
from app.services.network_discovery import deployment_source, read_domain
from app.services.queue import connection, get_queue

JOB = "app.jobs.discovery.run_network_discovery"
JOB_TIMEOUT = 3600  # a domain of 100,000 accounts takes minutes, not an hour
LOST = ("The run was lost (a worker or Redis restarted before it finished). Run it again: it starts "
        "from where the last finished run stopped.")
SETTINGS = ("ldaps_url", "bind_user", "ca_cert", "verify_tls", "tls_server_name", "search_base",
            "skip_disabled", "skip_builtin", "skip_service", "service_patterns")
Report = Callable[[dict], None]


def source_for(deployment: Deployment) -> NetworkSource:
    """The deployment's source domain settings, new and unsaved when there are none yet."""
    return deployment_source(deployment) or NetworkSource(
        deployment_id=deployment.id, ldaps_url="", bind_user="", ca_cert="", verify_tls=True, tls_server_name="",
        search_base="", skip_disabled=True, skip_builtin=True, skip_service=True,
        service_patterns=DEFAULT_SERVICE_PATTERNS)


def save_source(deployment: Deployment, actor, *, bind_password: str | None = None, **values) -> NetworkSource:
    """Check and save the source domain's settings; a new password is encrypted, a blank one kept."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise DomainError(f"Unknown setting {', '.join(sorted(unknown))}.")
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items() if v is not None}
    source = source_for(deployment)
    merged = {name: values.get(name, getattr(source, name)) for name in SETTINGS}
    _check(merged, has_password=bool(bind_password or source.bind_secret))
    merged["service_patterns"] = "\n".join(p.strip() for p in (merged["service_patterns"] or "").splitlines()
                                           if p.strip())
    for name, value in merged.items():
        setattr(source, name, value)
    if bind_password:
        source.bind_secret = secrets.box().encrypt(bind_password)
    db.session.add(source)
    changed = sorted(values) + (["bind_password"] if bind_password else [])
    audit.record(actor, "network_source.update", deployment=deployment, obj=source,
                 summary="network discovery settings: " + ", ".join(changed), detail={"fields": changed})
    db.session.commit()
    return source


def _check(values: dict, *, has_password: bool) -> None:
    """The settings make a usable, encrypted, read-only connection; DomainError says what is wrong."""
    if not (values["ldaps_url"] or "").lower().startswith("ldaps://"):
        raise DomainError("The domain controller's address must start with ldaps:// (the password is only "
                          "sent encrypted).")
    if not values["bind_user"]:
        raise DomainError("Enter the read-only account (user@domain or its DN).")
    if not has_password:
        raise DomainError("Enter the read-only account's password.")
    try:
        domain_of(values["search_base"] or "")
    except DirectoryError as error:
        raise DomainError(f"Search base: {error.message}") from None
    if values["ca_cert"] and "BEGIN CERTIFICATE" not in values["ca_cert"]:
        raise DomainError("The CA certificate must be PEM text (-----BEGIN CERTIFICATE----- ...).")
    patterns = [p for p in (values["service_patterns"] or "").splitlines() if p.strip()]
    if len(patterns) > 50 or any(len(p.strip()) > 64 for p in patterns):
        raise DomainError("Service account patterns: at most 50, each at most 64 characters.")


def job_id_for(run_id: int) -> str:
    """The RQ job id of a run: derived from its id, so the job can be found again."""
    return f"discovery-run-{run_id}"


def get_run(deployment: Deployment, run_id: int) -> DiscoveryRun:
    """A run of this deployment; NotFound otherwise."""
    run = db.session.get(DiscoveryRun, run_id)
    if run is None or run.deployment_id != deployment.id:
        raise NotFound("This discovery run does not exist.")
    return run


def recent_runs(deployment: Deployment, limit: int = 10) -> list[DiscoveryRun]:
    """The deployment's latest runs, newest first, lost ones marked as such."""
    runs = list(db.session.scalars(sa.select(DiscoveryRun).where(DiscoveryRun.deployment_id == deployment.id)
                                   .order_by(DiscoveryRun.id.desc()).limit(limit)))
    return [refresh(run) for run in runs]


def start_run(deployment: Deployment, actor, *, full: bool = False) -> DiscoveryRun:
    """Queue a run (or return the one already under way)."""
    source = deployment_source(deployment)
    if source is None or not source.configured:
        raise DomainError("Save the source domain's settings first.")
    running = next((r for r in recent_runs(deployment, 1) if r.running), None)
    if running is not None:
        return running
    run = DiscoveryRun(deployment_id=deployment.id, full_requested=full, created_by=audit.actor_label(actor),
                       skipped_by_rule={}, rejected_details=[])
    db.session.add(run)
    db.session.flush()
    run.job_id = job_id_for(run.id)
    audit.record(actor, "network_discovery.run", deployment=deployment, obj=run,
                 summary=f"network discovery of {source.search_base}" + (" (full)" if full else ""))
    db.session.commit()
    try:
        get_queue("discovery").enqueue(JOB, run.id, job_id=run.job_id, job_timeout=JOB_TIMEOUT,
                                       result_ttl=3600, failure_ttl=7 * 86400)
    except redis.RedisError:
        _finish(run, RunState.FAILED, "The background queue (Redis) cannot be reached, so the run did not "
                                      "start. Try again in a moment.", "queue")
        raise DomainError(run.message) from None
    return run


def execute_run(run_id: int, report: Report | None = None) -> dict:
    """The job's work. Safe to run twice: a run with an outcome is left as it is; failures are
    recorded in plain words, then raised so the queue records them too."""
    run = db.session.get(DiscoveryRun, run_id)
    if run is None:
        raise NotFound(f"Discovery run {run_id} does not exist (its deployment may have been deleted).")
    if not run.running:
        return outcome(run)
    source = db.session.scalar(sa.select(NetworkSource).where(NetworkSource.deployment_id == run.deployment_id))
    run.state, run.started_at = RunState.RUNNING, utcnow()
    db.session.commit()
    try:
        if source is None or not source.configured:
            raise DirectoryError("The source domain's settings are incomplete.", code="not_configured")
        read_domain(run, source, lambda r: report(outcome(r)) if report else None)
    except DirectoryError as error:
        db.session.rollback()
        _finish(run, RunState.FAILED, error.message, error.code)
        raise
    except Exception:
        db.session.rollback()
        _finish(run, RunState.FAILED, "The run stopped on an unexpected error (see the worker's log). Try "
                                      "again; if it happens again, tell your administrator.", "unexpected")
        raise
    _finish(run, RunState.FINISHED, summary(run))
    return outcome(run)


def summary(run: DiscoveryRun) -> str:
    """What a finished run did, in one sentence."""
    listed = run.created + run.updated + run.unchanged
    return (f"{run.mode.capitalize()} run: {run.read:,} accounts read, {listed:,} in the catalog "
            f"({run.created:,} new, {run.updated:,} updated, {run.unchanged:,} unchanged), {run.skipped:,} skipped, "
            f"{run.rejected:,} rejected, {run.missing:,} no longer found.")


def _finish(run: DiscoveryRun, state: str, message: str, kind: str = "") -> None:
    """Record a run's final state and its outcome in plain words."""
    run.state, run.message, run.error_kind, run.finished_at = state, message, kind, utcnow()
    db.session.commit()


def outcome(run: DiscoveryRun) -> dict:
    """The run's state and counts (words and numbers only), for job.meta and the job's result."""
    return {"run_id": run.id, "state": run.state, "mode": run.mode, "read": run.read, "created": run.created,
            "updated": run.updated, "unchanged": run.unchanged, "skipped": run.skipped, "rejected": run.rejected,
            "missing": run.missing, "message": run.message}


def refresh(run: DiscoveryRun) -> DiscoveryRun:
    """A running run whose job is gone (Redis flushed, worker killed) is marked failed, with why."""
    if run.running and not _job_alive(run):
        db.session.refresh(run)  # the job may have finished between the read and the check
        if run.running:
            _finish(run, RunState.FAILED, LOST, "lost")
    return run


def _job_alive(run: DiscoveryRun) -> bool:
    """Whether the run's job is still queued, running or finishing (True when Redis cannot say)."""
    try:
        job = Job.fetch(run.job_id, connection=connection(), serializer=JSONSerializer)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return False
    except redis.RedisError:
        return True
    return status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
