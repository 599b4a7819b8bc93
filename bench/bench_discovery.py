"""Seconds for network discovery of 2,000 accounts, an unchanged re-run, and the discovery API's ingest.

    .venv/bin/python bench/bench_discovery.py [--records 5000] [--batch 100] [--database URL]

- Network discovery: a second Samba AD DC (the client's domain, seeded with 2,000 accounts: 1,880 people,
  the rest disabled, service and computer accounts; cached after the first seed) read over verified LDAPS
  by the RQ job (SimpleWorker, JSON serializer) into the Catalog. Goals: full run at most 10 s, an
  unchanged (incremental) re-run at most 3 s. A re-run after changing 10 accounts is shown too.
- Discovery API: 5,000 "pc" records POSTed in batches of 100 to a live server (werkzeug, threaded), one
  request after another as the agent sends them. Goal: at most 5 s. The same records again (all
  unchanged) are shown too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def network_run(deployment, *, full: bool = False):
    """One run through the discovery queue; (seconds, the finished run)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from app.extensions import db
    from app.models import DiscoveryRun
    from app.services import network_discovery_runs, queue

    started = time.perf_counter()
    run = network_discovery_runs.start_run(deployment, "bench", full=full)
    SimpleWorker(["discovery"], connection=queue.connection(), serializer=JSONSerializer).work(
        burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    db.session.expire_all()
    run = db.session.get(DiscoveryRun, run.id)
    assert run.state == "finished", run.message
    return elapsed, run


def bench_network(deployment, dc) -> list[tuple[str, float, object]]:
    """Full run, unchanged re-run, re-run after changing 10 accounts."""
    import ldap3

    from app.services import network_discovery_runs
    from tests.discovery import seed

    network_discovery_runs.save_source(deployment, "bench", ldaps_url=dc.url, bind_user=dc.admin_upn,
                                       bind_password=dc.admin_password, ca_cert=dc.ca_pem,
                                       tls_server_name=dc.tls_name, search_base=dc.base_dn)
    results = [("full run", *network_run(deployment)), ("unchanged re-run", *network_run(deployment))]
    conn = dc.admin_connection()
    for i in range(10):
        title = [(ldap3.MODIFY_REPLACE, [f"Bench {time.time()}"])]
        conn.modify(f"CN=p{i:04d},{seed.OU},{dc.base_dn}", {"title": title})
    conn.unbind()
    results.append(("re-run, 10 changed", *network_run(deployment)))
    return results


def pc_records(count: int) -> list[dict]:
    """count distinct "pc" records as the agent sends them."""
    return [{"source": "pc", "source_key": f"S-1-5-21-1004336348-1177238915-682003330-{10000 + n}",
             "first_name": "Pat", "last_name": f"Lee{n}", "display_name": f"Pat Lee{n}",
             "email": f"pat.lee{n}@acme.example", "phone": "555 0100", "location": "Leeds", "department": "Sales",
             "job_title": "Buyer", "username": f"plee{n}", "machine_name": f"PC-{n:05d}",
             "os": "Windows 11 (10.0.22631)"} for n in range(count)]


def bench_api(app, token: str, records: list[dict], batch: int) -> tuple[float, float, dict]:
    """(seconds for every batch, the same again, the first pass's counts) against a live server."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/discovery"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timings, counts = [], []
    try:
        for _ in range(2):
            started, tally = time.perf_counter(), {}
            for start in range(0, len(records), batch):
                body = json.dumps({"records": records[start:start + batch]}).encode()
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local server
                    for key, n in json.loads(answer.read())["counts"].items():
                        tally[key] = tally.get(key, 0) + n
            timings.append(time.perf_counter() - started)
            counts.append(tally)
    finally:
        server.shutdown()
    return timings[0], timings[1], counts[0]


def main() -> None:
    """Set up an app on a fresh database, start the seeded DC, run both benches, print the seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="enlist-bench-"))
    os.environ["ENLIST_INSTANCE_PATH"] = str(work / "instance")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")

    import redis
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import CatalogEntry
    from app.services import deployments, discovery
    from tests.discovery.seed import start_seeded_dc

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database or f"sqlite:///{work}/bench.db"})
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    dc = start_seeded_dc(work)
    try:
        with app.app_context():
            upgrade(revision="heads")
            network = deployments.create_deployment("NET", "Network bench", "bench", upn_suffix="net.example")
            for name, seconds, run in bench_network(network, dc):
                print(f"network discovery {name:<20} {seconds:6.2f} s  {run.mode:<11} read {run.read:>5,}  "
                      f"new {run.created:>5,}  updated {run.updated:>3}  unchanged {run.unchanged:>5,}  "
                      f"skipped {run.skipped:>3}  present {run.present:>5,}")
            api = deployments.create_deployment("API", "API bench", "bench", upn_suffix="api.example")
            token = discovery.issue_token(api, "bench", "bench")[1]
            first, again, counts = bench_api(app, token, pc_records(args.records), args.batch)
            stored = db.session.scalar(db.select(db.func.count(CatalogEntry.id)).where(
                CatalogEntry.deployment_id == api.id))
            print(f"discovery API ingest   {args.records:,} records in batches of {args.batch}: {first:6.2f} s "
                  f"({counts.get('created', 0):,} created, {stored:,} stored); the same again (unchanged): "
                  f"{again:6.2f} s")
    finally:
        dc.destroy()


if __name__ == "__main__":
    main()
