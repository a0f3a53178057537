"""Removing scraping debris from article text.

The rules are data (``digest/rules/boilerplate.toml``, one section per language plus
``common``); this module only applies them. A second, language-independent rule drops lines
that one outlet repeats across many of its articles (footers, newsletter prompts).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from digest.lang import normalize_lang

RULES_FILE = "boilerplate.toml"

# A photo caption or a name after "Reporter" is one short line: never swallow a paragraph.
MAX_FOLLOWER_CHARS = 300
# Datelines only ever open the article: look in this many first paragraphs.
DATELINE_PARAGRAPHS = 3
# The repeated-line rule: a line is outlet boilerplate when at least this many articles of one
# outlet, and at least this share of them, carry it. Three is the smallest count that cannot
# be a coincidence of two articles quoting the same sentence.
REPEATED_MIN_ARTICLES = 3
REPEATED_MIN_SHARE = 0.5
REPEATED_MAX_LINE_CHARS = 200  # long lines are content even when repeated (syndicated text)

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RuleSet:
    """Compiled cleaning rules for one language (common rules included)."""

    drop_lines: tuple[re.Pattern[str], ...] = ()
    drop_with_next: tuple[re.Pattern[str], ...] = ()
    cut_from: tuple[re.Pattern[str], ...] = ()
    inline: tuple[re.Pattern[str], ...] = ()
    datelines: tuple[re.Pattern[str], ...] = ()
    outlet_signatures: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _raw_rules() -> dict:
    return tomllib.loads(resources.files("digest.rules").joinpath(RULES_FILE).read_text("utf-8"))


def _compile(patterns: Iterable[str], *, full: bool) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        out.append(re.compile(rf"(?:{p})\Z" if full else p, re.IGNORECASE))
    return tuple(out)


@lru_cache(maxsize=32)
def rules_for(lang: str | None) -> RuleSet:
    """Rules for ``lang``: common ones plus the language's; unknown language: all languages'.

    A text whose language we could not tell still gets every rule we have, because debris
    lines are recognisable whatever the body's language is.
    """
    raw = _raw_rules()
    lang = normalize_lang(lang)
    sections = ["common"] + ([lang] if lang in raw else [k for k in raw if k != "common"])
    merged: dict[str, list] = defaultdict(list)
    signatures: dict[str, list[str]] = defaultdict(list)
    for name in sections:
        section = raw.get(name, {})
        for key in ("drop_lines", "drop_with_next", "cut_from", "inline", "datelines"):
            merged[key].extend(section.get(key, []))
        for outlet, pats in section.get("outlet_signatures", {}).items():
            signatures[outlet].extend(pats)
    return RuleSet(
        drop_lines=_compile(merged["drop_lines"], full=True),
        drop_with_next=_compile(merged["drop_with_next"], full=True),
        cut_from=_compile(merged["cut_from"], full=True),
        inline=_compile(merged["inline"], full=False),
        datelines=_compile(merged["datelines"], full=False),
        outlet_signatures={k: _compile(v, full=True) for k, v in signatures.items()},
    )


def normalize_text(text: str) -> str:
    """NFC, no invisible or control characters, one space between words, '\\n' line ends."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def _matches(patterns: Sequence[re.Pattern[str]], line: str) -> bool:
    return any(p.match(line) for p in patterns)


def strip_dateline(paragraph: str, rules: RuleSet) -> tuple[str, str | None]:
    """Remove a dateline prefix ("TEMPO.CO, Jakarta - "); return the rest and the outlet named."""
    for pattern in rules.datelines:
        m = pattern.match(paragraph)
        if m and m.end() < len(paragraph):
            outlet = next((g for g in m.groups() if g), None) if m.groups() else None
            return paragraph[m.end() :].lstrip(), outlet
    return paragraph, None


def find_dateline_outlet(text: str, lang: str | None = None) -> str | None:
    """The outlet a dateline names ("REPUBLIKA.CO.ID" -> "REPUBLIKA.CO.ID"), if any."""
    rules = rules_for(lang)
    paragraphs = [p for p in normalize_text(text).split("\n") if p][: DATELINE_PARAGRAPHS + 6]
    for p in paragraphs:
        _, outlet = strip_dateline(p, rules)
        if outlet:
            return outlet
    return None


def guess_outlet_from_signatures(text: str, lang: str | None = None) -> str | None:
    """An outlet whose typical debris the raw text carries ("SCROLL TO CONTINUE..." -> detik)."""
    lines = [line for line in normalize_text(text).split("\n") if line]
    for outlet, patterns in rules_for(lang).outlet_signatures.items():
        if any(_matches(patterns, line) for line in lines):
            return outlet
    return None


def clean_text(text: str, lang: str | None = None) -> str:
    """Article text without debris: paragraphs separated by one blank line."""
    rules = rules_for(lang)
    lines = normalize_text(text).split("\n")
    kept: list[str] = []
    skip_next = False
    for line in lines:
        if not line:
            continue
        if skip_next:
            skip_next = False
            if len(line) <= MAX_FOLLOWER_CHARS:
                continue
        if _matches(rules.cut_from, line):
            break
        if _matches(rules.drop_with_next, line):
            skip_next = True
            continue
        if _matches(rules.drop_lines, line):
            continue
        for pattern in rules.inline:
            line = pattern.sub(" ", line)
        line = _SPACES.sub(" ", line).strip()
        if line:
            kept.append(line)
    for i in range(min(DATELINE_PARAGRAPHS, len(kept))):
        stripped, _ = strip_dateline(kept[i], rules)
        if stripped != kept[i]:
            kept[i] = _capitalize_first(stripped)
            break
    return "\n\n".join(kept)


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def _line_key(line: str) -> str:
    return _SPACES.sub(" ", line.casefold()).strip()


def repeated_lines(texts: Sequence[str]) -> set[str]:
    """Normalised lines carried by enough of one outlet's ``texts`` to be its boilerplate."""
    if len(texts) < REPEATED_MIN_ARTICLES:
        return set()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(
            {
                _line_key(line)
                for line in text.split("\n")
                if 0 < len(line) <= REPEATED_MAX_LINE_CHARS
            }
        )
    needed = max(REPEATED_MIN_ARTICLES, REPEATED_MIN_SHARE * len(texts))
    return {line for line, n in counts.items() if n >= needed}


def drop_repeated_lines(texts_by_outlet: dict[str, list[str]]) -> dict[str, list[str]]:
    """Apply :func:`repeated_lines` per outlet; texts keep their order."""
    out: dict[str, list[str]] = {}
    for outlet, texts in texts_by_outlet.items():
        boiler = repeated_lines(texts)
        if not boiler:
            out[outlet] = list(texts)
            continue
        out[outlet] = [
            "\n".join(line for line in t.split("\n") if _line_key(line) not in boiler).strip()
            for t in texts
        ]
    return out
