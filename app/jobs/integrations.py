"""RQ entry point of the ConnectWise and Zendesk imports: a fetch id in, the people and outcome in the database.

The job's progress (people seen, total, the current wait) is also put in job.meta; the pages read the
fetch row, which every web process sees. Failures are recorded on the fetch, then raised: the client
already retried what can be retried, so RQ does not try again.
"""

from __future__ import annotations

from rq import get_current_job

from app.services.integration_imports import fetches


def fetch_people(fetch_id: int) -> dict:
    """Fetch every person of the linked company or organization of one fetch."""
    job = get_current_job()

    def report(progress: dict) -> None:
        if job is not None:
            job.meta["progress"] = progress
            job.save_meta()

    return fetches.run_fetch(fetch_id, report=report)
