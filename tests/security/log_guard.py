"""Whole-suite guard: every log record of the run goes to a file, and no secret the suite used may be in it.

Secrets are registered where they are born, so no test has to remember to: whatever goes through
SecretBox.encrypt (bind passwords, initial passwords, integration keys), every operator password set or
tried, every random token (secrets.token_urlsafe: API and discovery tokens), plus register_secret() for
anything else. Records are captured by the log record factory, which alembic's logging.config.fileConfig
does not reset (it drops root handlers and disables existing loggers: both are repaired after it runs and
before every test). The check cannot pass silently: a canary record logged at the start and one at the end
must both be in the file, or the run fails as if a secret had leaked.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import secrets as stdlib_secrets
import tempfile
import threading
from pathlib import Path

import pytest

MIN_LENGTH = 8  # shorter strings would match ordinary words
PLUGIN_NAME = "enlist-secret-log-guard"
CANARY = "enlist-log-guard-canary"
_REGISTRY: set[str] = set()
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def register_secret(value) -> None:
    """Add a secret the logs must never show."""
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        _REGISTRY.add(value)


def registered_secrets() -> frozenset[str]:
    """The secrets registered so far."""
    return frozenset(_REGISTRY)


def masked(secret: str) -> str:
    """How a leaked secret is named in the report (never in full)."""
    return f"{secret[:3]}… ({len(secret)} characters)"


def _record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write of a record: message, arguments, extras, traceback, stack."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string still has its parts written
        message = f"{record.msg!r} % {record.args!r}"
    parts = [f"{record.levelname} {record.name}: {message}"]
    extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}
    if extras:
        parts.append(f"  extra: {extras!r}")
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts) + "\n"


def _registering(function, *, argument: int | None = None, result: bool = False):
    """Wrap function so that one of its arguments, or its result, is registered as a secret."""

    def wrapper(*args, **kwargs):
        if argument is not None and len(args) > argument:
            register_secret(args[argument])
        value = function(*args, **kwargs)
        if result:
            register_secret(value)
        return value

    wrapper.__wrapped__ = function
    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _canary_logger() -> logging.Logger:
    """A logger whose records are created (so captured) but shown by no handler."""
    logger = logging.getLogger("enlist.log_guard")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.disabled = False
    return logger


class SecretLogGuard:
    """The pytest plugin: capture from the session's start, check at its end."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.file = None
        self.records = 0
        self.repairs = 0
        self.leaks: list[tuple[str, int]] = []
        self.broken = ""
        self.checked = 0
        self._undo = []

    # capture ----------------------------------------------------------------------------------
    def _factory(self, previous):
        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            text = _record_text(record)
            with self.lock:
                if self.file is not None:
                    self.file.write(text)
                    self.records += 1
            return record

        factory.enlist_guard = True
        return factory

    def _patch(self, owner, name, replacement) -> None:
        original = getattr(owner, name)
        setattr(owner, name, replacement)
        self._undo.append((owner, name, original))

    def repair(self) -> None:
        """Undo what logging.config.fileConfig did: loggers re-enabled, levels low enough to log INFO."""
        for logger in list(logging.root.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and logger.disabled:
                logger.disabled = False
                self.repairs += 1
        if logging.root.level > logging.INFO:
            logging.root.setLevel(logging.INFO)
        for name in ("app", "enlist", "tests"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # every SQL statement would drown the rest

    def _file_config(self, original):
        def file_config(*args, **kwargs):
            try:
                return original(*args, **kwargs)
            finally:
                self.repair()

        return file_config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        from app.models.operator import Operator
        from app.services.secrets import SecretBox

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        logging.setLogRecordFactory(self._factory(logging.getLogRecordFactory()))
        self._patch(SecretBox, "encrypt", _registering(SecretBox.encrypt, argument=1))
        self._patch(Operator, "set_password", _registering(Operator.set_password, argument=1))
        self._patch(Operator, "check_password", _registering(Operator.check_password, argument=1))
        self._patch(stdlib_secrets, "token_urlsafe", _registering(stdlib_secrets.token_urlsafe, result=True))
        self._patch(logging.config, "fileConfig", self._file_config(logging.config.fileConfig))
        self.repair()
        _canary_logger().info("%s: start", CANARY)

    def pytest_runtest_setup(self, item):
        self.repair()

    # check ------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.repair()
        if not getattr(logging.getLogRecordFactory(), "enlist_guard", False):
            self.broken = "the log record factory was replaced during the run: records were not captured"
        _canary_logger().info("%s: end", CANARY)
        with self.lock:
            self.file.close()
            self.file = None
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        text = self.path.read_text(encoding="utf-8")
        for mark in ("start", "end"):
            if f"{CANARY}: {mark}" not in text and not self.broken:
                self.broken = f"the {mark} canary record is not in {self.path}: log capture did not work"
        secrets_used = sorted(registered_secrets())
        self.checked = len(secrets_used)
        if secrets_used:
            pattern = re.compile("|".join(re.escape(s) for s in sorted(secrets_used, key=len, reverse=True)))
            for number, line in enumerate(text.splitlines(), 1):
                for match in pattern.finditer(line):
                    self.leaks.append((match.group(0), number))
        if (self.leaks or self.broken) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        if self.broken:
            terminalreporter.write_sep("=", "secret log guard: FAILED", red=True)
            write(self.broken)
        if self.leaks:
            terminalreporter.write_sep("=", "secret log guard: secrets in the logs", red=True)
            for secret, number in self.leaks[:50]:
                write(f"  {masked(secret)} in {self.path}, line {number}")
        if not (self.broken or self.leaks):
            write(f"secret log guard: {self.records} log records, {self.checked} secrets, none leaked "
                  f"({self.repairs} loggers re-enabled after logging.config.fileConfig); {self.path}")


def default_path() -> Path:
    """Where the run's log goes: the test artifacts folder when there is one, else a temporary folder."""
    folder = os.environ.get("ENLIST_TEST_ARTIFACTS")
    if not folder:
        return Path(tempfile.mkdtemp(prefix="enlist-logs-")) / "suite.log"
    database = "postgresql" if os.environ.get("ENLIST_TEST_DATABASE_URL") else "sqlite"
    return Path(folder) / f"suite-logs-{database}.txt"


def install(config) -> None:
    """Register the guard once per run (called from pytest_configure)."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(SecretLogGuard(default_path()), PLUGIN_NAME)
