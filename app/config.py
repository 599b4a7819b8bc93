"""Configuration from the environment; TestConfig for the test suite."""

from __future__ import annotations

import os
from datetime import timedelta


def database_url(value: str | None) -> str | None:
    """SQLAlchemy's spelling of a DATABASE_URL: postgres:// URLs use the psycopg 3 driver."""
    if not value:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix):]
    return value


def _flag(name: str, default: bool = False) -> bool:
    """A boolean from the environment: 1, true, yes and on are true."""
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production defaults; every value can be set from the environment."""

    TESTING = False
    # Read at app creation; when unset, secrets live in files of the instance folder (see secrets.py).
    SECRET_KEY = os.environ.get("ENLIST_SECRET_KEY")
    ENLIST_DATA_KEYS = os.environ.get("ENLIST_DATA_KEYS")
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")
    ENLIST_EMBEDDED_REDIS = True
    ENLIST_PUBLIC_URL = os.environ.get("ENLIST_PUBLIC_URL")
    MAX_CONTENT_LENGTH = int(os.environ.get("ENLIST_MAX_UPLOAD_MB", "20")) * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("ENLIST_SECURE_COOKIES")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("ENLIST_SESSION_HOURS", "8")))
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session, which itself expires
    RATELIMIT_ENABLED = True
    ENLIST_LOGIN_LIMIT = os.environ.get("ENLIST_LOGIN_LIMIT", "10 per minute;50 per hour")
    ENLIST_API_LIMIT = os.environ.get("ENLIST_API_LIMIT", "600 per minute")
    # Failed API authentications (a wrong, revoked or missing token) per client address.
    ENLIST_API_AUTH_FAILURE_LIMIT = os.environ.get("ENLIST_API_AUTH_FAILURE_LIMIT", "30 per minute")
    ENLIST_TRUSTED_PROXIES = int(os.environ.get("ENLIST_TRUSTED_PROXIES", "0"))
    ENLIST_JOB_TIMEOUT = int(os.environ.get("ENLIST_JOB_TIMEOUT", "120"))


class TestConfig(Config):
    """The suite's settings: its own database and Redis database, fixed keys, no embedded Redis."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    ENLIST_DATA_KEYS = "nRyBzwJXbLzrPdXTU5ZJsGeRXJTMnh9eX0B8ZaM2ryM="
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("ENLIST_TEST_DATABASE_URL")) or "sqlite://"
    REDIS_URL = os.environ.get("ENLIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    ENLIST_EMBEDDED_REDIS = False
    WTF_CSRF_ENABLED = True
    ENLIST_LOGIN_LIMIT = "1000 per minute"
    ENLIST_API_AUTH_FAILURE_LIMIT = "1000 per minute"  # the access tests make hundreds of refused calls
    ENLIST_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing keeps the suite quick; never in production
