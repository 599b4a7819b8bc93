"""Send to cloud throughput: Enlist end to end against a bare ldap3 loop, on the same local Samba DC.

Usage: .venv/bin/python bench/bench_send.py [--users 300] [--workers 3] [--rounds 3] [--fork] [--database URL]

In one run, against one Samba AD DC started for the bench, each run in its own OU and group:
- bare: one ldap3 connection creates N users with the four steps (add disabled with the same
  attributes, set unicodePwd, enable, add to a group), nothing else;
- bare + lookups: the same, plus the two reads Enlist's idempotent create makes (look the
  account up before adding it, read the new account's objectGUID);
- Enlist: N draft users are sent through the web action (POST /deployments/BNCH/cloud/send with a
  signed-in client) and created by real worker processes (python -m app.jobs.runner) through
  Redis and the database, until every user has an outcome.
Each round goes bare, lookups, Enlist, lookups, bare (the DC slows as it fills, and other work on a
shared machine comes and goes): the bare figures are the mean of the runs around Enlist's, and the
median ratio over the rounds is the result.
It prints both users/s, the ratio (goal: at least 0.85), and where Enlist's own time goes: per job,
from the tasks' timings (database claim/load/steps/finish, directory calls), the time a worker
spends between two jobs (RQ), and the CPU the DC and the clients used on the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ldap3  # noqa: E402
import redis  # noqa: E402

from tests.support.samba import fresh_ou, start_dc  # noqa: E402

DATA_KEY = "nRyBzwJXbLzrPdXTU5ZJsGeRXJTMnh9eX0B8ZaM2ryM="
OPERATOR, PASSWORD = "bench@msp.example", "bench-password-long-enough"


def record(i: int, prefix: str) -> dict:
    """The canonical record of bench user i."""
    username = f"{prefix}{i:05d}"
    return {"first_name": "Bench", "last_name": f"User {prefix} {i}", "email": f"{username}@client.example",
            "username": username, "phone": "5551234", "extension": "", "department": "Sales",
            "location": "HQ", "job_title": "Agent"}


def bare_loop(dc, ou: str, group_dn: str, count: int, prefix: str, *, lookups: bool = False) -> dict:
    """The four steps with raw ldap3 on one connection (lookups: plus the two reads Enlist makes)."""
    from app.services.directory.attributes import new_account_attributes, quoted_password
    from app.services.directory.settings import DirectorySettings

    settings = DirectorySettings(urls=[dc.url], bind_user="", bind_password="", users_ou=ou,
                                 upn_suffix=dc.upn_suffix)
    conn = dc.admin_connection()
    spent = dict.fromkeys(("add", "password", "enable", "groups"), 0.0)
    dc_cpu, started, cpu = cpu_seconds(group=dc.pid), time.perf_counter(), time.process_time()
    for i in range(count):
        rec = record(i, prefix)
        values = new_account_attributes(rec, rec["username"], f"bare/{rec['username']}", settings)
        dn = f"CN={values['displayName']},{ou}"
        password = quoted_password("Bx-" + secrets.token_urlsafe(12) + "!7")
        find = (f"(|(sAMAccountName={rec['username']})(userPrincipalName={rec['username']}@{dc.upn_suffix}))")

        def add():
            """Add (after looking for the account, and reading its GUID, when asked)."""
            if lookups:
                conn.search(dc.base_dn, find, attributes=["objectGUID", "sAMAccountName", "userPrincipalName",
                                                          "userAccountControl", "memberOf", "adminDescription"])
            done = conn.add(dn, ["top", "person", "organizationalPerson", "user"], values)
            if lookups:
                conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
            return done

        steps = (
            ("add", add),
            ("password", lambda: conn.modify(dn, {"unicodePwd": [(ldap3.MODIFY_REPLACE, [password])]})),
            ("enable", lambda: conn.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})),
            ("groups", lambda: conn.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [dn])]})),
        )
        for step, call in steps:
            mark = time.perf_counter()
            if not call():
                raise RuntimeError(f"bare {step} failed: {conn.result}")
            spent[step] += time.perf_counter() - mark
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.unbind()
    return {"elapsed": elapsed, "cpu": cpu, "dc_cpu": cpu_seconds(group=dc.pid) - dc_cpu,
            "per_user_ms": {k: v / count * 1000 for k, v in spent.items()}}


def new_place(admin, dc) -> tuple[str, str, str]:
    """A fresh OU and an empty group (a group's size changes the cost of adding a member)."""
    ou = fresh_ou(admin, dc.base_dn)
    name = f"bench{secrets.token_hex(3)}"
    if not admin.add(f"CN={name},{ou}", "group", {"sAMAccountName": name}):
        raise RuntimeError(admin.result)
    return ou, name, f"CN={name},{ou}"


def mean_run(runs: list[dict], count: int) -> dict:
    """Two runs of the same loop (before and after Enlist's), averaged."""
    return {"elapsed": statistics.fmean(r["elapsed"] for r in runs), "cpu": statistics.fmean(r["cpu"] for r in runs),
            "dc_cpu": statistics.fmean(r["dc_cpu"] for r in runs), "rates": [count / r["elapsed"] for r in runs],
            "per_user_ms": {k: statistics.fmean(r["per_user_ms"][k] for r in runs) for k in runs[0]["per_user_ms"]}}


def cpu_seconds(group: int | None = None, pids: list[int] = ()) -> float:
    """CPU seconds (user + system) used so far by a process group's processes, or by the given pids."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (group is not None and int(fields[2]) == group) or int(entry.name) in pids:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def make_app():
    """The portal app on the bench's database and Redis (production config read from the environment)."""
    from app import create_app

    app = create_app()
    app.config.update(RATELIMIT_ENABLED=False, ENLIST_PASSWORD_METHOD="pbkdf2:sha256:1000")
    return app


def prepare(app, dc) -> None:
    """Schema, an operator and the deployment."""
    from flask_migrate import upgrade

    from app.services import deployments, operators

    with app.app_context():
        upgrade(revision="heads")
        operators.create_operator(OPERATOR, PASSWORD, role="admin")
        deployments.create_deployment(
            "BNCH", "Bench Client", "bench", ldaps_url=dc.url, bind_user=dc.admin_upn,
            bind_password=dc.admin_password, ca_cert=dc.ca_pem, tls_server_name=dc.tls_name, base_ou=dc.base_dn,
            upn_suffix=dc.upn_suffix, must_change_password=False)


def new_round(app, ou: str, group: str, count: int, prefix: str) -> None:
    """Point the deployment at a fresh OU and group, pass Test connection, add count draft users."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import User
    from app.models._base import utcnow
    from app.services import deployments, provisioning

    with app.app_context():
        deployment = deployments.get_by_code("BNCH")
        deployments.update_deployment(deployment, "bench", users_ou=ou, default_groups=group)
        checks = provisioning.verify_connection(deployment, "bench")
        if not all(c.ok for c in checks):
            raise SystemExit(f"Test connection failed: {[c for c in checks if not c.ok]}")
        now = utcnow()
        rows = [{**record(i, prefix), "deployment_id": deployment.id, "username_key": f"{prefix}{i:05d}",
                 "email_key": f"{prefix}{i:05d}@client.example", "origin": "manual", "status": "draft", "step": "",
                 "last_error": "", "ad_dn": "", "object_guid": "", "created_by": "bench", "created_at": now,
                 "updated_at": now} for i in range(count)]
        db.session.execute(sa.insert(User), rows)
        db.session.commit()


def start_workers(count: int, fork: bool, log_dir: Path) -> list[subprocess.Popen]:
    """Worker processes on the provisioning queue, the way `enlist serve` starts them."""
    args = ["--fork"] if fork else []
    command = [sys.executable, "-m", "app.jobs.runner", "--nice", "10", "--queue", "provisioning", *args]
    return [subprocess.Popen(command,
                             cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=open(log_dir / f"worker{n}.log", "wb"), stderr=subprocess.STDOUT,
                             start_new_session=True) for n in range(count)]


def wait_for_workers(redis_url: str, count: int, timeout: float = 30) -> None:
    """Until count workers listen on the provisioning queue."""
    r = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while r.scard("rq:workers:provisioning") < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start; see their logs")
        time.sleep(0.1)


def send_through_the_web(app) -> tuple[float, int]:
    """Sign in, load the Users page, click Send all drafts; the request's seconds and the send id."""
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/sign-in", data={"email": OPERATOR, "password": PASSWORD, "csrf_token": token})
    users_page = client.get("/deployments/BNCH/users/").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', users_page).group(1)
    started = time.perf_counter()
    response = client.post("/deployments/BNCH/cloud/send", data={"scope": "drafts", "csrf_token": token})
    elapsed = time.perf_counter() - started
    if response.status_code != 303:
        raise SystemExit(f"the send was refused: {response.status_code} {response.get_data(as_text=True)[:500]}")
    return elapsed, int(response.headers["Location"].rsplit("/", 1)[1])


def wait_until_done(app, send_id: int, timeout: float) -> None:
    """Until every task of the send has an outcome."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Outcome, ProvisionTask

    deadline = time.monotonic() + timeout
    with app.app_context():
        while db.session.scalar(sa.select(sa.func.count()).where(
                ProvisionTask.send_id == send_id, ProvisionTask.outcome.in_(Outcome.OPEN))):
            if time.monotonic() > deadline:
                raise SystemExit("the send did not finish in time")
            db.session.rollback()
            time.sleep(0.05)


def breakdown(app, send_id: int) -> dict:
    """Per-job averages from the tasks' timings, and the time each worker spent between our jobs."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import ProvisionTask

    with app.app_context():
        tasks = db.session.scalars(sa.select(ProvisionTask).where(ProvisionTask.send_id == send_id)).all()
        keys = ("claim", "load", "add", "password", "enable", "groups", "steps_db", "directory")
        means = {k: statistics.fmean(t.timings.get(k, 0) for t in tasks) for k in keys}
        means["job"] = statistics.fmean(t.duration_ms or 0 for t in tasks)
        means["outcomes"] = sorted({t.outcome for t in tasks})
        gaps = []  # from one task's end to the next task's start on the same worker: RQ and the app context
        for worker in {t.worker for t in tasks}:
            mine = sorted((t.started_at, t.finished_at) for t in tasks if t.worker == worker)
            gaps += [(b[0] - a[1]).total_seconds() * 1000 for a, b in zip(mine, mine[1:])]
        means["between_jobs"] = statistics.median(gaps) if gaps else 0
    return means


def main() -> None:
    """Run both measurements and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fork", action="store_true", help="forking RQ workers instead of the provisioning worker")
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--redis", default=None,
                        help="default: a private Redis of the bench (a shared database number could be another "
                             "session's test Redis: its workers would take each other's jobs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="enlist-bench-send-"))
    database = args.database or f"sqlite:///{work}/bench.db"
    # Before anything imports app.config, which reads the environment once; the workers inherit it.
    # Without --redis, the app starts the embedded Redis of its instance folder (the one-machine
    # default) and the workers find it there.
    os.environ.update(DATABASE_URL=database, ENLIST_DATA_KEYS=DATA_KEY, ENLIST_SECRET_KEY="bench-secret-key",
                      ENLIST_INSTANCE_PATH=str(work / "instance"), **({"REDIS_URL": args.redis} if args.redis else {}))
    dc = start_dc(work / "samba", ip=None)
    workers = []
    try:
        admin = dc.admin_connection()
        print(f"Samba AD DC at {dc.url}; {args.users} users per run; {args.workers} "
              f"{'forking' if args.fork else 'non-forking provisioning'} worker(s); database {database.split(':')[0]}")
        print("each round runs bare, bare+lookups, Enlist, bare+lookups, bare: the DC slows as it fills and "
              "other work on the machine comes and goes, so bare is the mean of the runs around Enlist's")
        app = make_app()
        args.redis = app.config["REDIS_URL"]
        redis.Redis.from_url(args.redis).flushdb()
        prepare(app, dc)
        workers = start_workers(args.workers, args.fork, work)
        wait_for_workers(args.redis, args.workers)
        ratios = []
        for n in range(1, args.rounds + 1):
            bare = [bare_loop(dc, *new_place(admin, dc)[::2], args.users, f"b{n}a")]
            lookups = [bare_loop(dc, *new_place(admin, dc)[::2], args.users, f"l{n}a", lookups=True)]
            ou, group, _ = new_place(admin, dc)
            new_round(app, ou, group, args.users, f"e{n}")
            elapsed, request_s, parts = enlist_run(app, dc, workers)
            lookups.append(bare_loop(dc, *new_place(admin, dc)[::2], args.users, f"l{n}b", lookups=True))
            bare.append(bare_loop(dc, *new_place(admin, dc)[::2], args.users, f"b{n}b"))
            print(f"\n===== round {n} of {args.rounds}")
            ratios.append(report(args.users, mean_run(bare, args.users), mean_run(lookups, args.users), elapsed,
                                 request_s, parts, args.workers))
        print(f"\nratio per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(15)
        dc.destroy()
        from app.services.embedded_redis import stop_embedded_redis

        stop_embedded_redis(str(work / "instance"))
        print(f"(work folder {work})")


def enlist_run(app, dc, workers) -> tuple[float, float, dict]:
    """Click Send all drafts and wait for the last outcome: seconds, the request's seconds, the breakdown."""
    pids = [p.pid for p in workers]
    dc_cpu, worker_cpu = cpu_seconds(group=dc.pid), sum(cpu_seconds(group=p) for p in pids)
    started = time.perf_counter()
    request_s, send_id = send_through_the_web(app)
    wait_until_done(app, send_id, timeout=600)
    elapsed = time.perf_counter() - started
    parts = breakdown(app, send_id)
    parts["dc_cpu"] = cpu_seconds(group=dc.pid) - dc_cpu
    parts["worker_cpu"] = sum(cpu_seconds(group=p) for p in pids) - worker_cpu
    return elapsed, request_s, parts


def report(count: int, bare: dict, lookups: dict, elapsed: float, request_s: float, parts: dict,
           workers: int) -> float:
    """Print users/s both ways, the ratio and the breakdown."""
    bare_rate, enlist_rate = count / bare["elapsed"], count / elapsed
    lookup_rate = count / lookups["elapsed"]
    print(f"\nbare ldap3 loop   {bare_rate:6.1f} users/s  (runs: {', '.join(f'{r:.1f}' for r in bare['rates'])})")
    print(f"Enlist end to end {enlist_rate:6.1f} users/s  ({elapsed:.1f} s from the click to the last outcome; "
          f"outcome {', '.join(parts['outcomes'])})")
    print(f"ratio             {enlist_rate / bare_rate:6.2f}  (goal >= 0.85)\n")
    print(f"bare + the two reads Enlist's idempotent create makes (look the account up first, read the new "
          f"GUID): {lookup_rate:.1f} users/s, {lookup_rate / bare_rate:.2f} of bare; Enlist is "
          f"{enlist_rate / lookup_rate:.2f} of that.\n")
    b = bare["per_user_ms"]
    print("per user, ms            bare   Enlist job (mean over its jobs)")
    for step in ("add", "password", "enable", "groups"):
        extra = "   (Enlist: one search for the account first, one read of the new GUID)" if step == "add" else ""
        print(f"  {step:<20}{b[step]:7.1f}  {parts[step]:7.1f}{extra}")
    ldap_total = sum(parts[s] for s in ("add", "password", "enable", "groups")) - parts["steps_db"]
    print(f"  {'= directory':<20}{sum(b.values()):7.1f}  {ldap_total:7.1f}")
    print("Enlist's own time per job, ms:")
    print(f"  claim the task (UPDATE task and user, commit)      {parts['claim']:6.2f}")
    print(f"  load task, user, deployment; decrypt secrets       {parts['load']:6.2f}")
    print(f"  record each step and the GUID (4 commits)          {parts['steps_db']:6.2f}")
    finish = parts["job"] - parts["claim"] - parts["load"] - parts["directory"]
    print(f"  write the outcome, stamp the send (commits)        {finish:6.2f}")
    print(f"  RQ between two jobs of a worker (median: dequeue, bookkeeping, app context) "
          f"{parts['between_jobs']:6.2f}")
    print(f"  job total {parts['job']:.1f} ms on {workers} worker(s) in parallel; the web request queued "
          f"{count} users in {request_s * 1000:.0f} ms")
    print("CPU per user, ms (2 cores shared by the DC and the workers):")
    print(f"  Samba DC   bare {bare['dc_cpu'] / count * 1000:6.1f}   "
          f"bare+lookups {lookups['dc_cpu'] / count * 1000:6.1f}"
          f"   Enlist {parts['dc_cpu'] / count * 1000:6.1f}")
    print(f"  client     bare {bare['cpu'] / count * 1000:6.1f}   "
          f"Enlist workers {parts['worker_cpu'] / count * 1000:6.1f}"
          "  (ldap3 both ways; Enlist adds RQ, Redis, the database)")
    return enlist_rate / bare_rate


if __name__ == "__main__":
    main()
