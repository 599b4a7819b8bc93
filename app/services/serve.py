"""`enlist serve`: the one-command portal: migrate, embedded Redis, web server and workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from app.services.queue import QUEUE_NAMES


def _upgrade_database(app) -> None:
    """Bring the database schema up to date before anything serves requests."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")


def _spawn(app, host: str, port: int, web_workers: int, job_workers: int,
           provisioning_workers: int) -> list[subprocess.Popen]:
    """Start gunicorn and the RQ workers, all pointed at the same database and Redis.

    Provisioning has workers of its own that do not fork (each keeps a bound LDAPS connection
    between jobs, see app/jobs/runner.py); the other queues are served by forking workers.
    """
    env = _env(app)
    web = [sys.executable, "-m", "gunicorn", "--workers", str(web_workers), "--bind", f"{host}:{port}",
           "--access-logfile", "-", "--graceful-timeout", "10", "app:create_app()"]
    processes = [subprocess.Popen(web, env=env)]
    # Workers run at a lower CPU priority than the web server: a big send never slows the pages.
    runner = [sys.executable, "-m", "app.jobs.runner", "--nice", "10"]
    general = [arg for name in QUEUE_NAMES if name != "provisioning" for arg in ("--queue", name)]
    for _ in range(job_workers):
        processes.append(subprocess.Popen([*runner, *general], env=env))
    for _ in range(provisioning_workers):
        processes.append(subprocess.Popen([*runner, "--queue", "provisioning"], env=env))
    return processes


def _env(app) -> dict:
    """The environment every portal process shares: the same Redis and instance folder."""
    return {**os.environ, "REDIS_URL": app.config["REDIS_URL"], "ENLIST_INSTANCE_PATH": app.instance_path}


def serve(host: str, port: int, web_workers: int, job_workers: int, provisioning_workers: int = 3) -> None:
    """Run until Ctrl+C or SIGTERM, then stop every child and the embedded Redis."""
    from app import create_app
    from app.services.embedded_redis import stop_embedded_redis

    embedded = not os.environ.get("REDIS_URL")
    app = create_app()
    _upgrade_database(app)
    processes = _spawn(app, host, port, web_workers, job_workers, provisioning_workers)
    click.echo(f"Enlist is running at http://{host}:{port}/  (Ctrl+C to stop)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            if processes[0].poll() is not None:
                click.echo("The web server stopped; shutting down.", err=True)
                break
            for i, p in enumerate(processes[1:], 1):
                if p.poll() is not None:  # the reconciler re-enqueues what it was running
                    click.echo(f"A background worker stopped (exit {p.returncode}); starting a new one.", err=True)
                    processes[i] = subprocess.Popen(p.args, env=_env(app))
            time.sleep(0.5)
    finally:
        for p in processes:
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if embedded:
            stop_embedded_redis(app.instance_path)
