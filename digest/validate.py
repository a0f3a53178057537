"""Values from outside checked and normalised at the boundary (pure: no Prefect, no database).

Every source adapter's articles go through :func:`validate_article` (``flows.steps``), after
the JSON field types of format A records were checked by ``digest.formats.parse_article``.
What it guarantees:

- text fields are ``str`` without control characters, bidi overrides, invisible formatting
  characters or lone surrogates (which PostgreSQL and UTF-8 encoders refuse); single-line
  fields (title, outlet, language, URL) hold no line breaks; a title is at most
  :data:`MAX_TITLE_CHARS` characters (scripts without spaces between words included);
- a URL is ``http`` or ``https`` with a host, else it is dropped (and a warning logged);
- a publication date lies between :data:`EARLIEST_DATE` and :data:`MAX_FUTURE` from now,
  else it is dropped (``published=None``) and a warning logged, so no stored date can overflow
  the date arithmetic of grouping and digests;
- a field of the wrong type rejects its article alone, with one line saying which field.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from digest.models import Article

__all__ = [
    "EARLIEST_DATE",
    "MAX_FUTURE",
    "MAX_TITLE_CHARS",
    "RecordRejected",
    "cap_chars",
    "check_date",
    "check_url",
    "clean_chars",
    "http_url",
    "one_line",
    "safe_label",
    "sane_date",
    "validate_article",
]

log = logging.getLogger("newsdigest.validate")

# News is not older than this; year 0001 and friends are placeholders or bugs.
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)
# Clocks and time zones of outlets are off by hours, not by days.
MAX_FUTURE = timedelta(days=2)
# The longest title kept (about three lines of a digest); longer ones are cut at a word
# boundary when there is one, else after this many characters (Thai, Chinese, Japanese).
MAX_TITLE_CHARS = 200
# Outlet names, language codes and ids longer than this are not names.
MAX_NAME_CHARS = 200
MAX_URL_CHARS = 2048
# Longer ids are replaced by a hash of themselves (the database keeps 64 characters).
MAX_ID_CHARS = 64
# A language tag: "id", "en-US", "zh-Hant-TW" (BCP 47 shapes); anything else is dropped.
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")

# C0 and C1 controls except tab and line feed (carriage returns become line feeds first).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Formatting characters that change how text looks or reads without being text: bidi
# embeddings, overrides and isolates (the "Trojan Source" characters), the BOM, word joiner,
# invisible operators, interlinear annotation, soft hyphen, zero-width space. Zero-width
# (non-)joiners stay: Persian, Indic scripts and emoji need them.
_FORMATTING = re.compile(
    "[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


class RecordRejected(ValueError):
    """A record that cannot be an article; the message says which field and why, in one line."""


def clean_chars(text: str) -> str:
    """``text`` without control, formatting or lone surrogate characters; line ends '\\n'."""
    if not text:
        return ""
    text = _SURROGATES.sub("\ufffd", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
    text = _CONTROLS.sub("", text)
    return _FORMATTING.sub("", text)


def one_line(text: str) -> str:
    """Cleaned text on one line: line breaks and runs of white space become one space."""
    return " ".join(clean_chars(text).split())  # str.split() knows every line separator


def cap_chars(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near the
    end, never inside a base character and its combining marks; '…' marks a cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    # Do not leave a combining mark (Thai vowels and tones, accents) without its base.
    while len(cut) > 1 and unicodedata.combining(text[len(cut)]):
        cut = cut[:-1]
    return cut.rstrip(" ,;:-–—") + "…"


def sane_date(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """``value`` as aware UTC when it lies in the accepted range, else None."""
    if value is None:
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        latest = (now or datetime.now(UTC)) + MAX_FUTURE
    except (OverflowError, ValueError):
        return None
    if value < EARLIEST_DATE or value > latest:
        return None
    return value


def check_date(value: datetime | None, item: str, now: datetime | None = None) -> datetime | None:
    """:func:`sane_date`, logging a warning when a date is dropped."""
    checked = sane_date(value, now)
    if value is not None and checked is None:
        log.warning(
            "%s: publication date %s is out of range (%s to %s from now): ignored",
            item,
            _show_date(value),
            EARLIEST_DATE.year,
            f"{MAX_FUTURE.days} days",
        )
    return checked


def _show_date(value: datetime) -> str:
    try:
        return value.isoformat()
    except (OverflowError, ValueError):  # pragma: no cover - isoformat of any datetime works
        return repr(value)


def http_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) URL with a host and no white space or control
    characters, else None."""
    if not value:
        return None
    url = value.strip()
    if len(url) > MAX_URL_CHARS or _CONTROLS.search(url) or _FORMATTING.search(url):
        return None
    if any(c.isspace() for c in url) or _SURROGATES.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def check_url(value: str | None, item: str) -> str | None:
    """:func:`http_url`, logging a warning when a URL is dropped."""
    url = http_url(value)
    if value and url is None:
        log.warning("%s: url %r is not an http(s) URL: ignored", item, one_line(value)[:100])
    return url


def _name(value: str | None, limit: int = MAX_NAME_CHARS) -> str | None:
    if value is None:
        return None
    value = one_line(value)
    return cap_chars(value, limit) if value else None


def _article_id(value: str | None, item: str) -> str:
    value = one_line(value or "")
    if len(value) > MAX_ID_CHARS:
        digest = hashlib.sha1(value.encode("utf-8")).hexdigest()[:32]
        log.warning(
            "%s: id longer than %d characters: replaced by id-%s", item, MAX_ID_CHARS, digest
        )
        return f"id-{digest}"
    return value


def _lang(value: str | None, item: str) -> str | None:
    value = one_line(value or "")
    if not value:
        return None
    if not _LANG_TAG.match(value) and value.lower() not in ("indonesian", "english"):
        log.warning("%s: lang %r is not a language tag: ignored", item, value[:40])
        return None
    return value


def validate_article(article: Article) -> Article:
    """The article with every field checked and normalised (see the module docstring).

    Raises RecordRejected when the text is not a string.
    """
    item = safe_label(article.origin or article.url or article.id or "article")
    if not isinstance(article.text, str):
        raise RecordRejected(f'"text" must be a string, not {_json_type(article.text)}')
    for name in ("title", "url", "source", "lang", "id", "origin"):
        value = getattr(article, name)
        if value is not None and not isinstance(value, str):
            raise RecordRejected(f'"{name}" must be a string or null, not {_json_type(value)}')
    if article.published is not None and not isinstance(article.published, datetime):
        raise RecordRejected("publication date is not a date")
    return replace(
        article,
        id=_article_id(article.id, item),
        title=cap_chars(one_line(article.title or ""), MAX_TITLE_CHARS),
        text=clean_chars(article.text),
        url=check_url(article.url, item),
        source=_name(article.source),
        lang=_lang(article.lang, item),
        published=check_date(article.published, item),
        origin=cap_chars(safe_label(article.origin), MAX_URL_CHARS) if article.origin else None,
        tags=[t for t in (_name(str(t)) for t in article.tags or []) if t],
    )


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def safe_label(value: str) -> str:
    """A file name or URL fit for a message or a database column: lone surrogates (bytes a
    file name held that are not UTF-8) become U+FFFD, controls are removed."""
    return one_line(value)
