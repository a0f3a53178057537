"""Stage 1, units: the candidate sentences of a story, syndicated copies merged.

Each article is split with ``digest.sentences.split_sentences``; only sentences that pass
``is_candidate`` are kept, and nothing after a related-stories footer. Identical sentences
(same folded words: syndicated copies) are one unit that remembers every article.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.lang import detect_language
from digest.models import Doc
from digest.sentences import is_candidate, is_footer, split_sentences
from digest.text import FOLDED, normalize_lang, story_terms, words


@dataclass
class Unit:
    """One candidate sentence of a story."""

    text: str
    doc: int  # index of its (first) article
    position: int  # index in split_sentences(doc.text)
    rank: int  # index among the candidates of its doc
    lang: str | None
    n_words: int
    docs: set[int] = field(default_factory=set)  # every article that carries it
    tokens: list[str] = field(default_factory=list)  # words(text), as they appear


def doc_langs(docs: Sequence[Doc], lang: str | None) -> list[str | None]:
    """The language of each article: ``lang`` for all, else its own or a detected one."""
    lang = normalize_lang(lang)
    if lang:
        return [lang] * len(docs)
    out = []
    for d in docs:
        code = normalize_lang(d.lang) or detect_language(f"{d.title}\n{d.text}")
        out.append(code)
    return out


def split_units(docs: Sequence[Doc], langs: Sequence[str | None]) -> list[Unit]:
    """The candidate units of ``docs`` in article order (see the module docstring)."""
    units: list[Unit] = []
    seen: dict[str, Unit] = {}
    for i, d in enumerate(docs):
        rank = 0
        for pos, s in enumerate(split_sentences(d.text or "", langs[i])):
            if is_footer(s):
                break
            if not is_candidate(s, langs[i]):
                continue
            toks = words(s)
            key = " ".join([FOLDED[w] for w in toks])
            if key in seen:
                seen[key].docs.add(i)
                rank += 1
                continue
            u = Unit(s, i, pos, rank, langs[i], len(toks), {i}, toks)
            seen[key] = u
            units.append(u)
            rank += 1
    return units


def unit_terms(units: Sequence[Unit], stem_hapax_max_units: int = 1_000_000) -> list[list[str]]:
    """Content terms of every unit (``digest.text.story_terms``: names and Indonesian roots
    unstemmed); in a story of more than ``stem_hapax_max_units`` units, words used once are
    not stemmed either: they can only link their sentence to another inflection of
    themselves, which hardly moves centrality among thousands of sentences, and they are
    most of the vocabulary."""
    min_count = 2 if len(units) > stem_hapax_max_units else 1
    return story_terms([u.tokens for u in units], [u.lang for u in units], min_count)
