"""Publication dates from metadata strings and from article text (Indonesian and English)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dateparser

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


def parse_date(value: str | None) -> datetime | None:
    """A date string from metadata or text -> aware UTC datetime, or None if it is not a date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    for abbr, offset in _TZ_ABBREVIATIONS.items():
        text = re.sub(rf"\b{abbr}\b", offset, text)
    text = re.sub(r"\bpukul\b", "", text, flags=re.IGNORECASE)
    try:
        parsed = dateparser.parse(text, languages=DATE_LANGUAGES, settings=_SETTINGS)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.astimezone(UTC) if parsed else None


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
