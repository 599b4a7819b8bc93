"""One bound LDAPS connection per worker process and per deployment's connection settings.

An LDAPS connect and bind costs more than creating a user's account does (TLS handshake, bind),
so a worker keeps its connection between jobs, keyed by Deployment.directory_digest(): a change
of URL, account, password or certificate opens a new one. Nothing here matters for correctness:
losing an entry costs one reconnect. A connection the DC dropped (restart, idle timeout) fails
with a transient error on first use; the caller then runs the idempotent work once more on a new
connection, which connect() builds with a new ldap3 Server (a Server that failed once refuses
to connect for 5 s).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import ldap3

from app.services.directory import DirectoryError, DirectorySettings, connect

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class PooledDirectory:
    """A bound connection and what was learnt through it (the OU exists, the groups' DNs)."""

    conn: ldap3.Connection
    opened_at: float = field(default_factory=time.monotonic)
    ou_ready: bool = False
    group_dns: list[str] | None = None
    uses: int = 0


class DirectoryPool:
    """Connections of this process by settings digest (a worker handles one job at a time)."""

    def __init__(self) -> None:
        self._entries: dict[str, PooledDirectory] = {}

    def run(self, key: str, settings: DirectorySettings, work: Callable[[PooledDirectory], T]) -> T:
        """work(entry) on this process's connection for key; once more on a new one if it went stale."""
        for attempt in (1, 2):
            entry, reused = self._entry(key, settings)
            try:
                result = work(entry)
            except DirectoryError as error:
                if error.transient:
                    self.discard(key)
                    if reused and attempt == 1:
                        log.info("directory: pooled connection failed (%s); reconnecting", error.code)
                        continue
                elif error.code in ("no_such_object", "group_missing"):
                    entry.ou_ready, entry.group_dns = False, None  # look again next time
                raise
            entry.uses += 1
            return result
        raise AssertionError("unreachable")

    def _entry(self, key: str, settings: DirectorySettings) -> tuple[PooledDirectory, bool]:
        """The open entry for key, or a new connection; and whether it was reused."""
        entry = self._entries.get(key)
        if entry is not None and not entry.conn.closed:
            return entry, True
        entry = PooledDirectory(connect(settings))
        self._entries[key] = entry
        return entry, False

    def discard(self, key: str) -> None:
        """Close and forget the connection for key."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            with contextlib.suppress(Exception):  # a dead socket cannot be unbound politely; dropped either way
                entry.conn.unbind()

    def close_all(self) -> None:
        """Close every connection (worker shutdown, tests)."""
        for key in list(self._entries):
            self.discard(key)

    def __len__(self) -> int:
        return len(self._entries)


# The process's pool. A web process never uses it; each worker process has its own.
POOL = DirectoryPool()
