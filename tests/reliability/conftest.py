"""Fixtures for the fault suite: a DC of the module's own to stop and start, and the figures each test reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.jobs.conftest import spare_dc, spare_deployment  # noqa: F401  (fixtures shared with the job tests)

_FIGURES: list[str] = []


@pytest.fixture
def figures():
    """report(line): a line of figures, shown at the end of the run and appended to
    $ENLIST_TEST_ARTIFACTS/reliability.txt when that is set (the closing note quotes it)."""

    def report(line: str) -> None:
        print(line)
        _FIGURES.append(line)
        folder = os.environ.get("ENLIST_TEST_ARTIFACTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            with open(Path(folder) / "reliability.txt", "a", encoding="utf-8") as out:
                out.write(line + "\n")

    return report


def pytest_terminal_summary(terminalreporter):
    """The figures of the fault tests that ran, after the results."""
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
