"""`enlist serve`: the one-command portal: migrate, embedded Redis, web server and workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click


def _upgrade_database(app) -> None:
    """Bring the database schema up to date before anything serves requests."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")


def _spawn(app, host: str, port: int, web_workers: int, job_workers: int) -> list[subprocess.Popen]:
    """Start gunicorn and the RQ workers, all pointed at the same database and Redis."""
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"], "ENLIST_INSTANCE_PATH": app.instance_path}
    web = [sys.executable, "-m", "gunicorn", "--workers", str(web_workers), "--bind", f"{host}:{port}",
           "--access-logfile", "-", "--graceful-timeout", "10", "app:create_app()"]
    processes = [subprocess.Popen(web, env=env)]
    for _ in range(job_workers):
        processes.append(subprocess.Popen([sys.executable, "-m", "app.jobs.runner"], env=env))
    return processes


def serve(host: str, port: int, web_workers: int, job_workers: int) -> None:
    """Run until Ctrl+C or SIGTERM, then stop every child and the embedded Redis."""
    from app import create_app
    from app.services.embedded_redis import stop_embedded_redis

    embedded = not os.environ.get("REDIS_URL")
    app = create_app()
    _upgrade_database(app)
    processes = _spawn(app, host, port, web_workers, job_workers)
    click.echo(f"Enlist is running at http://{host}:{port}/  (Ctrl+C to stop)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            if any(p.poll() is not None for p in processes):
                click.echo("A portal process stopped; shutting down.", err=True)
                break
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
