"""Candidate edges of a chunk: combined similarities, the per-article edge cap, near-copies.

The pool is a list of vectors whose first ``offset`` entries are the open stories' kept
members and the rest the articles being decided (the new ones first). Edges are returned as
(new index, pool index, similarity) arrays; a pair of two new articles appears once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digest.grouping.params import GroupingParams
from digest.grouping.pool import map_threads
from digest.grouping.vectorize import (
    FIELD_BITS,
    FIELD_MASK,
    NO_IDS,
    NO_TF,
    DocVector,
    Renumberer,
    binary,
    rows_matrix,
    tfidf_matrix,
)

Edges = tuple[np.ndarray, np.ndarray, np.ndarray]  # (new index, pool index, similarity)

BLOCK_CELLS = 8_000_000  # new x pool cells per block of combined_edges (64 MB of float64)


def combined_edges(
    pool: list[DocVector],
    offset: int,
    p: GroupingParams,
    idf: Callable[[np.ndarray], np.ndarray],
    renumber: Renumberer,
    days: np.ndarray | None = None,
) -> Edges:
    """(new index, pool index, similarity) of every pair above ``min_similarity``.

    ``days``: the time of each pool entry in days (NaN: undated), for the time decay.

    The similarity is the cosine of the combined vectors times the conflict factors of
    :class:`GroupingParams` (salient names, years, figures). Rows are done in blocks of at
    most ``BLOCK_CELLS / len(pool)`` new articles, which bounds the memory of the products.
    """
    x = tfidf_matrix([d.combined for d in pool], idf, None, renumber)
    overlap = rows_matrix([d.overlap for d in pool], renumber)
    overlap_t = binary(overlap).T.tocsr()
    x_t = x.T.tocsr()
    n_sal = np.array([len(d.salient) for d in pool], np.float64)
    has_y = np.array([len(d.years) > 0 for d in pool])
    has_f = np.array([len(d.counted) > 0 for d in pool])
    has_s = np.array([len(d.scores) > 0 for d in pool])
    # specific items: multi-word names, figures and scores (see the time decay)
    n_spec = np.array(
        [len(d.specific) + len(d.counted[:FIELD_MASK]) + len(d.scores) for d in pool], np.float64
    )
    step = max(1, BLOCK_CELLS // max(1, len(pool)))
    blocks = [(lo, min(len(pool), lo + step)) for lo in range(offset, len(pool), step)]

    def block(lohi: tuple[int, int]) -> Edges:
        lo, hi = lohi
        prod = x[lo:hi] @ x_t
        strong = np.flatnonzero(prod.data >= p.min_similarity)  # most entries are weak
        a = np.searchsorted(prod.indptr, strong, side="right") - 1
        b = prod.indices[strong].astype(np.int64)
        cos = prod.data[strong]
        keep = (b < offset) | (b > a + lo)
        a, b, cos = a[keep], b[keep], cos[keep]
        # shared salient names, years and figures of every pair, packed in one product
        code = (overlap[lo:hi] @ overlap_t).toarray()[a, b].astype(np.int64)
        ap = a + lo
        shared = (code & FIELD_MASK).astype(np.float64)
        both = (n_sal[ap] > 0) & (n_sal[b] > 0)
        smaller = np.maximum(np.minimum(n_sal[ap], n_sal[b]), 1.0)
        factor = np.where(both, 1.0 - p.name_conflict * (1.0 - shared / smaller), 1.0)
        no_year = has_y[ap] & has_y[b] & ((code >> FIELD_BITS) & FIELD_MASK == 0)
        factor *= np.where(no_year, 1.0 - p.year_conflict, 1.0)
        figs = (code >> (2 * FIELD_BITS)) & FIELD_MASK
        no_fig = has_f[ap] & has_f[b] & (figs == 0)
        factor *= np.where(no_fig, 1.0 - p.figure_conflict, 1.0)
        same_score = (code >> (3 * FIELD_BITS)) & FIELD_MASK
        no_score = has_s[ap] & has_s[b] & (same_score == 0)
        factor *= np.where(no_score, 1.0 - p.score_conflict, 1.0)
        sim = cos * factor
        if days is not None and p.time_scale_days:
            gap = np.abs(days[ap] - days[b])
            decay = time_decay(gap, p)
            # a pair sharing most of its specific items names the same event: the decay
            # fades with the Jaccard share of the specific items
            spec = ((code >> (4 * FIELD_BITS)) + figs + same_score).astype(np.float64)
            jaccard = spec / np.maximum(n_spec[ap] + n_spec[b] - spec, 1.0)
            strong = (jaccard - p.time_strong_from) / (p.time_strong_full - p.time_strong_from)
            strong = np.where(spec >= p.time_strong_min_shared, np.clip(strong, 0.0, 1.0), 0.0)
            decay += (1.0 - decay) * strong
            sim = sim * decay
        ok = sim >= p.min_similarity
        return ap[ok] - offset, b[ok], sim[ok]

    if not blocks:
        return NO_IDS, NO_IDS, NO_TF
    parts = map_threads(block, blocks, p.workers)
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))


def time_decay(gap: np.ndarray, p: GroupingParams) -> np.ndarray:
    """The time factor of pairs ``gap`` days apart (NaN: undated, factor 1)."""
    if not p.time_scale_days:
        return np.ones(len(gap))
    decay = 1.0 / (1.0 + (np.nan_to_num(gap) / p.time_scale_days) ** p.time_power)
    return np.where(np.isnan(gap), 1.0, decay)


def strongest_edges(
    a: np.ndarray, b: np.ndarray, sim: np.ndarray, offset: int, k: int
) -> np.ndarray:
    """Mask of the edges among the ``k`` strongest of one of their new articles.

    An edge between two new articles counts for both, so the mask does not depend on the
    order of the articles in the chunk (ties apart).
    """
    both = np.flatnonzero(b >= offset)
    owner = np.concatenate([a, b[both] - offset])
    edge = np.concatenate([np.arange(len(a)), both])
    order = np.lexsort((edge, -np.concatenate([sim, sim[both]]), owner))
    first = np.searchsorted(owner[order], owner[order], side="left")
    keep = np.zeros(len(a), bool)
    keep[edge[order[np.arange(len(order)) - first < k]]] = True
    return keep


def common_count(s1: np.ndarray, s2: np.ndarray) -> int:
    """Number of values in both sorted arrays of distinct values."""
    if len(s1) > len(s2):
        s1, s2 = s2, s1
    if not len(s1):
        return 0
    pos = np.searchsorted(s2, s1)
    pos[pos == len(s2)] = 0
    return int(np.count_nonzero(s2[pos] == s1))


def near_duplicates(
    edges: Edges, pool: list[DocVector], offset: int, n_new: int, p: GroupingParams
) -> dict[int, int]:
    """New article index -> pool index of the earliest near-copy of it (stories first).

    Only the first ``n_new`` articles being decided count as new (re-decided ones are not
    marked again). Copies share ``neardup_containment`` of the smaller body's shingles.
    """
    a, b, sim = edges
    out: dict[int, int] = {}
    cand = np.flatnonzero(sim >= p.neardup_min_cosine)
    for k in cand[np.lexsort((b[cand], a[cand]))].tolist():
        i, j = int(a[k]), int(b[k])
        if j >= offset:  # another new article: the earlier one is the original
            if j - offset < i:
                continue  # handled from the other side (pairs hold a < b)
            i, j = j - offset, i + offset
        if i in out and out[i] <= j:
            continue
        s1, s2 = pool[i + offset].shingles, pool[j].shingles
        small = min(len(s1), len(s2))
        if small < p.neardup_min_shingles:
            continue
        if common_count(s1, s2) >= p.neardup_containment * small:
            out[i] = j
    return {i: j for i, j in out.items() if i < n_new}
