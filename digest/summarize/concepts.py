"""Stage 3, concepts: content-word bigrams weighted by how many articles use them.

Concepts in the sense of Gillick & Favre (2009): a fact counts once however many
sentences repeat it, so coverage rewards a summary that says many different things.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digest.summarize.units import Unit


@dataclass
class Concepts:
    """Per unit, {concept id: weight}; and each unit's total weight (both scaled to max 1)."""

    per_unit: list[dict[int, float]]
    total: np.ndarray


def concepts(units: Sequence[Unit], content: Sequence[Sequence[str]], n_docs: int) -> Concepts:
    """Content-word bigrams weighted by how many articles (one article: how many sentences)
    use them; only those used at least twice count."""
    where: dict[tuple[str, str], set[int]] = {}
    for i, toks in enumerate(content):
        key_of = units[i].docs if n_docs > 1 else {i}
        for bigram in itertools.pairwise(toks):
            where.setdefault(bigram, set()).update(key_of)
    ids: dict[tuple[str, str], int] = {}
    per_unit: list[dict[int, float]] = []
    for toks in content:
        found: dict[int, float] = {}
        for bigram in itertools.pairwise(toks):
            w = len(where[bigram])
            if w >= 2:
                found[ids.setdefault(bigram, len(ids))] = float(w)
        per_unit.append(found)
    total = np.array([sum(c.values()) for c in per_unit])
    top = total.max() if len(total) and total.max() > 0 else 1.0
    return Concepts([{k: v / top for k, v in c.items()} for c in per_unit], total / top)
