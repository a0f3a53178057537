"""Stage 1, units: the candidate sentences of a story, syndicated copies merged.

Each article is split with ``digest.sentences.split_sentences``; only sentences that pass
``is_candidate`` are kept, and nothing after a related-stories footer; an article with an
empty body contributes its title (if it reads as a sentence). Identical sentences
(same folded words: syndicated copies) are one unit that remembers every article.
"""

from __future__ import annotations

import itertools
import re
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
    # The sentence needs the one before it in its article to be understood: None (it stands
    # alone), the index of that unit, or NO_CONTEXT (the one before is not a candidate).
    needs: int | None = None


NO_CONTEXT = -2

# Openers that point back to the previous sentence (a pronoun subject, a connective), and
# pronouns that leave a short sentence without a referent ("Peskov questioned whether they
# could confirm").
_BACK_OPENERS = frozenset(
    """
    he she it they his her its their them this that these those such but also however still
    meanwhile instead yet so then thus besides moreover furthermore both
    ia dia beliau mereka itu ini namun tetapi tapi sedangkan selain hal kemudian lalu
    sementara karenanya keduanya
    """.split()  # noqa: SIM905
)
# Indonesian determiners that point back ("the said"), in the subject (first words).
_BACK_DETERMINERS = frozenset({"tersebut"})
_BACK_PHRASE = re.compile(r"\b[Hh]al (?:itu|ini|tersebut)\b")
_PRONOUNS = frozenset("they them it he she him her ia dia mereka beliau".split())  # noqa: SIM905
SHORT_WITH_PRONOUN = 12  # words: longer sentences usually name whom they speak of
# Indonesian "<noun> itu" (that <noun>: the one just mentioned) in a short sentence, unless
# the noun is a time ("saat itu", "hari itu": then).
SHORT_WITH_DEMONSTRATIVE = 20
_TIME_NOUNS = frozenset(
    "saat waktu kala ketika masa hari malam pagi siang sore tahun bulan pekan minggu kali".split()  # noqa: SIM905
)
_OPENER = re.compile(r"[\W_]*(\w+)")


def needs_context(text: str, tokens: Sequence[str]) -> bool:
    """Whether a sentence cannot stand alone: it opens with a pronoun or a connective that
    points back, or it is short and leans on a pronoun."""
    return points_back(text, tokens) or leans_on_pronoun(tokens)


def points_back(text: str, tokens: Sequence[str]) -> bool:
    """Whether a sentence refers to the one before it: a pronoun or connective opener, a
    back-pointing determiner in its subject, "hal itu", or "<noun> itu" in a short one."""
    m = _OPENER.match(text)
    if m and m.group(1).lower() in _BACK_OPENERS:
        return True
    if any(t.lower() in _BACK_DETERMINERS for t in tokens[1:5]):
        return True  # "Pejabat Gedung Putih tersebut mengklaim ...": which official?
    if _BACK_PHRASE.search(text):
        return True  # "... bahwa hal itu akan menjadi ...": what thing?
    return len(tokens) <= SHORT_WITH_DEMONSTRATIVE and any(
        t.lower() == "itu" and prev.lower() not in _TIME_NOUNS
        for prev, t in itertools.pairwise(tokens)
    )  # "... yang mengungkap info itu": which information?


def leans_on_pronoun(tokens: Sequence[str]) -> bool:
    """A short sentence whose point hangs on a pronoun ("Peskov questioned whether they could
    confirm"): unless it opens by pointing back, the sentence before it does not say who
    "they" are either; not a candidate of the multi-article selection."""
    return len(tokens) <= SHORT_WITH_PRONOUN and any(t.lower() in _PRONOUNS for t in tokens[1:])


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
    seen: dict[str, int] = {}
    for i, d in enumerate(docs):
        rank = 0
        previous: int | None = None  # unit of the sentence just before, if a candidate
        # An article with no body (a feed item, a wire alert) is told by its title alone.
        body = d.text if (d.text or "").strip() else (d.title or "")
        for pos, s in enumerate(split_sentences(body, langs[i])):
            if is_footer(s):
                break
            if not is_candidate(s, langs[i]):
                previous = None
                continue
            toks = words(s)
            key = " ".join([FOLDED[w] for w in toks])
            if key in seen:
                units[seen[key]].docs.add(i)
                previous = seen[key]
                rank += 1
                continue
            needs = None
            if points_back(s, toks):
                needs = NO_CONTEXT if previous is None else previous
            elif leans_on_pronoun(toks):
                needs = NO_CONTEXT  # what it says hangs on a pronoun, whatever comes before
            u = Unit(s, i, pos, rank, langs[i], len(toks), {i}, toks, needs)
            seen[key] = len(units)
            previous = len(units)
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
