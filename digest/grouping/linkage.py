"""Average-linkage agglomeration over a sparse similarity graph, and the union-find it uses."""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class UnionFind:
    """Disjoint sets over nodes 0..n-1; ``attach`` puts a root under another root."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def is_root(self, x: int) -> bool:
        return self.parent[x] == x

    def attach(self, child: int, root: int) -> None:
        """Make ``root`` the parent of the root ``child`` (the caller picks the survivor)."""
        self.parent[child] = root

    def roots(self) -> list[int]:
        """The root of every node."""
        return [self.find(i) for i in range(len(self.parent))]


def average_linkage(
    n_locked: int,
    sizes: list[int],
    edges: Iterable[tuple[int, int, float]],
    threshold: float,
    pre: Iterable[tuple[int, int]],
    attach: float | None = None,
) -> list[int]:
    """Average-linkage agglomeration over a sparse graph; returns a root node per node.

    With ``attach``, an article left alone at the end joins the cluster it is most similar
    to on average when that average is at least ``attach`` (all decided on the graph as the
    linkage left it, so the order of the singletons does not matter).

    Nodes ``0..n_locked-1`` are locked (open stories: never merged with each other). Missing
    edges count as similarity 0. ``pre`` pairs are merged first, unconditionally (copies).
    Ties are broken by node numbers, so the result depends on the graph alone.
    """
    n = len(sizes)
    size = list(sizes)
    nbr: list[dict[int, float]] = [{} for _ in range(n)]
    for u, v, w in edges:
        if u == v or (u < n_locked and v < n_locked):
            continue
        nbr[u][v] = nbr[u].get(v, 0.0) + w
        nbr[v][u] = nbr[v].get(u, 0.0) + w
    sets = UnionFind(n)
    locked = [i < n_locked for i in range(n)]

    def merge(u: int, v: int) -> int:
        """Merge v into u (the locked one if any); return the surviving node."""
        if locked[v] or (not locked[u] and size[v] > size[u]):
            u, v = v, u
        sets.attach(v, u)
        size[u] += size[v]
        for c, w in nbr[v].items():
            if c == u:
                continue
            nbr[u][c] = nbr[u].get(c, 0.0) + w
            nc = nbr[c]
            nc[u] = nc.get(u, 0.0) + w
            del nc[v]
        nbr[u].pop(v, None)
        nbr[v] = {}
        return u

    for u, v in pre:
        ru, rv = sets.find(u), sets.find(v)
        if ru != rv and not (locked[ru] and locked[rv]):
            merge(ru, rv)
    heap = []
    for u in range(n):
        if sets.find(u) != u:
            continue
        for v, w in nbr[u].items():
            if u < v and not (locked[u] and locked[v]):
                avg = w / (size[u] * size[v])
                if avg >= threshold:
                    heap.append((-avg, u, v))
    heapq.heapify(heap)
    while heap:
        neg, u, v = heapq.heappop(heap)
        if not sets.is_root(u) or not sets.is_root(v):
            continue
        w = nbr[u].get(v)
        if w is None or w / (size[u] * size[v]) != -neg:
            continue  # stale entry: sizes or weights changed since it was pushed
        r = merge(u, v)
        for c, w in nbr[r].items():
            if locked[r] and locked[c]:
                continue
            avg = w / (size[r] * size[c])
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(r, c), max(r, c)))
    if attach is not None:
        moves = []
        for u in range(n):
            if not sets.is_root(u) or locked[u] or size[u] != 1:
                continue
            best, target = attach, None
            for c, w in sorted(nbr[u].items()):
                avg = w / (size[u] * size[c])
                if avg >= best and size[c] > 1:
                    best, target = avg, c
            if target is not None:
                moves.append((u, target))
        for u, c in moves:
            sets.attach(u, c)
            size[c] += 1
    return sets.roots()
