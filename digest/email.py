"""Building the digest email: multipart/alternative, plain text first, then HTML."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from digest.errors import ConfigError
from digest.render import DigestView, render_html, render_text

__all__ = [
    "EmailConfigError",
    "build_message",
    "clean_header",
    "parse_address",
]

SUBJECT_MAX_CHARS = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class EmailConfigError(ConfigError, ValueError):
    """An address in the email settings is unusable; the message says which."""


def clean_header(value: str) -> str:
    """Header values never carry line breaks or control characters (no header injection)."""
    return " ".join(_CONTROL.sub(" ", value).split())[:SUBJECT_MAX_CHARS]


def parse_address(value: str, setting: str) -> Address:
    if _CONTROL.search(value):
        raise EmailConfigError(f"{setting} contains a line break or control character")
    name, addr = parseaddr(value)
    if not addr or "@" not in addr or addr.count("@") != 1:
        raise EmailConfigError(f"{setting}: {value!r} is not an email address")
    user, domain = addr.split("@")
    return Address(display_name=name, username=user, domain=domain)


def build_message(view: DigestView, sender: str, recipients: list[str]) -> EmailMessage:
    """The digest as an email ready for SMTP."""
    if not recipients:
        raise EmailConfigError("NEWSDIGEST_EMAIL_TO is empty: set at least one address")
    msg = EmailMessage()
    n = len(view.stories)
    lead = view.stories[0].headline if view.stories else "nothing new"
    subject = f"{view.title} {view.generated_at:%Y-%m-%d}: {n} stor{'y' if n == 1 else 'ies'}"
    msg["Subject"] = clean_header(f"{subject} · {lead}" if view.stories else subject)
    msg["From"] = parse_address(sender, "NEWSDIGEST_EMAIL_FROM")
    msg["To"] = [parse_address(r, "NEWSDIGEST_EMAIL_TO") for r in recipients]
    msg["Date"] = format_datetime(view.generated_at)
    msg["Message-ID"] = make_msgid(domain=msg["From"].addresses[0].domain or "newsdigest")
    msg.set_content(render_text(view))
    msg.add_alternative(render_html(view), subtype="html")
    return msg
