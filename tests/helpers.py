"""Small helpers shared by the pipeline tests."""

import math
from collections import Counter

from digest.lang import terms


def cosine(a: str, b: str, lang: str = "id") -> float:
    """Cosine of stemmed content-word counts: how much two sentences say the same."""
    ca, cb = Counter(terms(a, lang)), Counter(terms(b, lang))
    dot = sum(ca[t] * cb[t] for t in ca)
    na = math.sqrt(sum(v * v for v in ca.values()))
    nb = math.sqrt(sum(v * v for v in cb.values()))
    return dot / (na * nb) if na and nb else 0.0


def max_pairwise_cosine(sentences: list[str], lang: str = "id") -> float:
    best = 0.0
    for i in range(len(sentences)):
        for j in range(i + 1, len(sentences)):
            best = max(best, cosine(sentences[i], sentences[j], lang))
    return best
