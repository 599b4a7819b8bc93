"""Opening a verified LDAPS connection to a deployment's domain controller."""

from __future__ import annotations

import logging
import ssl

import ldap3
from ldap3.core.exceptions import LDAPException

from app.services.directory.errors import DirectoryError, error_from_exception, error_from_result
from app.services.directory.settings import DirectorySettings

log = logging.getLogger(__name__)


def _tls(settings: DirectorySettings) -> ldap3.Tls:
    """TLS that verifies the certificate (chain and name) unless verification is turned off."""
    if not settings.verify_tls:
        return ldap3.Tls(validate=ssl.CERT_NONE)
    names = [settings.tls_server_name] if settings.tls_server_name else None
    return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_data=settings.ca_cert_pem or None,
                     valid_names=names)


def _server(settings: DirectorySettings, url: str) -> ldap3.Server:
    """A new Server for every attempt: a Server that failed once refuses to connect for 5 s."""
    if not url.lower().startswith("ldaps://"):
        raise DirectoryError(f"{url} is not an LDAPS address: use ldaps://, because passwords "
                             "can only be set over an encrypted connection.", code="not_ldaps")
    return ldap3.Server(url, use_ssl=True, tls=_tls(settings), get_info=ldap3.NONE,
                        connect_timeout=settings.connect_timeout)


def open_connection(settings: DirectorySettings) -> tuple[ldap3.Connection, str]:
    """Open a TLS session (not yet bound) to the first reachable URL; return it and the URL."""
    if not settings.urls:
        raise DirectoryError("No domain controller address is configured.", code="no_url")
    failures: list[DirectoryError] = []
    for url in settings.urls:
        try:
            conn = ldap3.Connection(_server(settings, url), user=settings.bind_user,
                                    password=settings.bind_password, auto_referrals=False,
                                    receive_timeout=settings.receive_timeout,
                                    raise_exceptions=False)
            conn.open()
            return conn, url
        except LDAPException as error:
            failure = error_from_exception(error, doing="connect", url=url,
                                           secrets=(settings.bind_password,))
            log.warning("directory: %s: %s", url, failure.raw)
            failures.append(failure)
    # A certificate problem is a configuration error: report it before a merely busy fallback.
    permanent = [f for f in failures if not f.transient]
    message = (permanent or failures)[0].message
    if not permanent and len(failures) > 1:
        message = "None of the domain controllers answered: " + " ".join(f.message for f in failures)
    raise DirectoryError(message, code=(permanent or failures)[0].code,
                         raw=" | ".join(f.raw for f in failures), transient=not permanent)


def bind(conn: ldap3.Connection, settings: DirectorySettings) -> None:
    """Sign in on an open connection, or raise a DirectoryError naming the reason."""
    try:
        ok = conn.bind()
    except LDAPException as error:
        raise error_from_exception(error, doing="sign in", secrets=(settings.bind_password,)) from None
    if not ok:
        raise error_from_result(conn.result, doing="sign in", target=settings.bind_user)


def connect(settings: DirectorySettings) -> ldap3.Connection:
    """A bound LDAPS connection to the first reachable DC of the settings."""
    conn, url = open_connection(settings)
    try:
        bind(conn, settings)
    except DirectoryError:
        conn.unbind()
        raise
    log.info("directory: bound to %s as %s", url, settings.bind_user)
    return conn
