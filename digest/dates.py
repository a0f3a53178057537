"""Publication dates from metadata strings and from article text (Indonesian and English)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import dateparser

from digest.validate import sane_date

__all__ = [
    "find_date_in_text",
    "is_date_line",
    "parse_date",
]

DATE_LANGUAGES = ["id", "en"]
# How far into a text a dateline or header date is looked for: header dates sit above the
# body, "Jumat (8/9/2023)" datelines in its first paragraph or two.
TEXT_DATE_SEARCH_CHARS = 1500
_TZ_ABBREVIATIONS = {"WIB": "+0700", "WITA": "+0800", "WIT": "+0900"}

_SETTINGS = {
    "DATE_ORDER": "DMY",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "PREFER_DATES_FROM": "past",
    "REQUIRE_PARTS": ["day", "month", "year"],
}

_ID_DAYS = r"(?:Senin|Selasa|Rabu|Kamis|Jumat|Jum'at|Sabtu|Minggu|Ahad)"
_EN_DAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS = (
    r"(?:Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|"
    r"Desember|January|February|March|May|June|July|August|October|December|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Agu|Aug|Sep|Sept|Okt|Oct|Nov|Des|Dec)\.?"
)
_TIME = r"(?:,?\s*(?:pukul\s*)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:WIB|WITA|WIT|UTC|GMT|[AP]M)?)?"
_PATTERNS = [
    re.compile(
        r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    ),
    re.compile(rf"(?:{_ID_DAYS}|{_EN_DAYS})\s*\((\d{{1,2}}/\d{{1,2}}/\d{{4}})\)"),
    re.compile(rf"(?:(?:{_ID_DAYS}|{_EN_DAYS}),?\s*)?\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}{_TIME}"),
    re.compile(rf"(?:{_EN_DAYS},?\s*)?{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}{_TIME}"),
]
_DATE_ONLY_LINE = re.compile(r"^[\w\s,./:()'-]{6,60}$")


_MONTH_NUMBERS = {
    name: i
    for i, names in enumerate(
        [
            ("januari", "january", "jan"),
            ("februari", "february", "feb"),
            ("maret", "march", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("agustus", "august", "agu", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov"),
            ("desember", "december", "des", "dec"),
        ],
        start=1,
    )
    for name in names
}
_NUMERIC_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DAY_MONTH_YEAR = re.compile(
    r"(?:[A-Za-z']+,?\s*)?(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})"
    r"(?:,?\s*(?:pukul\s*)?(\d{1,2})[:.](\d{2})\s*(WIB|WITA|WIT|UTC|GMT)?)?",
    re.IGNORECASE,
)
_TZ_HOURS = {"WIB": 7, "WITA": 8, "WIT": 9, "UTC": 0, "GMT": 0}


def _fast_parse(text: str) -> datetime | None:
    """The common shapes without dateparser (which costs ~5 ms a call): ISO 8601,
    d/m/yyyy, and "[day,] d Month yyyy [hh:mm] [WIB]" in Indonesian or English."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # "0001-01-01T00:00+07:00" is before year 1 in UTC
        pass
    try:
        if m := _NUMERIC_DMY.fullmatch(text):
            return datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)), tzinfo=UTC)
        m = _DAY_MONTH_YEAR.fullmatch(text)
        if m and m.group(2).lower() in _MONTH_NUMBERS:
            hour, minute = int(m.group(4) or 0), int(m.group(5) or 0)
            local = datetime(
                int(m.group(3)),
                _MONTH_NUMBERS[m.group(2).lower()],
                int(m.group(1)),
                hour,
                minute,
                tzinfo=UTC,
            )
            return local - timedelta(hours=_TZ_HOURS.get((m.group(6) or "UTC").upper(), 0))
    except (ValueError, OverflowError):  # 31 February and friends
        return None
    return None


def parse_date(value: str | None) -> datetime | None:
    """A date string from metadata or text -> aware UTC datetime, or None if it is not a date
    or lies outside the accepted range (``digest.validate.sane_date``: year 1900 to two days
    from now), so a year 0001 or 9999 never reaches the date arithmetic downstream."""
    if not isinstance(value, str) or not value.strip():
        return None
    return sane_date(_parse_date(value.strip()))


@lru_cache(maxsize=4096)
def _parse_date(text: str) -> datetime | None:
    fast = _fast_parse(text)
    if fast is not None:
        return fast
    for abbr, offset in _TZ_ABBREVIATIONS.items():
        text = re.sub(rf"\b{abbr}\b", offset, text)
    text = re.sub(r"\bpukul\b", "", text, flags=re.IGNORECASE)
    try:
        parsed = dateparser.parse(text, languages=DATE_LANGUAGES, settings=_SETTINGS)
        return parsed.astimezone(UTC) if parsed else None
    except (ValueError, OverflowError, TypeError):
        return None


def find_date_in_text(text: str) -> datetime | None:
    """The first full date (day, month, year) near the top of the text, or None."""
    head = text[:TEXT_DATE_SEARCH_CHARS]
    best: tuple[int, datetime] | None = None
    for pattern in _PATTERNS:
        for m in pattern.finditer(head):
            candidate = m.group(1) if m.groups() and m.group(1) else m.group(0)
            parsed = parse_date(candidate)
            if parsed and (best is None or m.start() < best[0]):
                best = (m.start(), parsed)
                break
    return best[1] if best else None


def is_date_line(line: str) -> bool:
    """True for a line that is only a date ("Jumat, 8 September 2023 09:09 WIB")."""
    line = line.strip()
    if not _DATE_ONLY_LINE.match(line):
        return False
    return any(p.fullmatch(line) for p in _PATTERNS) and parse_date(line) is not None
