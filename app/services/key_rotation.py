"""Key rotation: every registered encrypted column re-encrypted under the newest data key.

The keys come from ENLIST_DATA_KEYS (or the instance folder's data.key), newest first. To rotate: list a
new key first, keep the old one after it, run `enlist rotate-key`, then remove the old key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from app.extensions import db
from app.services import secrets
from app.services.secrets import SecretError


@dataclass
class RotationReport:
    """How many stored secrets each column had re-encrypted."""

    columns: dict[str, int] = field(default_factory=dict)
    key_count: int = 1

    @property
    def total(self) -> int:
        """Secrets re-encrypted in all."""
        return sum(self.columns.values())


def _rotated_values(column: sa.Column, box: secrets.SecretBox) -> list[dict]:
    """Every non-empty value of the column, re-encrypted; SecretError names the row that cannot be read."""
    (key,) = column.table.primary_key.columns
    rows = db.session.execute(sa.select(key, column).where(column.is_not(None), column != ""))
    changed = []
    for row_id, token in rows:
        try:
            changed.append({"_id": row_id, "_value": box.rotate(token)})
        except InvalidToken as exc:  # also what a value that is not a Fernet token at all gives
            raise SecretError(f"{column.table.name}.{column.name} of row {row_id} cannot be decrypted with "
                              "the configured keys: nothing was changed.") from exc
    return changed


def rotate_all() -> RotationReport:
    """Re-encrypt every stored secret under the newest key, all columns in one transaction."""
    box = secrets.box()
    report = RotationReport(key_count=box.key_count)
    try:
        for column in secrets.encrypted_columns(db.metadata):
            (key,) = column.table.primary_key.columns
            changed = _rotated_values(column, box)
            if changed:
                statement = (column.table.update().where(key == sa.bindparam("_id"))
                             .values({column.name: sa.bindparam("_value")}))
                db.session.execute(statement, changed)
            report.columns[f"{column.table.name}.{column.name}"] = len(changed)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report
