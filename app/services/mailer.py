"""Welcome emails to new users through the SMTP server the portal is configured with.

Settings come from the app config or the environment: ENLIST_SMTP_HOST (no host: no email),
ENLIST_SMTP_PORT (587), ENLIST_SMTP_SECURITY (starttls, ssl or none), ENLIST_SMTP_USER,
ENLIST_SMTP_PASSWORD, ENLIST_SMTP_FROM. A message may carry an initial password: it is built in
memory, handed to the server and never logged.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app

SECURITY = ("starttls", "ssl", "none")


class MailError(Exception):
    """The email could not be handed to the SMTP server; message is plain words."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass
class SmtpSettings:
    """How to reach the SMTP server."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout: float = 15


def _setting(name: str, default: str = "") -> str:
    """A setting from the app config, else the environment."""
    return str(current_app.config.get(name) or os.environ.get(name) or default)


def smtp_settings() -> SmtpSettings | None:
    """The configured SMTP server, or None when welcome emails cannot be sent."""
    host = _setting("ENLIST_SMTP_HOST")
    if not host:
        return None
    security = _setting("ENLIST_SMTP_SECURITY", "starttls").lower()
    if security not in SECURITY:
        raise MailError(f"ENLIST_SMTP_SECURITY must be one of {', '.join(SECURITY)}.", transient=False)
    port = int(_setting("ENLIST_SMTP_PORT", "465" if security == "ssl" else "587"))
    return SmtpSettings(host=host, port=port, security=security, username=_setting("ENLIST_SMTP_USER"),
                        password=_setting("ENLIST_SMTP_PASSWORD"),
                        sender=_setting("ENLIST_SMTP_FROM", f"enlist@{host}"))


def welcome_message(settings: SmtpSettings, *, to: str, full_name: str, client: str, sign_in: str,
                    password: str | None, must_change: bool) -> EmailMessage:
    """The welcome email: who the account is for, how to sign in, and the password when asked."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = formataddr((full_name, to))
    message["Subject"] = f"Your {client} account is ready"
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    lines = [f"Hello {full_name},", "", f"Your {client} account has been created.", "",
             f"Sign-in name: {sign_in}"]
    if password:
        lines.append(f"Initial password: {password}")
        if must_change:
            lines.append("You will be asked to choose a new password when you first sign in.")
    else:
        lines.append("Your IT contact will give you your initial password.")
    lines += ["", "If you did not expect this message, tell your IT contact."]
    message.set_content("\n".join(lines))
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; MailError says why not (transient when worth a retry)."""
    context = ssl.create_default_context()
    try:
        if settings.security == "ssl":
            server = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with server:
            if settings.security == "starttls":
                server.starttls(context=context)
            if settings.username:
                server.login(settings.username, settings.password)
            server.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailError("The SMTP server refused the sign-in: check ENLIST_SMTP_USER and "
                        "ENLIST_SMTP_PASSWORD.", transient=False) from None
    except smtplib.SMTPRecipientsRefused:
        raise MailError("The SMTP server refused the recipient address.", transient=False) from None
    except smtplib.SMTPResponseException as error:
        transient = 400 <= error.smtp_code < 500
        raise MailError(f"The SMTP server answered {error.smtp_code}.", transient=transient) from None
    except ssl.SSLError:
        raise MailError("The SMTP server's certificate is not trusted.", transient=False) from None
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"Could not reach the SMTP server {settings.host}:{settings.port} "
                        f"({type(error).__name__}).", transient=True) from None
