"""Fixtures for the integration clients: the local ConnectWise and Zendesk, and a fake clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The stand-in servers live in tests/support; make `tests` importable however pytest was started.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from app.services.integrations import RetryPolicy  # noqa: E402
from tests.support.fake_connectwise import FakeConnectWise  # noqa: E402
from tests.support.fake_zendesk import FakeZendesk  # noqa: E402


class Clock:
    """Records the sleeps and on_wait reports a client makes, without sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.waits: list[tuple[float, str]] = []

    def sleep(self, seconds: float) -> None:
        """Note the sleep instead of sleeping."""
        self.sleeps.append(seconds)

    def on_wait(self, seconds: float, reason: str) -> None:
        """Note what a job would show."""
        self.waits.append((seconds, reason))

    def policy(self, **overrides) -> RetryPolicy:
        """A RetryPolicy that sleeps on this clock."""
        return RetryPolicy(sleep=self.sleep, **overrides)


@pytest.fixture
def clock() -> Clock:
    """A fresh fake clock."""
    return Clock()


@pytest.fixture
def cw():
    """A running ConnectWise stand-in with two small companies."""
    fake = FakeConnectWise(companies=2, contacts_per_company=5).start()
    yield fake
    fake.stop()


@pytest.fixture
def zd():
    """A running Zendesk stand-in with two small organizations."""
    fake = FakeZendesk(organizations=2, users_per_org=5).start()
    yield fake
    fake.stop()
