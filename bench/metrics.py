"""Metrics shared by the benchmarks that no single benchmark owns.

ROUGE-N recall as ROUGE-1.5.5 computes it for DUC-style multi-document summaries (``-n 2 -m
-l 100``): lower case, every character other than a-z and 0-9 a separator, stop words kept,
Porter stemming of tokens longer than three characters, the summary cut to its first ``max_words``
words, n-grams counted with multiplicity.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from nltk.stem.porter import PorterStemmer

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PORTER = PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)


@lru_cache(maxsize=100_000)
def _stem(token: str) -> str:
    return _PORTER.stem(token) if len(token) > 3 else token


def rouge_tokens(text: str, stem: bool = True) -> list[str]:
    """Tokens as ROUGE-1.5.5 sees them (see the module docstring)."""
    toks = _NON_ALNUM.sub(" ", text.lower()).split()
    return [_stem(t) for t in toks] if stem else toks


def rouge_n_recall(
    summary: str, reference: str, n: int = 2, max_words: int | None = 100, stem: bool = True
) -> float:
    """Share of the reference's n-grams (with multiplicity) found in the summary, 0..1."""
    words = summary.split()
    if max_words is not None:
        summary = " ".join(words[:max_words])
    s, r = rouge_tokens(summary, stem), rouge_tokens(reference, stem)
    sg = Counter(tuple(s[i : i + n]) for i in range(len(s) - n + 1))
    rg = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    total = sum(rg.values())
    return sum((sg & rg).values()) / total if total else 0.0
