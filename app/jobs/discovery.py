"""RQ entry point of network discovery: a run id in, the accounts and the outcome in the database.

Progress (accounts read, counts) goes to job.meta after every page as well; the pages read the run
row, which every web process sees. Failures are recorded on the run, then raised.
"""

from __future__ import annotations

from rq import get_current_job

from app.services import network_discovery_runs


def run_network_discovery(run_id: int) -> dict:
    """Read the deployment's source domain into its Catalog (full or incremental)."""
    job = get_current_job()

    def report(progress: dict) -> None:
        if job is not None:
            job.meta["progress"] = progress
            job.save_meta()

    return network_discovery_runs.execute_run(run_id, report=report)
