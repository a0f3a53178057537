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
    "unsubscribe_header",
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


def unsubscribe_header(target: str, sender: Address) -> str:
    """The List-Unsubscribe value: the configured mailto:/https: target, else mail the sender."""
    target = target.strip()
    if not target:
        target = f"mailto:{sender.addr_spec}?subject=unsubscribe"
    if _CONTROL.search(target) or not re.match(r"^(mailto:|https://)\S+$", target, re.I):
        raise EmailConfigError(
            "NEWSDIGEST_EMAIL_UNSUBSCRIBE must be a mailto: or https: URL without spaces"
        )
    return f"<{target}>"


def build_message(
    view: DigestView, sender: str, recipients: list[str], unsubscribe: str = ""
) -> EmailMessage:
    """The digest as an email ready for SMTP."""
    if not sender or not sender.strip():
        raise EmailConfigError(
            "NEWSDIGEST_EMAIL_FROM is not set: set the sender address, e.g. digest@example.org"
        )
    if not recipients:
        raise EmailConfigError("NEWSDIGEST_EMAIL_TO is empty: set at least one address")
    msg = EmailMessage()
    n = view.story_count
    lead = view.all_stories[0].headline if n else "nothing new"
    subject = f"{view.title} {view.generated_at:%Y-%m-%d}: {n} stor{'y' if n == 1 else 'ies'}"
    msg["Subject"] = clean_header(f"{subject} · {lead}" if n else subject)
    from_addr = parse_address(sender, "NEWSDIGEST_EMAIL_FROM")
    msg["From"] = from_addr
    msg["To"] = [parse_address(r, "NEWSDIGEST_EMAIL_TO") for r in recipients]
    msg["Date"] = format_datetime(view.generated_at)
    msg["Message-ID"] = make_msgid(domain=from_addr.domain or "newsdigest")
    # A machine sends this: no auto-replies (RFC 3834); one-click way out (RFC 2369/8058).
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = unsubscribe_header(unsubscribe, from_addr)
    if unsubscribe.strip().lower().startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(render_text(view))
    msg.add_alternative(render_html(view), subtype="html")
    msg["Content-Language"] = view.lang  # after: making the alternative moves Content-*
    return msg
