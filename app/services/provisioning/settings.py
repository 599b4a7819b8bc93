"""A deployment's directory settings as the directory layer takes them, and the initial-password rules."""

from __future__ import annotations

import os
import re
from datetime import UTC

from flask import current_app

from app.models import Deployment, User
from app.services import secrets
from app.services.directory import DirectorySettings
from app.services.errors import DomainError
from app.services.spreadsheet.export import is_formula_like

# Windows AD's default complexity: at least 3 of the 4 classes, and the length below.
MIN_TYPED_PASSWORD = 8
_CLASSES = (re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"[0-9]"), re.compile(r"[^A-Za-z0-9]"))


def setting(name: str, default):
    """A Send to cloud setting: the app config, else the environment, else the default (typed like it)."""
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    if isinstance(default, (list, tuple)) and isinstance(value, str):
        return [int(v) for v in value.split(",") if v.strip()]
    return type(default)(value) if isinstance(default, (int, float)) and not isinstance(value, (list, tuple)) else value


def directory_settings(deployment: Deployment) -> DirectorySettings:
    """Everything the directory layer needs to reach this deployment's AD and create accounts."""
    urls = [deployment.ldaps_url, *deployment.fallback_urls.split()]
    return DirectorySettings(
        urls=[u for u in urls if u], bind_user=deployment.bind_user,
        bind_password=secrets.box().decrypt(deployment.bind_secret) or "",
        users_ou=deployment.target_ou, upn_suffix=deployment.upn_suffix,
        ca_cert_pem=deployment.ca_cert or None, verify_tls=deployment.verify_tls,
        tls_server_name=deployment.tls_server_name or None, groups=deployment.group_list,
        must_change_password=deployment.must_change_password,
        password_never_expires=deployment.password_never_expires,
        account_expires=deployment.account_expires, extension_in_phone=deployment.extension_in_phone,
        connect_timeout=setting("ENLIST_LDAP_CONNECT_TIMEOUT", 5),
        receive_timeout=setting("ENLIST_LDAP_RECEIVE_TIMEOUT", 15),
    )


def enlist_id(user: User) -> str:
    """The stable id written on the account as Enlist's marker: deployment, user id and creation time.

    The creation time keeps a restored or rebuilt database, whose ids start again at 1, from
    claiming accounts that another user of an earlier Enlist created.
    """
    created = user.created_at
    if created.tzinfo is not None:  # PostgreSQL answers in its session time zone; SQLite keeps UTC
        created = created.astimezone(UTC)
    return f"{user.deployment.code}/{user.id}/{created:%Y%m%d%H%M%S}"


def check_typed_password(password: str | None, user_names: list[str] = ()) -> str:
    """The technician's initial password when it can pass AD's default complexity; DomainError otherwise."""
    password = password or ""
    if len(password) < MIN_TYPED_PASSWORD:
        raise DomainError(f"Type an initial password of at least {MIN_TYPED_PASSWORD} characters.")
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < 3:
        raise DomainError("The initial password needs three of: capital letters, small letters, digits, "
                          "symbols (the domain refuses simpler ones).")
    if is_formula_like(password):
        raise DomainError("The initial password may not start with = + - or @ (spreadsheets would read "
                          "it as a formula in the password file).")
    lowered = password.lower()
    for name in user_names:
        if len(name) >= 3 and name.lower() in lowered:
            raise DomainError(f"The initial password may not contain the username {name}.")
    return password
