"""The real portal as a separate process: gunicorn serving app:create_app(), as `enlist serve` runs it.

start(app) serves the test app's database and Redis (the suite's SQLite file or PostgreSQL) on a
free loopback port and returns once /health answers; kill() is a crash (SIGKILL to gunicorn's
whole process group: master and workers), stop() a normal shutdown. signed_in() gives a requests
session signed in through the sign-in form with the page's CSRF token. gunicorn's control socket is
off: its default path is one per user, which portals started side by side would fight over.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import csrf_token_of
from tests.jobs.support import ROOT, worker_env


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Portal:
    """One running gunicorn (its own process group) and where it listens."""

    process: subprocess.Popen
    url: str
    log: Path | None = None

    @property
    def pid(self) -> int:
        """The gunicorn master's pid (also its process group's id)."""
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once /health says 200; RuntimeError (with the log's tail) if it dies or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the portal exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the portal was not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """A crash: SIGKILL to the master and every worker at once, then reap."""
        self._signal(signal.SIGKILL)
        self.process.wait(15)

    def stop(self, timeout: float = 20) -> None:
        """A normal shutdown (SIGTERM, gunicorn's graceful stop); SIGKILL when it takes too long."""
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: int) -> None:
        """Signal the process group (nothing to do once it is gone)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the portal's output, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log and self.log.exists() else "(no log)"


def start(app, *, workers: int = 1, log: Path | None = None, env: dict | None = None,
          timeout: float = 60, extra_args: tuple[str, ...] = ()) -> Portal:
    """gunicorn on a free loopback port, on the test app's database, Redis, keys and instance folder."""
    port = free_port()
    environment = {**worker_env(app), "ENLIST_INSTANCE_PATH": app.instance_path,
                   "ENLIST_LOGIN_LIMIT": "1000 per minute", **(env or {})}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--access-logfile", "-", "--graceful-timeout", "10", "--no-control-socket", *extra_args,
               "app:create_app()"]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it open
    try:
        process = subprocess.Popen(command, env=environment, cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    finally:
        if log:
            out.close()
    portal = Portal(process, f"http://127.0.0.1:{port}", log)
    portal.wait_ready(timeout)
    return portal


def signed_in(portal: Portal, email: str, password: str) -> requests.Session:
    """A requests session signed in through the sign-in form (with the page's CSRF token)."""
    session = requests.Session()
    token = csrf_token_of(session.get(f"{portal.url}/sign-in", timeout=30).text)
    answer = session.post(f"{portal.url}/sign-in", data={"email": email, "password": password, "csrf_token": token},
                          timeout=30, allow_redirects=False)
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
    return session
