"""Database engine settings: SQLite in WAL mode with foreign keys enforced."""

from __future__ import annotations

import json

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


def _row_values(columns: list[sa.Column]):
    """A function giving a row's values in column order, JSON columns as text (for the driver)."""
    names = [c.name for c in columns]
    json_at = [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)]

    def values(row: dict) -> list:
        out = [row[name] for name in names]
        for i in json_at:
            out[i] = json.dumps(out[i])
        return out

    return values


def bulk_insert(table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows in the current transaction by the fastest route the database offers.

    100,000 staged rows took 2.1 s through SQLAlchemy's executemany on SQLite; the driver's own
    executemany (SQLite) or COPY (PostgreSQL) do the same work several times faster.
    """
    if not rows:
        return
    columns = [c for c in table.columns if c.name in rows[0]]
    connection = db.session.connection()
    dialect = connection.dialect.name
    raw = connection.connection.dbapi_connection
    values = _row_values(columns)
    names = ", ".join(c.name for c in columns)
    if dialect == "sqlite":
        raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})",
                        [values(row) for row in rows])
    elif dialect == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
    else:
        connection.execute(table.insert(), rows)


def refresh_statistics(table: sa.Table) -> None:
    """After a large bulk load, let PostgreSQL's planner see the new rows (autovacuum comes later)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"ANALYZE {table.name}"))
