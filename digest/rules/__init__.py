"""Every cleaning rule, as data: the TOML files beside this module, loaded and compiled once.

Rule kinds, one file each (each file says how its rules are read):

- ``boilerplate.toml``: line rules per language (``drop_lines``, ``drop_with_next``,
  ``cut_from``, ``inline``, ``outlet_signatures``), applied by ``digest.clean``;
- ``datelines.toml``: the dateline that opens an article, recognised here once
  (:func:`find_dateline`) for cleaning and for sentence units;
- ``paragraphs.toml``: debris paragraphs of extracted web pages, used by ``digest.extract``;
- ``sentences.toml``: what a summary sentence may not be, used by ``digest.sentences``.

Code elsewhere only applies these rules; adding a phrase or a pattern is a change to data.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from digest.lang import normalize_lang

BOILERPLATE_FILE = "boilerplate.toml"
DATELINES_FILE = "datelines.toml"
PARAGRAPHS_FILE = "paragraphs.toml"
SENTENCES_FILE = "sentences.toml"

LINE_RULE_KINDS = ("drop_lines", "drop_with_next", "cut_from", "inline")
# What may follow a dateline: it is only a prefix, never the whole paragraph.
_HAS_TEXT = re.compile(r"\w")


@lru_cache(maxsize=8)
def load(name: str) -> dict:
    """The parsed TOML rule file ``name`` of this package."""
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


def _compile(patterns: Iterable[str], *, full: bool) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"(?:{p})\Z" if full else p, re.IGNORECASE) for p in patterns)


def _sections(raw: dict, lang: str | None) -> list[str]:
    """ "common" plus the language's section; an unknown language gets every section."""
    lang = normalize_lang(lang)
    return ["common"] + ([lang] if lang in raw else [k for k in raw if k != "common"])


# ------------------------------------------------------------------------------ line rules


@dataclass(frozen=True)
class RuleSet:
    """Compiled line rules for one language (common rules included)."""

    drop_lines: tuple[re.Pattern[str], ...] = ()
    drop_with_next: tuple[re.Pattern[str], ...] = ()
    cut_from: tuple[re.Pattern[str], ...] = ()
    inline: tuple[re.Pattern[str], ...] = ()
    outlet_signatures: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)


@lru_cache(maxsize=32)
def rules_for(lang: str | None) -> RuleSet:
    """Line rules for ``lang``: common ones plus the language's; unknown language: all.

    A text whose language we could not tell still gets every rule we have, because debris
    lines are recognisable whatever the body's language is.
    """
    raw = load(BOILERPLATE_FILE)
    merged: dict[str, list[str]] = defaultdict(list)
    signatures: dict[str, list[str]] = defaultdict(list)
    for name in _sections(raw, lang):
        section = raw.get(name, {})
        for key in LINE_RULE_KINDS:
            merged[key].extend(section.get(key, []))
        for outlet, pats in section.get("outlet_signatures", {}).items():
            signatures[outlet].extend(pats)
    return RuleSet(
        drop_lines=_compile(merged["drop_lines"], full=True),
        drop_with_next=_compile(merged["drop_with_next"], full=True),
        cut_from=_compile(merged["cut_from"], full=True),
        inline=_compile(merged["inline"], full=False),
        outlet_signatures={k: _compile(v, full=True) for k, v in signatures.items()},
    )


# ------------------------------------------------------------------------------- datelines


@dataclass(frozen=True)
class Dateline:
    """A dateline opening a paragraph: it ends at ``end``; ``outlet`` when it names one."""

    end: int
    outlet: str | None = None


@dataclass(frozen=True)
class _DatelineShape:
    dash: re.Pattern[str]
    word: re.Pattern[str]
    domain: re.Pattern[str]
    max_chars: int
    max_words: int
    openers: str


@lru_cache(maxsize=32)
def _dateline_patterns(lang: str | None) -> tuple[re.Pattern[str], ...]:
    raw = load(DATELINES_FILE)["patterns"]
    return _compile((p for name in _sections(raw, lang) for p in raw.get(name, [])), full=False)


@lru_cache(maxsize=1)
def _dateline_shape() -> _DatelineShape:
    s = load(DATELINES_FILE)["shape"]
    return _DatelineShape(
        dash=re.compile(s["dash"]),
        word=re.compile(s["word"]),
        domain=re.compile(s["domain"], re.IGNORECASE),
        max_chars=int(s["max_chars"]),
        max_words=int(s["max_words"]),
        openers=s["openers"],
    )


def _shape_end(paragraph: str) -> int:
    """End of a dateline of the general shape (see datelines.toml ``[shape]``), else 0."""
    shape = _dateline_shape()
    m = shape.dash.search(paragraph, 0, shape.max_chars + 4)
    if not m or m.start() == 0:
        return 0
    first = paragraph[m.end() : m.end() + 1]
    if not (first.isupper() or first.isdigit() or (first and first in shape.openers)):
        return 0
    prefix = paragraph[: m.start()].strip()
    tokens = re.sub(r"\([^)]*\)", lambda g: g.group(0).replace(" ", "_"), prefix).split()
    if not tokens or len(tokens) > shape.max_words:
        return 0
    if not all(shape.word.match(t.replace("_", " ")) for t in tokens):
        return 0
    # One capitalised word ("Rimanews -") is a dateline; a short capitalised name phrase
    # with no comma, parenthesis, web-domain or ALL-CAPS word is more likely a subject.
    signal = (
        len(tokens) == 1
        or "," in prefix
        or "(" in prefix
        or shape.domain.search(prefix)
        or any(t.isupper() and len(t) >= 3 for t in tokens)
    )
    return m.end() if signal else 0


def find_dateline(paragraph: str, lang: str | None = None) -> Dateline | None:
    """The dateline opening ``paragraph``, if any: a known outlet's pattern first, then the
    general shape. Never the whole paragraph: text must follow it."""
    for pattern in _dateline_patterns(lang):
        m = pattern.match(paragraph)
        if m and _HAS_TEXT.search(paragraph, m.end()):
            outlet = next((g for g in m.groups() if g), None) if m.groups() else None
            return Dateline(m.end(), outlet)
    end = _shape_end(paragraph)
    if end and _HAS_TEXT.search(paragraph, end):
        return Dateline(end)
    return None


def dateline_end(paragraph: str, lang: str | None = None) -> int:
    """Length of the dateline opening ``paragraph`` (0 when there is none)."""
    found = find_dateline(paragraph, lang)
    return found.end if found else 0


# ---------------------------------------------------------------- paragraphs and sentences


@dataclass(frozen=True)
class ParagraphRules:
    """Debris paragraphs of extracted pages (see paragraphs.toml for each kind)."""

    read_more_paragraph: re.Pattern[str]
    read_more_alone: re.Pattern[str]
    embed_attribution: re.Pattern[str]
    photo_credit: re.Pattern[str]
    label_value: re.Pattern[str]
    date_or_time: re.Pattern[str]
    ad_marker: re.Pattern[str]
    parenthesized: re.Pattern[str]
    byline: re.Pattern[str]
    sentence_end: re.Pattern[str]
    placeholder: re.Pattern[str]


@lru_cache(maxsize=1)
def paragraph_rules() -> ParagraphRules:
    raw = load(PARAGRAPHS_FILE)
    read_more = "|".join(raw["read_more"])
    compiled = {}
    for kind in ParagraphRules.__dataclass_fields__:
        spec = raw[kind]
        flags = re.IGNORECASE if spec.get("ignore_case") else 0
        compiled[kind] = re.compile(spec["pattern"].replace("{read_more}", read_more), flags)
    return ParagraphRules(**compiled)


@dataclass(frozen=True)
class SentenceRules:
    """``debris``: searched in the lower-cased sentence; ``footer``: matched at its start."""

    debris: re.Pattern[str]
    footer: re.Pattern[str]


@lru_cache(maxsize=1)
def sentence_rules() -> SentenceRules:
    raw = load(SENTENCES_FILE)
    return SentenceRules(
        # matched against the lower-cased sentence: twice as fast as re.IGNORECASE
        debris=re.compile("|".join(raw["debris"])),
        footer=re.compile(r"^(?:" + "|".join(raw["footer"]) + r")\b", re.IGNORECASE),
    )


__all__ = [
    "Dateline",
    "ParagraphRules",
    "RuleSet",
    "SentenceRules",
    "dateline_end",
    "find_dateline",
    "load",
    "paragraph_rules",
    "rules_for",
    "sentence_rules",
]
