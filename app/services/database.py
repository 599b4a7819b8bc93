"""Database engine settings: SQLite in WAL mode with foreign keys enforced."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers and the writer work at once; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app) -> None:
    """Attach the SQLite pragmas to the engine when the database is SQLite."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        sa.event.listen(db.engine, "connect", _sqlite_pragmas)
