"""Per-article features for story grouping: field term counts, names and numbers, shingles.

Pure functions, no state: what an article *is* for the grouper, before any IDF weighting.
Fields follow Miranda et al. (EMNLP 2018): the title, the body and the named entities /
figures are separate sub-vectors, so a story can be matched on its names even when the
wording (or the language) differs.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np

from digest.lang import WORD_RE, detect_language, normalize_lang, stemmer, stop_words
from digest.models import Article

# Body terms beyond this many are ignored: the lead carries the event, and it bounds the cost
# of very long pages (most news bodies are 200-800 words).
BODY_MAX_WORDS = 600
# Scores are read from the title and this many first words of the body (older results
# quoted further down are background, not the event).
LEAD_WORDS = 80
# Shingles (word n-grams) for near-duplicate detection.
SHINGLE_WORDS = 4
SHINGLE_MAX = 400

# Connectors that may sit inside a multi-word name ("Bank of America", "Ibnu bin Sina").
_NAME_JOINERS = frozenset(
    [
        "of",
        "de",
        "del",
        "della",
        "der",
        "van",
        "von",
        "bin",
        "binti",
        "al",
        "el",
        "la",
        "le",
        "da",
        "di",
        "dos",
        "du",
        "und",
        "y",
    ]
)


@dataclass(slots=True)
class ArticleFeatures:
    """Raw (un-weighted) features of one article."""

    lang: str | None
    title: Counter  # stemmed content terms of the title
    body: Counter  # stemmed content terms of the body (first BODY_MAX_WORDS words)
    shingles: np.ndarray  # sorted hashes of folded word n-grams of the body (near-duplicates)
    published: datetime | None
    # Every capitalized sequence as written (Title Case headlines included), folded; its
    # tokens (stop words out); the tokens seen in the title; numbers as written ("7.1", "2013").
    cap_names: Counter = field(default_factory=Counter)
    cap_tokens: Counter = field(default_factory=Counter)
    title_tokens: frozenset = frozenset()
    numbers: Counter = field(default_factory=Counter)
    # Names for cross-language joins: the non-stop tokens of the capitalized sequences and the
    # sequences of those tokens (a Title Case headline's words left out: they are not names).
    names: Counter = field(default_factory=Counter)
    # Match scores ("2-1", "1 - 2": both written high-low) in the title and the lead
    # (first LEAD_WORDS words): the result of the event the article reports.
    scores: frozenset = frozenset()


# Combining marks left by NFKD (accents): the blocks unicodedata.combining() flags in Latin text.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold_text(text: str) -> str:
    """Lowercase and strip accents of a whole text at once (fast path for ASCII)."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def content_terms(text: str, lang: str | None, max_words: int | None = None) -> list[str]:
    """Same terms as :func:`digest.lang.terms`, computed on the folded text in one pass."""
    toks = WORD_RE.findall(fold_text(text))
    if max_words is not None:
        toks = toks[:max_words]
    return _filter_terms(toks, lang)


class _TermMap(dict):
    """Folded token -> stemmed content term ('' for stop words and 1-letter tokens), memoized.

    One dict lookup per token instead of a stop-word test and a stemmer call: extraction is
    the per-article cost of grouping at scale.
    """

    MAX_SIZE = 400_000  # cleared beyond this (bounded memory on endless streams)

    def __init__(self, lang: str | None) -> None:
        super().__init__()
        self.stops = stop_words(lang)
        self.stem = stemmer(lang)

    def __missing__(self, tok: str) -> str:
        if len(self) > self.MAX_SIZE:
            self.clear()
        term = "" if len(tok) < 2 or tok in self.stops else self.stem(tok) if tok.isalpha() else tok
        self[tok] = term
        return term


@lru_cache(maxsize=64)
def _term_map(lang: str | None) -> _TermMap:
    return _TermMap(lang)


def _filter_terms(toks: list[str], lang: str | None) -> list[str]:
    return [t for t in map(_term_map(lang).__getitem__, toks) if t]


def _is_title_case_headline(tokens: list[str]) -> bool:
    """Headlines Like This One make every word look like a name; skip them for names."""
    alpha = [t for t in tokens if t[:1].isalpha()]
    if len(alpha) < 4:
        return False
    caps = sum(1 for t in alpha if t[:1].isupper())
    return caps / len(alpha) > 0.6


_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"


class _TokenHash(dict):
    """Folded token -> crc32, memoized (same value in every process, unlike ``hash``)."""

    def __missing__(self, tok: str) -> int:
        if len(self) > _TermMap.MAX_SIZE:
            self.clear()
        h = self[tok] = zlib.crc32(tok.encode())
        return h


_TOKEN_HASH = _TokenHash()
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
                dtype=np.uint64)  # fmt: skip


def shingles(tokens: list[str], n: int = SHINGLE_WORDS, limit: int = SHINGLE_MAX) -> np.ndarray:
    """Sorted unique hashes of word n-grams of folded tokens, at most ``limit`` n-grams.

    Token hashes come from crc32 (stable across processes: features are computed in worker
    processes), combined per n-gram with fixed odd multipliers in wrapping uint64 arithmetic.
    """
    toks = tokens[: limit + n - 1]
    if not toks:
        return np.empty(0, np.uint64)
    h = np.fromiter(map(_TOKEN_HASH.__getitem__, toks), np.uint64, len(toks))
    if len(toks) < n:
        return np.unique(h)
    m = len(toks) - n + 1
    acc = h[:m] * _MIX[0]
    for i in range(1, n):
        acc ^= h[i : i + m] * _MIX[i]
    return np.unique(acc)


def article_language(article: Article) -> str | None:
    """The article's language code, detected from its text when not given."""
    code = normalize_lang(article.lang)
    if code:
        return code
    return detect_language(f"{article.title}\n{article.text}")


# A capitalized sequence: capitalized words (2+ characters, accented Latin capitals included)
# separated by spaces, with the joiners of names in English and Indonesian-Malay names
# ("Gulf of Aden", "Ibnu bin Sina"); not "di" or "la": they join ordinary words too.
_CAP_RE = re.compile(rf"\b[{_UPPER}][\w'’-]+(?:\s+(?:[{_UPPER}][\w'’-]+|of|de|van|bin|al))*")
_NUMBER_RE = re.compile(r"\b\d+(?:[.,]\d+)*\b")
# A score: two numbers of at most two digits joined by a dash, not part of a longer number,
# date or time ("2-1", "1 - 2"; not "2017-06-01", "19:30", "31/5").
_SCORE_RE = re.compile(r"(?<![\d.,/:-])(\d{1,2})\s?[-\u2013]\s?(\d{1,2})(?![\d.,/:-])")


def scores(title: str, text: str) -> frozenset:
    """Match scores in the title and the lead, each written high-low ("2-1")."""
    lead = " ".join(text.split(maxsplit=LEAD_WORDS)[:LEAD_WORDS])
    out = set()
    for chunk in (title, lead):
        for a, b in _SCORE_RE.findall(chunk):
            hi, lo = max(int(a), int(b)), min(int(a), int(b))
            out.add(f"{hi}-{lo}")
    return frozenset(out)


def capitalized(
    title: str, text: str, lang: str | None
) -> tuple[Counter, Counter, frozenset, Counter]:
    """One pass over the capitalized sequences of title and text: the sequences (folded,
    3+ chars), their non-stop-word tokens, the tokens found in the title, and the names
    for cross-language joins (see :class:`ArticleFeatures`)."""
    stops = stop_words(lang)
    names: Counter = Counter()
    tokens: Counter = Counter()
    xnames: Counter = Counter()
    in_title: set[str] = set()
    headline = _is_title_case_headline(WORD_RE.findall(title))
    for where, chunk in ((0, title), (1, text)):
        # each distinct sequence once, with its count: names repeat within an article
        for span, c in Counter(_CAP_RE.findall(chunk)).items():
            name = fold_text(span)
            if len(name) > 2:
                names[name] += c
            kept = [t for t in name.split() if t not in stops and t not in _NAME_JOINERS]
            for tok in kept:
                if len(tok) > 2:
                    tokens[tok] += c
                    if where == 0:
                        in_title.add(tok)
            if where == 0 and headline:
                continue
            kept = [t for t in kept if len(t) > 1]
            for tok in kept:
                xnames[tok] += c
            if len(kept) > 1:
                xnames[" ".join(kept)] += c
    return names, tokens, frozenset(in_title), xnames


def extract(article: Article) -> ArticleFeatures:
    """All grouping features of one article (the costly, per-article part)."""
    lang = article_language(article)
    title = article.title or ""
    text = article.text or ""
    body_tokens = WORD_RE.findall(fold_text(text))[:BODY_MAX_WORDS]
    cap_names, cap_tokens, title_cap, names = capitalized(title, text, lang)
    return ArticleFeatures(
        cap_names=cap_names,
        cap_tokens=cap_tokens,
        title_tokens=title_cap,
        numbers=Counter(_NUMBER_RE.findall(title + "\n" + text)),
        names=names,
        scores=scores(title, text),
        lang=lang,
        title=Counter(content_terms(title, lang)),
        body=Counter(_filter_terms(body_tokens, lang)),
        shingles=shingles(body_tokens),
        published=article.published,
    )
