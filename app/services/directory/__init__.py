"""The directory layer: everything Enlist does in a client's Active Directory, over LDAPS.

The only package of the app that imports ldap3. Plain functions, no Flask; each takes a bound
connection from connect(settings) so a job reuses one connection for all its steps.
"""

from app.services.directory.accounts import (
    STEPS,
    AccountSpec,
    EnsureResult,
    FoundAccount,
    ensure_ad_user,
    find_account,
)
from app.services.directory.attributes import MARKER_ATTRIBUTE, marker_value
from app.services.directory.checks import Check, check_connection
from app.services.directory.connection import connect
from app.services.directory.errors import AccountConflict, DirectoryError
from app.services.directory.manage import (
    delete_account,
    disable_account,
    reset_password,
    set_groups,
    update_account,
)
from app.services.directory.ous import ensure_ou
from app.services.directory.passwords import generate_password
from app.services.directory.settings import DirectorySettings

__all__ = [
    "STEPS", "AccountConflict", "AccountSpec", "Check", "DirectoryError", "DirectorySettings",
    "EnsureResult", "FoundAccount", "MARKER_ATTRIBUTE", "check_connection", "connect",
    "delete_account", "disable_account", "ensure_ad_user", "ensure_ou", "find_account",
    "generate_password", "marker_value", "reset_password", "set_groups", "update_account",
]
