"""The secret log guard cannot pass silently: inner pytest runs (subprocesses) that leak a secret into a log,
or break the capture, must fail; a clean run passes and says how much it checked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Very-Secret-Bind-Value-913"
CONFTEST = """
from tests.security.log_guard import install

def pytest_configure(config):
    install(config)
"""


def run_inner(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    """pytest on one test file with the guard installed, in a folder of its own."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENLIST_TEST_ARTIFACTS": str(tmp_path / "artifacts")}
    env.pop("ENLIST_TEST_DATABASE_URL", None)  # the log file is named after the database of the run
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_inner.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_a_secret_logged_by_a_passing_test_fails_the_run_without_printing_the_secret(tmp_path):
    done = run_inner(tmp_path, f"""
        import logging
        from tests.security.log_guard import register_secret

        def test_leaks():
            register_secret("{SECRET}")
            logging.getLogger("app.services.demo").info("bound with password %s", "{SECRET}")
    """)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "secrets in the logs" in done.stdout
    assert "Ver… (26 characters)" in done.stdout and SECRET not in done.stdout + done.stderr
    assert SECRET in (tmp_path / "artifacts" / "suite-logs-sqlite.txt").read_text()


def test_a_secret_is_registered_where_it_is_made_and_found_in_a_traceback(tmp_path):
    done = run_inner(tmp_path, """
        import logging
        from cryptography.fernet import Fernet
        from app.services.secrets import SecretBox

        def test_leaks_through_an_exception():
            SecretBox(Fernet.generate_key().decode()).encrypt("Auto-Registered-Pass-55")
            try:
                raise RuntimeError("bind failed for Auto-Registered-Pass-55")
            except RuntimeError:
                logging.getLogger("app.services.directory").exception("directory error")
    """)
    assert done.returncode == 1 and "Aut… (23 characters)" in done.stdout, done.stdout + done.stderr


def test_alembic_style_logging_reset_does_not_blind_the_guard(tmp_path):
    done = run_inner(tmp_path, f"""
        import logging, logging.config
        from tests.security.log_guard import register_secret

        early = logging.getLogger("app.services.early")

        def test_reset_then_leak(tmp_path):
            ini = tmp_path / "logging.ini"
            ini.write_text("[loggers]\\nkeys=root\\n[handlers]\\nkeys=h\\n[formatters]\\nkeys=f\\n"
                           "[logger_root]\\nlevel=WARN\\nhandlers=h\\n[handler_h]\\nclass=NullHandler\\nargs=()\\n"
                           "[formatter_f]\\nformat=%(message)s\\n")
            logging.config.fileConfig(ini)  # what alembic's env.py does: root to WARN, early logger disabled
            register_secret("{SECRET}")
            early.info("token %s", "{SECRET}")
    """)
    assert done.returncode == 1 and "secrets in the logs" in done.stdout, done.stdout + done.stderr


def test_a_run_whose_capture_was_switched_off_fails(tmp_path):
    done = run_inner(tmp_path, """
        import logging

        def test_switches_capture_off():
            logging.setLogRecordFactory(logging.LogRecord)
    """)
    assert done.returncode == 1 and "secret log guard: FAILED" in done.stdout, done.stdout + done.stderr
    assert "record factory was replaced" in done.stdout


def test_a_clean_run_passes_and_reports_what_it_checked(tmp_path):
    done = run_inner(tmp_path, f"""
        import logging
        from tests.security.log_guard import register_secret

        def test_clean():
            register_secret("{SECRET}")
            logging.getLogger("app.services.demo").info("bound as svc-enlist (password not shown)")
    """)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 secrets, none leaked" in done.stdout
