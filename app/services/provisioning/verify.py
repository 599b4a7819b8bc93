"""Test connection: check the deployment's directory and mark it on cloud when everything passes."""

from __future__ import annotations

from app.extensions import db
from app.models import Deployment
from app.models._base import utcnow
from app.services import audit
from app.services.directory import Check, check_connection
from app.services.provisioning.settings import directory_settings

NOT_CONFIGURED = Check("Settings", False, "Fill in the directory URL, bind user and password, base DN and "
                                          "UPN suffix, save, then test again.")


def verify_connection(deployment: Deployment, actor) -> list[Check]:
    """Run every check on the saved settings; all passing verifies them, any failing clears it."""
    if not deployment.directory_configured:
        checks = [NOT_CONFIGURED]
    else:
        checks = check_connection(directory_settings(deployment))
        if deployment.must_change_password and deployment.password_never_expires:
            checks.append(Check("Account options", False, "'Must change password at next sign-in' and "
                                "'Password never expires' exclude each other: Windows ignores the first."))
    passed = all(c.ok for c in checks)
    deployment.directory_verified_at = utcnow() if passed else None
    deployment.directory_verified_digest = deployment.directory_digest() if passed else None
    failed = [c.name for c in checks if not c.ok]
    audit.record(actor, "deployment.test_connection", deployment=deployment, obj=deployment,
                 summary="Directory verified: on cloud" if passed else f"Directory test failed: {', '.join(failed)}",
                 outcome="ok" if passed else "failed")
    db.session.commit()
    return checks
