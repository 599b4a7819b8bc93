"""Seconds to import 5,000 ConnectWise contacts and 5,000 Zendesk users into a staged batch (issue 6).

    .venv/bin/python bench/bench_integrations.py [--people 5000] [--database URL]

Each run goes the way of the pages: the fetch is queued on the imports queue and run by RQ's SimpleWorker
(JSON serializer) against the local stand-in servers (ConnectWise pageSize 1000 with Link headers,
Zendesk cursor pages of page[size] 100), the raw records are kept on the fetch row, then the field
matching's default mapping is applied and the rows are staged (validated) for the import preview.
Goal: at most 10 s each, fetch + map + stage.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(app, operator, deployment, provider: str, account, remote_id: int) -> tuple[float, float, int, int]:
    """(fetch seconds, map + stage seconds, staged rows, pages) for one linked company or organization."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from app.extensions import db
    from app.models import IntegrationFetch
    from app.services import queue
    from app.services.integration_imports import fetches, links, matching

    links.link_remote(deployment, account, remote_id, operator)
    started = time.perf_counter()
    fetch = fetches.start_fetch(deployment, provider, operator)
    SimpleWorker(["imports"], connection=queue.connection(), serializer=JSONSerializer).work(
        burst=True, logging_level="WARNING")
    db.session.expire_all()
    fetch = db.session.get(IntegrationFetch, fetch.id)
    fetched = time.perf_counter()
    assert fetch.state == "fetched", fetch.message
    screen = matching.matching_for(fetch)
    batch = matching.stage_fetch(fetch, screen.mapping, operator)
    staged = time.perf_counter()
    return fetched - started, staged - fetched, batch.row_count, fetch.pages


def main() -> None:
    """Set up an app on a fresh database, start the stand-ins, import from each, print the seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="enlist-bench-"))
    os.environ["ENLIST_INSTANCE_PATH"] = str(work / "instance")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

    import redis
    from flask_migrate import upgrade

    from app import create_app
    from app.services import deployments, operators
    from app.services.integration_imports import accounts
    from tests.support.fake_connectwise import FakeConnectWise
    from tests.support.fake_zendesk import FakeZendesk

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database or f"sqlite:///{work}/bench.db",
                      "ENLIST_INTEGRATIONS_PLAIN_HTTP": True, "ENLIST_PASSWORD_METHOD": "pbkdf2:sha256:1000"})
    redis.Redis.from_url(app.config["REDIS_URL"]).delete("rq:queue:imports")
    people, skipped = args.people, args.people // 50
    with app.app_context(), FakeConnectWise(companies=0) as cw, FakeZendesk(organizations=0) as zd:
        upgrade(revision="heads")
        operator = operators.create_operator("bench@msp.example", "bench-password-long", role="admin")
        company = cw.add_company("Bench Co", contacts=people + skipped, inactive=skipped)
        org = zd.add_organization("Bench Org", users=people, agents=skipped, suspended=skipped)
        cw_account = accounts.save_account(None, "connectwise", "ConnectWise", {
            "site": f"http://{cw.host}", "company_id": cw.company_id, "public_key": cw.public_key,
            "client_id": cw.client_id}, cw.private_key, operator)
        zd_account = accounts.save_account(None, "zendesk", "Zendesk", {
            "subdomain": f"http://{zd.host}", "email": zd.email}, zd.api_token, operator)
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        for code, label, provider, account, remote in (("BCW", "ConnectWise", "connectwise", cw_account, company),
                                                       ("BZD", "Zendesk", "zendesk", zd_account, org)):
            deployment = deployments.create_deployment(code, f"Bench {label}", operator, upn_suffix="client.example")
            fetch_s, stage_s, rows, pages = run(app, operator, deployment, provider, account, remote["id"])
            total = fetch_s + stage_s
            print(f"{label:<12} {rows:>6,} rows staged from {pages:>3} pages: fetch {fetch_s:5.2f} s, "
                  f"map + stage {stage_s:5.2f} s, total {total:5.2f} s "
                  f"(goal <= 10 s: {'met' if total <= 10 else 'MISSED'})", flush=True)


if __name__ == "__main__":
    main()
