"""The static checks' pip-audit verdict: a known vulnerability fails, an unreachable PyPI is said, not hidden."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("pip_audit_verdict", ROOT / "scripts" / "pip_audit_verdict.py")
pip_audit_verdict = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pip_audit_verdict)


def report(tmp_path, deps) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"dependencies": deps, "fixes": []}))
    return str(path)


def test_a_known_vulnerability_fails_the_checks(tmp_path):
    deps = [{"name": "flask", "version": "0.12", "vulns": [{"id": "PYSEC-2019-179", "fix_versions": ["1.0"]}]},
            {"name": "rq", "version": "2.12.0", "vulns": []}]
    code, message = pip_audit_verdict.verdict(report(tmp_path, deps), 1, "")
    assert code == 1 and "flask 0.12: PYSEC-2019-179 (fixed in 1.0)" in message


def test_a_clean_audit_passes_and_counts(tmp_path):
    deps = [{"name": "rq", "version": "2.12.0", "vulns": []},
            {"name": "enlist", "version": "0.1.0", "skip_reason": "not on PyPI"}]
    code, message = pip_audit_verdict.verdict(report(tmp_path, deps), 0, "")
    assert code == 0 and "1 packages audited" in message and "1 could not be looked up" in message


def test_an_audit_that_reached_nothing_says_skipped_instead_of_passing_quietly(tmp_path):
    deps = [{"name": "rq", "version": "2.12.0", "skip_reason": "Dependency not found on PyPI"}]
    code, message = pip_audit_verdict.verdict(report(tmp_path, deps), 0, "")
    assert code == 0 and "SKIPPED" in message and "not reachable" in message


def test_pip_audit_failing_to_run_is_said(tmp_path):
    code, message = pip_audit_verdict.verdict(str(tmp_path / "missing.json"), 2, "ConnectionError: pypi.org")
    assert code == 0 and "could not run (exit 2)" in message and "ConnectionError" in message
