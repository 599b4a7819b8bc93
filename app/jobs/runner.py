"""The background worker process: every queue, JSON serializer, an app context for the jobs."""

from __future__ import annotations

import logging
import os

from rq import Worker
from rq.serializers import JSONSerializer

from app.services.queue import QUEUE_NAMES


def _reset_db_after_fork() -> None:
    """A forked work horse must not share the parent's database connections."""
    from app.extensions import db

    db.engine.dispose(close=False)


def run(burst: bool = False, app=None) -> bool:
    """Work the queues until stopped (or until empty with burst)."""
    from app import create_app
    from app.services.queue import connection

    app = app or create_app()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with app.app_context():
        os.register_at_fork(after_in_child=_reset_db_after_fork)
        worker = Worker(list(QUEUE_NAMES), connection=connection(), serializer=JSONSerializer)
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    run()
