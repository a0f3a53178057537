"""Removing scraping debris from article text.

The rules are data (``digest/rules/boilerplate.toml``, one section per language plus
``common``, and ``digest/rules/datelines.toml``), loaded by ``digest.rules``; this module only
applies them. A second, language-independent rule drops lines that one outlet repeats across
many of its articles (footers, newsletter prompts).

Cleaning never empties a text that has words: a rule that would remove everything that is
left removes nothing, and the skipped rule is logged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from digest.rules import RuleSet, find_dateline, rules_for

log = logging.getLogger(__name__)

# A photo caption or a name after "Reporter" is one short line: never swallow a paragraph.
MAX_FOLLOWER_CHARS = 300
# Datelines only ever open the article: look in this many first paragraphs, and only until
# the first paragraph longer than header lines are (titles, dates, bylines, teasers: the
# seeds' longest title has 13 words), so that cleaning again never takes a second one.
DATELINE_PARAGRAPHS = 3
HEADER_MAX_WORDS = 15
# The repeated-line rule: a line is outlet boilerplate when at least this many articles of one
# outlet, and at least this share of them, carry it. Three is the smallest count that cannot
# be a coincidence of two articles quoting the same sentence.
REPEATED_MIN_ARTICLES = 3
REPEATED_MIN_SHARE = 0.5
REPEATED_MAX_LINE_CHARS = 200  # long lines are content even when repeated (syndicated text)

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w")
# clean_text applies its rules again until nothing changes: removing one line or dateline can
# expose another ("BERLIN - JAKARTA (Reuters) - ..."). Real articles settle in one or two passes.
MAX_PASSES = 8


def normalize_text(text: str) -> str:
    """NFC, no invisible or control characters, one space between words, '\\n' line ends."""
    text = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def _matches(patterns: Sequence[re.Pattern[str]], line: str) -> bool:
    return any(p.match(line) for p in patterns)


def strip_dateline(paragraph: str, lang: str | None = None) -> tuple[str, str | None]:
    """Remove the dateline prefix ("TEMPO.CO, Jakarta - "); return the rest and the outlet
    it names. Only ever the prefix: a paragraph that is nothing but a dateline stays."""
    found = find_dateline(paragraph, lang)
    if found is None:
        return paragraph, None
    return paragraph[found.end :].lstrip(), found.outlet


def find_dateline_outlet(text: str, lang: str | None = None) -> str | None:
    """The outlet a dateline names ("REPUBLIKA.CO.ID" -> "REPUBLIKA.CO.ID"), if any."""
    paragraphs = [p for p in normalize_text(text).split("\n") if p][: DATELINE_PARAGRAPHS + 6]
    for p in paragraphs:
        found = find_dateline(p, lang)
        if found and found.outlet:
            return found.outlet
    return None


def guess_outlet_from_signatures(text: str, lang: str | None = None) -> str | None:
    """An outlet whose typical debris the raw text carries ("SCROLL TO CONTINUE..." -> detik)."""
    lines = [line for line in normalize_text(text).split("\n") if line]
    for outlet, patterns in rules_for(lang).outlet_signatures.items():
        if any(_matches(patterns, line) for line in lines):
            return outlet
    return None


def clean_text(text: str, lang: str | None = None) -> str:
    """Article text without debris: paragraphs separated by one blank line.

    Cleaning again changes nothing (the rules are applied until nothing more matches), and
    a text with words never comes out empty (see the module docstring).
    """
    rules = rules_for(lang)
    out, changed = _clean_once(text, rules, lang)
    for _ in range(MAX_PASSES):
        if not changed:
            break
        out, changed = _clean_once(out, rules, lang)
    return out


def _clean_once(text: str, rules: RuleSet, lang: str | None) -> tuple[str, bool]:
    """One pass of the rules; whether any rule changed a line (else the result is final)."""
    lines = [line for line in normalize_text(text).split("\n") if line]
    kept: list[str] = []
    fired: list[str] = []
    skip_next = False
    for n, line in enumerate(lines):
        if skip_next:
            skip_next = False
            if len(line) <= MAX_FOLLOWER_CHARS:
                continue
        if _matches(rules.cut_from, line):
            fired.append(f"cut_from at line {n + 1}")
            break
        if _matches(rules.drop_with_next, line):
            fired.append("drop_with_next")
            skip_next = True
            continue
        if _matches(rules.drop_lines, line):
            fired.append("drop_lines")
            continue
        before = line
        for pattern in rules.inline:
            line = pattern.sub(" ", line)
        if line != before:
            fired.append("inline")
            line = _SPACES.sub(" ", line).strip()
        if line:
            kept.append(line)
    if not any(map(_has_words, kept)) and any(map(_has_words, lines)):
        # Every line looked like debris: that says more about the rules than about the text.
        log.warning(
            "cleaning rules would remove all %d lines (%s): text kept as it was; first line %.80r",
            len(lines),
            ", ".join(dict.fromkeys(fired)),
            lines[0],
        )
        kept, fired = lines, []
    for i in range(min(DATELINE_PARAGRAPHS, len(kept))):
        stripped, _ = strip_dateline(kept[i], lang)
        if stripped != kept[i]:
            kept[i] = _capitalize_first(stripped)
            fired.append("dateline")
            break
        if len(kept[i].split()) > HEADER_MAX_WORDS:
            break  # the body has begun: a dash after two words of it is not a dateline
    return "\n\n".join(kept), bool(fired)


def _has_words(text: str) -> bool:
    return _WORD.search(text) is not None


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
        out[outlet] = [_drop_lines(t, boiler, outlet) for t in texts]
    return out


def _drop_lines(text: str, boiler: set[str], outlet: str) -> str:
    kept = "\n".join(line for line in text.split("\n") if _line_key(line) not in boiler).strip()
    if _has_words(kept) or not _has_words(text):
        return kept
    log.warning("repeated-lines rule would remove all of an article of %s: kept as it was", outlet)
    return text
