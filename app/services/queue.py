"""Redis and the RQ queues: one connection pool per process, queues named by purpose."""

from __future__ import annotations

import redis
from flask import current_app
from rq import Queue
from rq.serializers import JSONSerializer

from app.services.embedded_redis import ensure_embedded_redis

QUEUE_NAMES = ("provisioning", "imports", "discovery", "default")


def resolve_redis_url(app) -> str:
    """REDIS_URL when set, else the embedded server of the instance folder (started if needed)."""
    url = app.config.get("REDIS_URL")
    if not url:
        if not app.config.get("ENLIST_EMBEDDED_REDIS"):
            raise RuntimeError("REDIS_URL is not set and the embedded Redis is disabled")
        url = ensure_embedded_redis(app.instance_path)
        app.config["REDIS_URL"] = url
    return url


def limiter_storage_uri(url: str) -> str:
    """The limits library's spelling of a Redis URL (unix sockets are redis+unix)."""
    return "redis+unix://" + url[len("unix://"):] if url.startswith("unix://") else url


def init_app(app) -> None:
    """Bind one Redis connection pool to the app."""
    url = resolve_redis_url(app)
    app.extensions["enlist.redis"] = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def connection() -> redis.Redis:
    """The current app's Redis connection."""
    return current_app.extensions["enlist.redis"]


def get_queue(name: str = "default", conn: redis.Redis | None = None) -> Queue:
    """An RQ queue using the JSON serializer: job arguments are ids, never objects or secrets."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name}")
    return Queue(name, connection=conn or connection(), serializer=JSONSerializer,
                 default_timeout=current_app.config["ENLIST_JOB_TIMEOUT"])
