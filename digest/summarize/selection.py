"""Stage 4, selection: which units make the summary, who else reports them, in what order.

Greedy budgeted maximal marginal relevance (Carbonell & Goldstein 1998; gain per word^r as
in Lin & Bilmes 2010) plus, in a story of several articles, the weight of concepts not yet
covered. A unit whose cosine with an already selected one exceeds ``redundancy`` (content
terms) or ``token_redundancy`` (raw lowercase tokens, works across languages for names and
figures), or whose content words are mostly in a selected one, is never taken. Whole
sentences only, within ``max_words`` and ``max_sentences``. The summary is ordered by
publication day, then by position in the article, so leads come first and a multi-day
story reads chronologically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from digest.models import Doc, SummarySentence
from digest.summarize.concepts import Concepts
from digest.summarize.params import SummaryParams
from digest.summarize.relevance import Story


def select(
    story: Story,
    score: np.ndarray,
    concepts: Concepts,
    max_words: int | None,
    max_sentences: int | None,
    params: SummaryParams,
) -> list[int]:
    """Greedy budgeted selection: relevance + new concepts − similarity to what is chosen."""
    units, x, raw = story.units, story.x, story.raw
    present = x.copy()
    present.data[:] = 1.0
    n = len(units)
    per_unit = concepts.per_unit
    uncovered = concepts.total.copy()
    holders: dict[int, list[int]] = {}
    for i, c in enumerate(per_unit):
        for k in c:
            holders.setdefault(k, []).append(i)
    covered: set[int] = set()
    multi = len({u.doc for u in units} | {d for u in units for d in u.docs}) > 1
    w_concepts = params.w_concepts if multi else 0.0
    stop_at_overflow = params.stop_at_overflow and not multi
    length = np.array([u.n_words for u in units], dtype=np.float64)
    max_sim = np.zeros(n)
    max_raw = np.zeros(n)
    size = np.maximum(np.asarray(present.sum(axis=1)).ravel(), 1.0)
    alive = np.ones(n, dtype=bool)
    chosen: list[int] = []
    used = 0
    lam = params.mmr_lambda
    while alive.any():
        if max_sentences is not None and len(chosen) >= max_sentences:
            break
        gain = lam * score + w_concepts * uncovered - (1 - lam) * max_sim
        gain = gain / np.power(length, params.length_exponent)
        gain[~alive] = -np.inf
        if max_words is not None:
            if stop_at_overflow and chosen and length[int(np.argmax(gain))] > max_words - used:
                break
            alive &= length <= max_words - used
            if not alive.any():
                break
            gain[~alive] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        used += int(length[best])
        alive[best] = False
        for k in per_unit[best]:
            if k not in covered:
                covered.add(k)
                for j in holders[k]:
                    uncovered[j] -= per_unit[j][k]
        max_sim = np.maximum(max_sim, np.asarray((x @ x[best].T).todense()).ravel())
        max_raw = np.maximum(max_raw, np.asarray((raw @ raw[best].T).todense()).ravel())
        # shared content words over the smaller of the two sentences: either one restates
        # the other
        shared = np.asarray((present @ present[best].T).todense()).ravel()
        contained = shared / np.minimum(size, size[best])
        alive &= (max_sim <= params.redundancy) & (max_raw <= params.token_redundancy)
        alive &= contained <= params.containment
    return chosen


def _day(d: datetime | None) -> tuple[int, str]:
    return (1, "") if d is None else (0, d.date().isoformat())


def attribute_and_order(
    story: Story, chosen: Sequence[int], docs: Sequence[Doc], params: SummaryParams
) -> list[SummarySentence]:
    """The chosen units as summary sentences, each with the other articles that say the same
    (``also``: identical copies, and in a story of several articles a cosine of at least
    ``also_threshold``), ordered by publication day, then rank in the article; a sentence
    that needs the one before it comes right after it."""
    units, x, doc_of = story.units, story.x, story.doc_of
    taken = set(chosen)

    def key(i: int) -> tuple:
        head = i  # a sentence that needs its predecessor follows it directly
        while (
            units[head].needs is not None
            and units[head].needs in taken
            and head != units[head].needs
        ):
            head = units[head].needs
        h = units[head]
        return (_day(docs[h.doc].published), h.rank, h.doc, head != i, units[i].position)

    keys = {i: key(i) for i in chosen}
    out = []
    for i in chosen:
        u = units[i]
        also = set(u.docs) - {u.doc}
        if len(docs) > 1:
            sims = np.asarray((x @ x[i].T).todense()).ravel()
            also |= {int(d) for d in doc_of[sims >= params.also_threshold]}
            also.discard(u.doc)
        out.append((keys[i], SummarySentence(u.text, u.doc, sorted(also), u.position)))
    out.sort(key=lambda p: p[0])
    return [s for _, s in out]
