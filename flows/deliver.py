"""Delivering the digest by SMTP (stdlib smtplib; the message is built in digest.email).

Errors are sorted into two kinds: a *permanent* one (authentication refused, a 5xx reply, a
TLS mismatch) can never succeed by trying again and is not retried; a *transient* one (no
connection, a timeout, a 4xx reply) is retried after each of ``NEWSDIGEST_EMAIL_RETRY_DELAYS``.
Either way the digest stays pending in the database and the next run sends it.
"""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
import ssl
import time
from email.message import EmailMessage

from digest.email import EmailConfigError, build_message, parse_address, unsubscribe_header
from digest.errors import OutputError
from digest.render import DigestView, render_notification
from digest.settings import Settings

log = logging.getLogger("newsdigest.email")


class DeliveryError(OutputError, RuntimeError):
    """The mail server refused or could not be reached; the message says which and why."""

    permanent = False


class PermanentDeliveryError(DeliveryError):
    """An error that trying again cannot fix (credentials, a 5xx reply, TLS settings)."""

    permanent = True


def _classify(exc: BaseException, where: str) -> DeliveryError:
    """The one-line error for ``exc``; never includes credentials."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(
            f"the mail server {where} refused the login ({exc.smtp_code}): "
            "check NEWSDIGEST_SMTP_USER and the password"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        reply = "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for rcpt, (code, msg) in exc.recipients.items()
        )
        cls = PermanentDeliveryError if codes and all(c >= 500 for c in codes) else DeliveryError
        return cls(f"the mail server {where} refused every recipient: {reply}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(
            f"the mail server {where} does not support this ({exc}): check NEWSDIGEST_SMTP_SECURITY"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error
        text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
        cls = PermanentDeliveryError if exc.smtp_code >= 500 else DeliveryError
        return cls(f"the mail server {where} answered {exc.smtp_code} {text}".strip())
    if isinstance(exc, ssl.SSLError):
        return PermanentDeliveryError(
            f"TLS with {where} failed ({exc.reason or exc}): check NEWSDIGEST_SMTP_SECURITY "
            "(ssl for port 465, starttls for 587)"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"the mail server {where} closed the connection: {exc}")
    return DeliveryError(f"could not send the digest via {where}: {exc}")


def _send_once(msg: EmailMessage, settings: Settings, password: str | None) -> int:
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds
    context = ssl.create_default_context()
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, password or "")
        refused = client.send_message(msg)
    return len(settings.email_recipients) - len(refused)


def send_message(
    msg: EmailMessage,
    settings: Settings,
    password: str | None = None,
    delays: list[float] | None = None,
) -> int:
    """Send ``msg``; retry transient errors after each of ``delays`` seconds, never permanent
    ones. Returns how many recipients were accepted; raises DeliveryError."""
    if not settings.smtp_host:
        raise PermanentDeliveryError(
            "NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both"
        )
    if password is None and settings.smtp_password is not None:
        password = settings.smtp_password.get_secret_value()
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    waits = list(settings.email_retry_delays if delays is None else delays)
    attempt = 0
    while True:
        attempt += 1
        try:
            return _send_once(msg, settings, password)
        except (OSError, smtplib.SMTPException) as exc:
            err = _classify(exc, where)
        if err.permanent or not waits:
            raise err
        wait = waits.pop(0)
        log.warning("email attempt %d failed: %s; trying again in %gs", attempt, err, wait)
        time.sleep(wait)


def message_to_text(msg: EmailMessage) -> str:
    return msg.as_string(policy=email.policy.SMTP)


def message_from_text(text: str, recipients: list[str]) -> EmailMessage:
    """A kept message, addressed to today's recipients (they may have changed since)."""
    msg = email.message_from_string(text, policy=email.policy.default)
    del msg["To"]
    msg["To"] = [parse_address(r, "NEWSDIGEST_EMAIL_TO") for r in recipients]
    return msg  # type: ignore[return-value]


def send_digest_email(view: DigestView, settings: Settings) -> int:
    """Build and send the digest to every recipient; returns how many were accepted."""
    if not settings.smtp_host:
        raise DeliveryError("NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both")
    msg = build_message(
        view, settings.email_from, settings.email_recipients, settings.email_unsubscribe
    )
    return send_message(msg, settings, delays=[])


def check_delivery_settings(settings: Settings) -> None:
    """Raise EmailConfigError (one line) when email or notifications are asked for but cannot
    work. Called before a run starts, so a typo costs no ingest and no retries."""
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
                "NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_SMTP_HOST is not: set both, "
                "or unset NEWSDIGEST_EMAIL_TO"
            )
        if not 0 < settings.smtp_port < 65536:
            raise EmailConfigError(f"NEWSDIGEST_SMTP_PORT {settings.smtp_port} is not a TCP port")
        has_password = settings.smtp_password is not None or settings.smtp_password_block
        if settings.smtp_user and not has_password:
            raise EmailConfigError(
                "NEWSDIGEST_SMTP_USER is set but no password: set NEWSDIGEST_SMTP_PASSWORD "
                "or NEWSDIGEST_SMTP_PASSWORD_BLOCK"
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


__all__ = [
    "DeliveryError",
    "EmailConfigError",
    "NotifyError",
    "PermanentDeliveryError",
    "check_delivery_settings",
    "message_from_text",
    "message_to_text",
    "send_digest_email",
    "send_message",
    "send_notifications",
]
