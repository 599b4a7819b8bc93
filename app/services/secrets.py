"""Secrets at rest: Fernet encryption with rotation; the keys live outside the database."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

# Columns holding Fernet ciphertext carry this flag in Column.info; `enlist rotate-key` finds them by it.
ENCRYPTED = "enlist.encrypted"
# Encrypted columns declared before encrypted_column() existed, as "table.column".
ENCRYPTED_COLUMN_NAMES = {"provision_tasks.password_secret"}


class SecretError(Exception):
    """A stored secret cannot be read with the configured keys."""


def encrypted_column(**kwargs) -> sa.Column:
    """A text column holding Fernet ciphertext (SecretBox.encrypt), registered for key rotation."""
    info = {**kwargs.pop("info", {}), ENCRYPTED: True}
    return sa.Column(sa.Text, info=info, **kwargs)


def encrypted_columns(metadata: sa.MetaData) -> list[sa.Column]:
    """Every registered encrypted column of the schema, table by table."""
    return [column for table in metadata.sorted_tables for column in table.columns
            if column.info.get(ENCRYPTED) or f"{table.name}.{column.name}" in ENCRYPTED_COLUMN_NAMES]


def instance_secret(instance_path: str, filename: str, make) -> str:
    """Read a secret file of the instance folder, creating it (mode 0600) on first use."""
    path = Path(instance_path) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make() + "\n")
    return path.read_text().strip()


class SecretBox:
    """Encrypts with the first key, decrypts with any: list a new key first to rotate."""

    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.replace("\n", ",").split(",") if k.strip()]
        if not parts:
            raise ValueError("no data encryption key configured")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        self.key_count = len(parts)

    def encrypt(self, text: str | None) -> str | None:
        """Ciphertext of text, or None for no value."""
        if text is None or text == "":
            return None
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        """Plaintext of a stored secret."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretError("A stored secret cannot be decrypted with the configured keys.") from exc

    def rotate(self, token: str | None) -> str | None:
        """The same secret encrypted under the newest key."""
        return self._fernet.rotate(token.encode()).decode() if token else token


def init_app(app) -> None:
    """Bind the secret box: keys from ENLIST_DATA_KEYS, else the instance folder's data.key."""
    keys = app.config.get("ENLIST_DATA_KEYS") or instance_secret(
        app.instance_path, "data.key", lambda: Fernet.generate_key().decode())
    app.extensions["enlist.secrets"] = SecretBox(keys)


def box() -> SecretBox:
    """The current app's secret box."""
    return current_app.extensions["enlist.secrets"]


def new_token(prefix: str) -> str:
    """A new random bearer token, recognisable by its prefix."""
    return f"{prefix}_{_random.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """What is stored of a bearer token: its SHA-256, so a database dump reveals nothing usable."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a.encode(), b.encode())
