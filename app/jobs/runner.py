"""The background worker process: JSON serializer, an app context per job, the reconciler.

Two kinds of worker, chosen by the queues they serve:

- provisioning: ProvisioningWorker, RQ's SimpleWorker without the fork. It keeps one bound
  LDAPS connection per deployment between jobs (app.services.provisioning.pool). Measured with
  bench/bench_send.py (300 users, 3 workers, Samba DC on the same 2 cores): forking workers
  reached 0.36 of a bare ldap3 loop, this one 0.86. A work horse opens a new LDAPS connection
  per job, and the TLS handshake and bind cost the DC 89 ms of CPU per user instead of 51; the
  fork adds about 80 ms between jobs. Timeouts are still enforced: SimpleWorker runs the job in
  the main thread under RQ's SIGALRM death penalty, as the forking worker's horse does. The
  trade: a job that crashes the interpreter takes the worker with it; `enlist serve` starts a
  new one and the reconciler re-enqueues the task it was running. Three such workers keep the
  DC busy while each does its own bookkeeping (two reached 0.80-0.84, four no better than three).
- anything else (imports, discovery, default): RQ's forking Worker, one process per job.

Both reconcile on start and every ENLIST_RECONCILE_SECONDS (60): tasks the database says are
waiting or running but no live job or worker will finish are enqueued again.
"""

from __future__ import annotations

import argparse
import logging
import os

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from app.services.queue import QUEUE_NAMES

log = logging.getLogger("enlist.worker")
PROVISIONING = "provisioning"


class EnlistWorkerMixin:
    """Reconcile as part of RQ's maintenance (on start, then every maintenance interval)."""

    app = None

    def run_maintenance_tasks(self):
        """RQ's registry cleanup, then the reconciler (its failure is logged, the worker goes on)."""
        super().run_maintenance_tasks()
        from app.services.provisioning import reconcile

        with self.app.app_context():
            try:
                reconcile()
            except Exception:  # a database or Redis hiccup must not stop the worker; next pass retries
                log.exception("reconciler pass failed")


class ProvisioningWorker(EnlistWorkerMixin, SimpleWorker):
    """Runs jobs in this process (no fork) so directory connections live from one job to the next."""

    def perform_job(self, job, queue):
        """Each job gets its own app context: a fresh database session, removed afterwards."""
        with self.app.app_context():
            return super().perform_job(job, queue)

    def teardown(self):
        """Close the directory connections when the worker stops."""
        from app.services.provisioning.pool import POOL

        POOL.close_all()
        super().teardown()


class ForkingWorker(EnlistWorkerMixin, Worker):
    """RQ's forking worker: one work horse process per job."""


def _reset_db_after_fork() -> None:
    """A forked work horse must not share the parent's database connections."""
    from app.extensions import db

    db.engine.dispose(close=False)


def make_worker(app, queues: list[str] | None = None, *, fork: bool | None = None):
    """A worker for the queues: non-forking when it serves only provisioning (unless told otherwise)."""
    from app.services.provisioning.reconcile import worker_name
    from app.services.provisioning.settings import setting
    from app.services.queue import connection

    queues = list(queues or QUEUE_NAMES)
    fork = queues != [PROVISIONING] if fork is None else fork
    with app.app_context():
        interval = setting("ENLIST_RECONCILE_SECONDS", 60)
    cls = ForkingWorker if fork else ProvisioningWorker
    with app.app_context():
        worker = cls(queues, connection=connection(), serializer=JSONSerializer, name=worker_name(),
                     maintenance_interval=interval, worker_ttl=max(interval + 15, 35))
    worker.app = app
    return worker


def run(burst: bool = False, app=None, queues: list[str] | None = None, fork: bool | None = None) -> bool:
    """Work the queues until stopped (or until empty with burst)."""
    from app import create_app

    app = app or create_app()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = make_worker(app, queues, fork=fork)
    with app.app_context():
        if isinstance(worker, ForkingWorker):
            os.register_at_fork(after_in_child=_reset_db_after_fork)
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


def main(argv: list[str] | None = None) -> None:
    """python -m app.jobs.runner [--queue NAME ...] [--burst] [--fork | --no-fork] [--nice N]"""
    parser = argparse.ArgumentParser(description="An Enlist background worker.")
    parser.add_argument("--queue", action="append", choices=QUEUE_NAMES, help="a queue to serve (repeat)")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--fork", action=argparse.BooleanOptionalAction, default=None,
                        help="fork a process per job (default: not for provisioning alone)")
    parser.add_argument("--nice", type=int, default=0,
                        help="lower this worker's CPU priority (enlist serve uses 10: the web pages stay quick)")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    run(burst=args.burst, queues=args.queue, fork=args.fork)


if __name__ == "__main__":
    main()
