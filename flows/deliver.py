"""Delivering the digest by SMTP (stdlib smtplib; the message is built in digest.email)."""

from __future__ import annotations

import smtplib
import ssl

from digest.email import EmailConfigError, build_message, parse_address, unsubscribe_header
from digest.errors import OutputError
from digest.render import DigestView, render_notification
from digest.settings import Settings


class DeliveryError(OutputError, RuntimeError):
    """The mail server refused or could not be reached; the message says which and why."""


def send_digest_email(view: DigestView, settings: Settings) -> int:
    """Send the digest to every recipient; returns how many were accepted."""
    if not settings.smtp_host:
        raise DeliveryError("NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both")
    msg = build_message(
        view, settings.email_from, settings.email_recipients, settings.email_unsubscribe
    )
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


def check_delivery_settings(settings: Settings) -> None:
    """Raise EmailConfigError (one line) when email is asked for but cannot be sent."""
    if settings.email_recipients:
        if not settings.email_from.strip():
            raise EmailConfigError(
                "NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_EMAIL_FROM is not",
                "set the sender address, e.g. NEWSDIGEST_EMAIL_FROM=digest@example.org",
            )
        sender = parse_address(settings.email_from, "NEWSDIGEST_EMAIL_FROM")
        for r in settings.email_recipients:
            parse_address(r, "NEWSDIGEST_EMAIL_TO")
        unsubscribe_header(settings.email_unsubscribe, sender)
        if not settings.smtp_host:
            raise EmailConfigError(
                "NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both"
            )
    if settings.notify_targets:
        import apprise

        bad = [u for u in settings.notify_targets if apprise.Apprise.instantiate(u) is None]
        if bad:
            raise EmailConfigError(
                f"NEWSDIGEST_NOTIFY_URLS: {len(bad)} URL(s) not understood by Apprise",
                "see https://github.com/caronc/apprise/wiki for the URL forms",
            )


class NotifyError(OutputError, RuntimeError):
    """A chat or push service did not take the notification."""


def send_notifications(view: DigestView, settings: Settings, digest_path: str | None) -> int:
    """A short digest (headlines, counts, a link) to every NEWSDIGEST_NOTIFY_URLS service
    through Apprise; returns how many services took it."""
    import apprise

    page = None
    if digest_path and settings.public_url:
        from pathlib import Path

        page = settings.public_url.rstrip("/") + "/" + Path(digest_path).with_suffix(".html").name
    title, body = render_notification(view, settings.notify_max_stories, page)
    sent = 0
    failed = 0
    for url in settings.notify_targets:
        target = apprise.Apprise()
        if not target.add(url):
            failed += 1
            continue
        if target.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN):
            sent += 1
        else:
            failed += 1
    if failed:
        # Apprise URLs carry tokens: say how many failed, never which URL.
        raise NotifyError(f"{failed} of {failed + sent} notification services failed")
    return sent
