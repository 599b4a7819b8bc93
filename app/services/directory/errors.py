"""Every ldap3 exception and LDAP result becomes a DirectoryError a technician can act on."""

from __future__ import annotations

import re

from ldap3.core import exceptions as lx

# Bind failures (result 49) carry the real reason as "data <hex>" in the server's message.
_BIND_REASONS = {
    "525": ("unknown_user", "The sign-in account {who} does not exist in the domain."),
    "52e": ("bad_credentials", "The domain refused the sign-in for {who}: wrong user name or "
                               "password."),
    "530": ("logon_hours", "The account {who} is not allowed to sign in at this time."),
    "531": ("logon_workstation", "The account {who} is not allowed to sign in from here."),
    "532": ("password_expired", "The password of {who} has expired: set a new one in AD."),
    "533": ("account_disabled", "The account {who} is disabled in AD."),
    "701": ("account_expired", "The account {who} has expired in AD."),
    "773": ("must_change_password", "The account {who} must change its password before it "
                                    "can sign in."),
    "775": ("account_locked", "The account {who} is locked out after too many wrong passwords."),
}
_TRANSIENT_RESULTS = {51: "busy", 52: "unavailable", 80: "server_error"}
_CERT_WORDS = ("certificate", "CERTIFICATE_VERIFY_FAILED", "doesn't match any name")


class DirectoryError(Exception):
    """A directory operation failed; message is plain words, raw is for the task log."""

    def __init__(self, message: str, *, code: str, raw: str = "", transient: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.raw = raw
        self.transient = transient

    def __str__(self) -> str:
        return self.message


class AccountConflict(DirectoryError):
    """An account with this username or UPN exists and Enlist did not create it."""

    def __init__(self, message: str, *, code: str, dn: str, raw: str = ""):
        super().__init__(message, code=code, raw=raw, transient=False)
        self.dn = dn


def raw_result(result: dict) -> str:
    """The LDAP result code, name and server message in one line, for the task log."""
    message = " ".join(str(result.get("message") or "").split())
    return f"LDAP {result.get('result')} {result.get('description')}: {message}".strip()


def error_from_result(result: dict, *, doing: str, target: str = "") -> DirectoryError:
    """Translate a failed LDAP result into a plain DirectoryError."""
    code, text = result.get("result"), str(result.get("message") or "")
    raw = raw_result(result)
    if code == 49:
        return _bind_error(text, target, raw)
    if code in _TRANSIENT_RESULTS:
        return DirectoryError(f"The domain controller could not {doing} right now "
                              f"({result.get('description')}); it will be retried.",
                              code=_TRANSIENT_RESULTS[code], raw=raw, transient=True)
    code_name, message = _plain(code, text, doing, target)
    return DirectoryError(message, code=code_name, raw=raw)


def _plain(code: int | None, text: str, doing: str, target: str) -> tuple[str, str]:
    """The code name and sentence for a non-bind, permanent LDAP failure."""
    upper = text.upper()
    if code == 68 and "SAMACCOUNTNAME" in upper:
        return "username_in_use", "This username is already used by another account in the domain."
    if code == 68:
        return "already_exists", f"Could not {doing}: {target or 'the object'} already exists."
    if code == 19 and "0000052D" in upper:
        return "password_policy", ("The domain's password policy rejected the password (too "
                                   "short, too simple or used before).")
    if code == 19 and "USERPRINCIPALNAME" in upper:
        return "upn_in_use", "This sign-in name (UPN) is already used by another account."
    if code == 32:
        return "no_such_object", (f"Could not {doing}: {target or 'the object'} does not exist "
                                  "in the directory.")
    if code == 50:
        return "not_permitted", (f"The sign-in account is not permitted to {doing}. Delegate "
                                 "the rights on the OU to it, or use another account.")
    if code in (19, 21):
        attribute = re.search(r"attribute '([^']+)'", text)
        which = f" for {attribute.group(1)}" if attribute else ""
        return "invalid_value", (f"Could not {doing}: the directory refused a value{which} "
                                 "(too long or not allowed).")
    if code == 8 or code == 13:
        return "needs_encryption", "The domain controller requires an encrypted connection."
    return "ldap_error", f"Could not {doing}: the directory answered '{text or code}'."


def _bind_error(text: str, who: str, raw: str) -> DirectoryError:
    """A bind failure named by its 'data' reason code."""
    reason = re.search(r"data ([0-9a-f]{3})", text, re.IGNORECASE)
    code, sentence = _BIND_REASONS.get(reason.group(1).lower() if reason else "52e",
                                       _BIND_REASONS["52e"])
    return DirectoryError(sentence.format(who=who or "the sign-in account"), code=code, raw=raw)


def error_from_exception(error: Exception, *, doing: str, url: str = "",
                         secrets: tuple[str, ...] = ()) -> DirectoryError:
    """Translate an ldap3 or socket exception: network trouble is transient, TLS trust is not."""
    raw = f"{type(error).__name__}: {error}"
    for secret in secrets:
        if secret:
            raw = raw.replace(secret, "***")
    where = f" at {url}" if url else ""
    if any(word in raw for word in _CERT_WORDS):
        mismatch = "doesn't match" in raw
        return DirectoryError(
            f"The certificate of the domain controller{where} is not trusted: "
            + ("it was issued for another name." if mismatch else
               "it is not signed by the CA certificate in the settings."),
            code="tls_name_mismatch" if mismatch else "tls_untrusted", raw=raw)
    purpose = f" to {doing}" if doing != "connect" else ""
    if isinstance(error, lx.LDAPResponseTimeoutError) or "timed out" in raw:
        return DirectoryError(f"The domain controller{where} did not answer in time{purpose}.",
                              code="timeout", raw=raw, transient=True)
    if isinstance(error, (lx.LDAPCommunicationError, lx.LDAPSessionTerminatedByServerError,
                          lx.LDAPSocketOpenError, lx.LDAPMaximumRetriesError, OSError)):
        return DirectoryError(f"Could not reach the domain controller{where}{purpose} "
                              f"({_socket_reason(raw)}).", code="unreachable", raw=raw,
                              transient=True)
    if isinstance(error, (lx.LDAPInvalidValueError, lx.LDAPAttributeError)):
        return DirectoryError(f"Could not {doing}: a value is not valid for the directory.",
                              code="invalid_value", raw=raw)
    if isinstance(error, lx.LDAPInvalidDnError):
        return DirectoryError(f"Could not {doing}: a distinguished name in the settings is not "
                              "valid.", code="invalid_dn", raw=raw)
    return DirectoryError(f"Could not {doing}: {error}", code="ldap_error", raw=raw)


def _socket_reason(raw: str) -> str:
    """A short human reason from a socket error text."""
    for needle, words in (("refused", "connection refused"), ("unreachable", "network unreachable"),
                          ("Name or service not known", "unknown host name"),
                          ("reset", "connection reset"), ("closed", "connection closed")):
        if needle in raw:
            return words
    return "connection failed"
