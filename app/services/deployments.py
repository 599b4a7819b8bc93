"""Deployments: one per client, with its directory connection settings."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Deployment, User, UserStatus
from app.models.deployment import PASSWORD_MODES, WELCOME_EMAILS
from app.services import audit, secrets
from app.services.errors import Conflict, DomainError, NotFound
from app.services.naming import DEFAULT_POLICY, NAMING_POLICIES

CODE_RE = re.compile(r"^[A-Za-z0-9]{3,6}$")
EDITABLE = ("name", "notes", "ldaps_url", "fallback_urls", "bind_user", "ca_cert", "verify_tls",
            "base_ou", "users_ou", "upn_suffix", "default_groups", "naming_policy", "tls_server_name",
            "password_mode", "must_change_password", "password_never_expires", "account_expires",
            "extension_in_phone", "welcome_email")


def normalise_code(code: str) -> str:
    """A deployment code in upper case; DomainError unless 3-6 letters or digits."""
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise DomainError("The short code must be 3 to 6 letters or digits (it is used in OU and group names).")
    return code


def get_by_code(code: str) -> Deployment:
    """The deployment with this code; NotFound otherwise."""
    deployment = db.session.scalar(sa.select(Deployment).where(Deployment.code == (code or "").upper()))
    if deployment is None:
        raise NotFound(f"There is no deployment with the code {code}.")
    return deployment


def list_deployments() -> list[Deployment]:
    """Every deployment, by name."""
    return list(db.session.scalars(sa.select(Deployment).order_by(Deployment.name)))


def create_deployment(code: str, name: str, actor, **settings) -> Deployment:
    """A new deployment; Conflict when the code is taken."""
    code = normalise_code(code)
    if not (name or "").strip():
        raise DomainError("The client's name is mandatory.")
    if db.session.scalar(sa.select(Deployment.id).where(Deployment.code == code)):
        raise Conflict(f"The code {code} is already used by another deployment.")
    deployment = Deployment(code=code, name=name.strip(), naming_policy=DEFAULT_POLICY, verify_tls=True)
    db.session.add(deployment)
    _apply(deployment, settings)
    db.session.flush()
    audit.record(actor, "deployment.create", deployment=deployment, obj=deployment,
                 summary=f"{code} {deployment.name}")
    db.session.commit()
    return deployment


def update_deployment(deployment: Deployment, actor, **settings) -> Deployment:
    """Change a deployment's settings; a changed connection must be verified again."""
    _apply(deployment, settings)
    changed = sorted(name for name, value in settings.items() if value is not None)
    audit.record(actor, "deployment.update", deployment=deployment, obj=deployment,
                 summary="changed " + ", ".join(changed), detail={"fields": changed})
    db.session.commit()
    return deployment


def _apply(deployment: Deployment, settings: dict) -> None:
    """Check, then copy known settings onto the deployment; a bind password is encrypted."""
    password = settings.pop("bind_password", None)
    unknown = set(settings) - set(EDITABLE)
    if unknown:
        raise DomainError(f"Unknown setting {', '.join(sorted(unknown))}.")
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in settings.items() if v is not None}
    if values.get("naming_policy", deployment.naming_policy) not in NAMING_POLICIES:
        raise DomainError("Unknown naming policy.")
    _check_account_options(deployment, values)
    urls = [values.get("ldaps_url", "")] + values.get("fallback_urls", "").split()
    if any(url and not url.lower().startswith("ldaps://") for url in urls):
        raise DomainError("Directory URLs must start with ldaps:// (passwords are only sent encrypted).")
    for name, value in values.items():
        setattr(deployment, name, value)
    if password:
        deployment.bind_secret = secrets.box().encrypt(password)


def _check_account_options(deployment: Deployment, values: dict) -> None:
    """The password and account options must make sense together; DomainError says what is wrong."""
    if values.get("password_mode", deployment.password_mode or "generated") not in PASSWORD_MODES:
        raise DomainError("Unknown password policy.")
    if values.get("welcome_email", deployment.welcome_email or "") not in WELCOME_EMAILS:
        raise DomainError("Unknown welcome email choice.")
    must_change = values.get("must_change_password", deployment.must_change_password)
    never_expires = values.get("password_never_expires", deployment.password_never_expires)
    if must_change and never_expires:
        raise DomainError("Choose either 'must change password at next sign-in' or 'password never "
                          "expires': Windows ignores the first when the second is set.")
    expires = values.get("account_expires")
    if isinstance(expires, str):
        try:
            values["account_expires"] = date.fromisoformat(expires) if expires else None
        except ValueError:
            raise DomainError("The account expiration date must be a date such as 2030-12-31.") from None


def status_counts(deployment: Deployment) -> dict[str, int]:
    """How many users of the deployment are in each status (every status listed, zeros too)."""
    rows = db.session.execute(
        sa.select(User.status, sa.func.count(User.id))
        .where(User.deployment_id == deployment.id).group_by(User.status))
    counts = {status: 0 for status in UserStatus.ALL}
    counts.update({status: count for status, count in rows})
    return counts


def cloud_readiness(deployment: Deployment) -> str | None:
    """Why Send to cloud is not possible yet, or None when the deployment is on cloud."""
    if not deployment.directory_configured:
        return "The directory connection is not configured yet: fill in the directory settings."
    if not deployment.on_cloud:
        return "The directory connection has not been verified since it was last changed: run Test connection."
    return None
