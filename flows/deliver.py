"""Delivering the digest by SMTP (stdlib smtplib; the message is built in digest.email)."""

from __future__ import annotations

import smtplib
import ssl

from digest.email import build_message
from digest.errors import OutputError
from digest.render import DigestView
from digest.settings import Settings


class DeliveryError(OutputError, RuntimeError):
    """The mail server refused or could not be reached; the message says which and why."""


def send_digest_email(view: DigestView, settings: Settings) -> int:
    """Send the digest to every recipient; returns how many were accepted."""
    if not settings.smtp_host:
        raise DeliveryError("NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both")
    msg = build_message(view, settings.email_from, settings.email_recipients)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds
    context = ssl.create_default_context()
    try:
        if settings.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=context)
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                client.login(settings.smtp_user, password)
            refused = client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # Never include credentials: only the host, port and the server's reason.
        raise DeliveryError(f"could not send the digest via {host}:{port}: {exc}") from None
    return len(settings.email_recipients) - len(refused)
