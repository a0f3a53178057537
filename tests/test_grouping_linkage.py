"""Stage: average linkage over a sparse graph, and the union-find."""

from __future__ import annotations

from digest.grouping.linkage import UnionFind, average_linkage


def test_union_find_attaches_roots_and_finds_them():
    sets = UnionFind(5)
    sets.attach(1, 0)
    sets.attach(2, 1)
    sets.attach(4, 3)
    assert sets.roots() == [0, 0, 0, 3, 3]
    assert sets.is_root(0) and not sets.is_root(2)


def test_linkage_merges_above_the_threshold_by_average():
    # 0-1 strong, 2 linked to 0 only: its average to {0, 1} is 0.3 / 2 = 0.15
    edges = [(0, 1, 0.9), (0, 2, 0.3)]
    assert average_linkage(0, [1, 1, 1], edges, 0.2, []) == [0, 0, 2]
    assert average_linkage(0, [1, 1, 1], edges, 0.1, []) == [0, 0, 0]


def test_two_locked_nodes_never_merge_and_copies_merge_first():
    edges = [(0, 2, 0.9), (1, 2, 0.9)]
    roots = average_linkage(2, [3, 3, 1], edges, 0.05, [])
    assert roots[0] != roots[1] and roots[2] in (roots[0], roots[1])
    # a copy (pre pair) is merged whatever the edges say
    roots = average_linkage(0, [1, 1, 1], [], 0.5, [(1, 0)])
    assert roots[0] == roots[1] != roots[2]


def test_attach_pass_joins_a_lone_node_to_its_closest_cluster_only_when_set():
    edges = [(0, 1, 0.9), (0, 2, 0.1), (1, 2, 0.06)]
    assert average_linkage(0, [1, 1, 1], edges, 0.5, [], None) == [0, 0, 2]
    assert average_linkage(0, [1, 1, 1], edges, 0.5, [], 0.04) == [0, 0, 0]
    assert average_linkage(0, [1, 1, 1], edges, 0.5, [], 0.09) == [0, 0, 2]
