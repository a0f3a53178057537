"""The text core: folding, words, stop words, stemming, content terms and TF-IDF rows.

Every part of the product that compares texts (grouping features, summaries, headlines)
goes through these functions, so "the same word" means the same thing everywhere:

- :func:`fold`: lowercase (casefold) and strip accents; ASCII takes a fast path.
- :func:`words`: word tokens as written (hyphenated words and 1.500.000 stay whole).
- :func:`stop_words`, :func:`stemmer`: per language (Sastrawi for Indonesian, snowball
  where it has the language, identity elsewhere), each built once per process.
- :func:`term_map`: the one memo of "folded token -> content term" per language ('' for stop
  words and 1-letter tokens); :func:`terms` and :func:`terms_of_tokens` use it.
- :func:`story_terms`: content terms of many token lists at once with the summarizer's
  stemming shortcuts (names and Indonesian roots are not stemmed).
- :func:`normalized_rows` / :func:`tfidf_matrix`: L2-normalised sparse (TF-)IDF rows.

Pure functions and process-wide memos only; importable without anything heavy.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

WORD_RE = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*", re.UNICODE)

# ISO 639-1 code -> snowball algorithm name, for languages without a better stemmer here.
_SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "fa": "persian",
}


def normalize_lang(code: str | None) -> str | None:
    """'id-ID', 'IND', 'in' -> 'id'; None stays None."""
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    aliases = {"in": "id", "ind": "id", "eng": "en", "indonesian": "id", "english": "en"}
    return aliases.get(code, code) or None


# ------------------------------------------------------------------------------ folding


def fold(text: str) -> str:
    """Lowercase and strip accents, so 'Jokowi' and 'JOKOWI' and 'Jokówi' meet.

    Works on a word or a whole text (folding commutes with splitting into words for every
    text that is not exotic: a casefold that expands, as 'ß' -> 'ss', stays within its word).
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    if text.isascii():
        return text
    return "".join(c for c in text if not unicodedata.combining(c))


class _Memo(dict):
    """A bounded memo ``key -> fn(key)`` (cleared when full: endless streams stay bounded)."""

    MAX_SIZE = 400_000

    def __init__(self, fn: Callable[[str], str]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: str) -> str:
        if len(self) > self.MAX_SIZE:
            self.clear()
        value = self[key] = self.fn(key)
        return value


FOLDED = _Memo(fold)
"""The process-wide memo of :func:`fold` for single words: ``FOLDED[word]``."""


def words(text: str) -> list[str]:
    """Word tokens as they appear (hyphenated words and 1.500.000 stay whole)."""
    return WORD_RE.findall(text)


# ------------------------------------------------------------------ stop words, stemming


@lru_cache(maxsize=32)
def stop_words(lang: str | None) -> frozenset[str]:
    """Stop words for the language (stop-words package, plus Sastrawi's list for Indonesian)."""
    lang = normalize_lang(lang)
    result: set[str] = set()
    if lang:
        try:
            from stop_words import get_stop_words

            result.update(get_stop_words(lang))
        except Exception:  # the package raises its own error for unknown languages
            pass
    if lang == "id":
        from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

        result.update(StopWordRemoverFactory().get_stop_words())
    return frozenset(fold(w) for w in result)


@lru_cache(maxsize=32)
def stemmer(lang: str | None) -> Callable[[str], str]:
    """A word -> stem function with a per-language cache; identity for unknown languages."""
    lang = normalize_lang(lang)
    if lang == "id":
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

        base = StemmerFactory().create_stemmer().stem
    elif lang in _SNOWBALL:
        import snowballstemmer

        base = snowballstemmer.stemmer(_SNOWBALL[lang]).stemWord
    else:
        return lambda w: w
    return lru_cache(maxsize=200_000)(base)


# Indonesian affixes Sastrawi can remove (prefixes di-, ke-, se-, be(r)-, me(N)-, pe(N)-,
# te(r)-; suffixes -i, -kan, -an, particles and possessives). A word that is in Sastrawi's
# dictionary, or has none of these, is its own stem: on the indosum-dev vocabulary (31.6k
# words) Sastrawi returns 99.6% of such words unchanged, and the rest are names it mangles
# ("boris" -> "bor", "binus" -> "bus"). Skipping them halves the stemming time.
_ID_AFFIX = re.compile(r"^(?:di|ke|se|be|me|pe|te)|(?:i|kan|an|lah|kah|tah|pun|ku|mu|nya)$")


@lru_cache(maxsize=1)
def id_roots() -> frozenset[str]:
    """Sastrawi's dictionary of Indonesian root words."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return frozenset(StemmerFactory().get_words())


# --------------------------------------------------------------------------- content terms


class TermMap(dict):
    """Folded token -> stemmed content term ('' for stop words and 1-letter tokens), memoized.

    One dict lookup per token instead of a stop-word test and a stemmer call. Figures and
    compounds ("1.500", "covid-19") are kept as they are.
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


def term_map(lang: str | None) -> TermMap:
    """The process-wide :class:`TermMap` of a language."""
    return _term_map(normalize_lang(lang))


@lru_cache(maxsize=64)
def _term_map(lang: str | None) -> TermMap:
    return TermMap(lang)


def terms_of_tokens(folded: Iterable[str], lang: str | None) -> list[str]:
    """Content terms of already folded tokens."""
    return [t for t in map(term_map(lang).__getitem__, folded) if t]


def terms(text: str, lang: str | None, *, keep_stop_words: bool = False) -> list[str]:
    """Folded, stemmed content words of ``text``: the unit of similarity everywhere."""
    folded = map(FOLDED.__getitem__, words(text))
    if not keep_stop_words:
        return terms_of_tokens(folded, lang)
    stem = stemmer(lang)
    return [f if f.isdigit() or not f.isalpha() else stem(f) for f in folded]


def story_terms(
    token_lists: Sequence[Sequence[str]],
    langs: Sequence[str | None],
    min_count_to_stem: int = 1,
) -> list[list[str]]:
    """:func:`terms` of many token lists (words as written), stemming each word once.

    Shortcuts (the summarizer's; results differ from :func:`terms` only on these words):
    a word seen only capitalised in ``token_lists`` (names: "Kim", "Sullivan",
    "Pyongyang") is not stemmed (stemmers have nothing to remove from them and Sastrawi
    spends most of its time failing to find their root); an Indonesian word that is a
    Sastrawi root or carries no affix is its own stem; a word used fewer than
    ``min_count_to_stem`` times (lowercase) is not stemmed.
    """
    lowered: dict[str, int] = {}
    for toks in token_lists:
        for w in toks:
            if not w[:1].isupper():
                f = FOLDED[w]
                lowered[f] = lowered.get(f, 0) + 1
    stems: dict[tuple[str | None, str], str] = {}
    out = []
    for toks_in, lang in zip(token_lists, langs, strict=True):
        stops = stop_words(lang)
        stem = stemmer(lang)
        roots = id_roots() if lang == "id" else None
        toks = []
        for w in toks_in:
            f = FOLDED[w]
            if f in stops or len(f) < 2:
                continue
            if f.isdigit() or not f.isalpha() or lowered.get(f, 0) < min_count_to_stem:
                toks.append(f)  # figures, compounds, names (and rare words) kept as they are
                continue
            key = (lang, f)
            t = stems.get(key)
            if t is None:
                own = roots is not None and (f in roots or not _ID_AFFIX.search(f))
                t = stems[key] = f if own else stem(f)
            toks.append(t)
        out.append(toks)
    return out


# -------------------------------------------------------------------------------- TF-IDF


def normalized_rows(
    ids: np.ndarray, data: np.ndarray, lens: np.ndarray, n_cols: int, top: int | None = None
) -> sp.csr_matrix:
    """CSR matrix of rows given as consecutive (column id, weight) runs of lengths ``lens``,
    each row truncated to its ``top`` heaviest entries, rows L2-normalised (zero rows stay
    zero). Column ids must be distinct within a row."""
    n = len(lens)
    lens = np.asarray(lens, dtype=np.int64)
    rows = np.repeat(np.arange(n), lens)
    if top is not None and len(data) and lens.max() > top:
        order = np.lexsort((-data, rows))
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        rank = np.arange(len(order)) - starts[rows[order]]
        keep = np.sort(order[rank < top])
        ids, data, rows = ids[keep], data[keep], rows[keep]
        lens = np.bincount(rows, minlength=n)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
    data = data / np.maximum(norms, 1e-12)[rows]
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return sp.csr_matrix((data, ids, indptr), shape=(n, n_cols))


def tfidf_matrix(
    token_lists: Sequence[Sequence[str]], *, tfidf: bool = True, vocab: dict[str, int] | None = None
) -> sp.csr_matrix:
    """L2-normalised rows over the tokens of each list: sublinear TF x smoothed IDF
    (log((1 + n) / (1 + df)) + 1, df within ``token_lists``) or, with ``tfidf=False``, raw
    counts. ``vocab``, if given (empty), receives the column id of every token."""
    vocab = {} if vocab is None else vocab
    ids: list[int] = []
    vals: list[float] = []
    lens = np.zeros(len(token_lists), dtype=np.int64)
    for r, toks in enumerate(token_lists):
        counts: dict[int, int] = {}
        for t in toks:
            j = vocab.setdefault(t, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        lens[r] = len(counts)
        ids.extend(counts)
        vals.extend(1.0 + math.log(c) if tfidf else float(c) for c in counts.values())
    id_arr = np.array(ids, dtype=np.int64)
    data = np.array(vals, dtype=np.float64)
    n = len(token_lists)
    if tfidf and n:
        df = np.bincount(id_arr, minlength=len(vocab))
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        data = data * idf[id_arr]
    return normalized_rows(id_arr, data, lens, max(len(vocab), 1))


def clear_caches() -> None:
    """Empty every memo of this module (what a fresh worker process sees; for benchmarks)."""
    FOLDED.clear()
    stemmer.cache_clear()
    id_roots.cache_clear()
    _term_map.cache_clear()
    stop_words.cache_clear()
