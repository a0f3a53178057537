"""Cross-language joins: an Indonesian and an English report of one event, by shared names.

Word cosines say nothing across languages, so after the same-language linkage two clusters
with no language in common (one of them new in this chunk) join when the smaller one's names
are found among the other's (see ``xling_*`` in :class:`GroupingParams`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digest.grouping.linkage import UnionFind
from digest.grouping.params import GroupingParams
from digest.grouping.vectorize import DocVector, Renumberer, binary, tfidf_matrix


def several_languages(pool: list[DocVector]) -> bool:
    return len({d.lang for d in pool if d.lang}) > 1


def cross_pairs(
    pool: list[DocVector],
    offset: int,
    p: GroupingParams,
    idf: Callable[[np.ndarray], np.ndarray],
    renumber: Renumberer,
) -> tuple[np.ndarray, np.ndarray]:
    """(new, pool) pairs of articles in two known languages sharing one of their top names.

    ``idf`` should have a floor of 1, so a name every article uses still links.
    """
    names = [d.names for d in pool]
    nm = binary(tfidf_matrix(names, idf, p.name_terms, renumber))
    prod = (nm[offset:] @ nm.T).tocoo()
    a, b = prod.row.astype(np.int64), prod.col.astype(np.int64)
    langs: dict[str | None, int] = {}
    lang = np.array([langs.setdefault(d.lang, len(langs)) for d in pool], np.int64)
    none = langs.get(None, -1)
    ok = (b < offset) | (b > a + offset)
    ok &= (lang[a + offset] != lang[b]) & (lang[a + offset] != none) & (lang[b] != none)
    return a[ok], b[ok]


def join_languages(
    roots: list[int],
    pairs: tuple[np.ndarray, np.ndarray],
    pool: list[DocVector],
    node: np.ndarray,
    n_locked: int,
    p: GroupingParams,
    decay: np.ndarray | None = None,
) -> list[int]:
    """Join clusters with no language in common on their shared names; new roots per node.

    ``pairs``: the (new, pool) candidates of :func:`cross_pairs`; ``node``: the linkage node of
    each pool article; nodes below ``n_locked`` are open stories (two never join). ``decay``:
    the time factor of each pair; the name coverage of two clusters is multiplied by the
    largest factor among their pairs (reports far apart in time need more names in common).
    """
    a, b = pairs
    if decay is None:
        decay = np.ones(len(a))
    links: dict[tuple[int, int], float] = {}
    for u, v, t in zip(
        [roots[i] for i in (a + n_locked).tolist()],
        [roots[i] for i in node[b].tolist()],
        decay.tolist(),
        strict=True,
    ):
        if u != v and not (u < n_locked and v < n_locked):
            key = (min(u, v), max(u, v))
            links[key] = max(links.get(key, 0.0), t)
    if not links:
        return roots
    members: dict[int, list[DocVector]] = {}
    for j, d in enumerate(pool):
        members.setdefault(roots[int(node[j])], []).append(d)
    langs = {r: {d.lang for d in ds} for r, ds in members.items()}
    names = {r: set(np.concatenate([d.names[0] for d in ds]).tolist()) for r, ds in members.items()}
    scored = []
    for (u, v), t in links.items():
        if langs[u] & langs[v] or None in langs[u] or None in langs[v]:
            continue
        shared = len(names[u] & names[v])
        small = min(len(names[u]), len(names[v]))
        if small and shared >= p.xling_min_shared:
            cover = shared / small * t
            if cover >= p.xling_names_coverage:
                scored.append((-cover, u, v))
    sets = UnionFind(len(roots))
    for _, u, v in sorted(scored):
        ru, rv = sets.find(u), sets.find(v)
        if ru == rv or (ru < n_locked and rv < n_locked) or langs[ru] & langs[rv]:
            continue
        if rv < n_locked:
            ru, rv = rv, ru
        sets.attach(rv, ru)
        langs[ru] |= langs[rv]
        names[ru] |= names[rv]
    return [sets.find(r) for r in roots]
