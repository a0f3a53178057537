"""Stage: candidate edges (combined similarity, conflicts, edge cap, near-copies)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from digest.features import extract
from digest.grouping import DEFAULT_PARAMS
from digest.grouping.edges import combined_edges, common_count, near_duplicates, strongest_edges
from digest.grouping.vectorize import YEAR_SPAN, DocFreq, Renumber, docs_of
from digest.models import Article
from tests.test_grouping_grouper import QUAKES, seeds


def _edges(arts: list[Article], params=DEFAULT_PARAMS):
    docs = docs_of(arts, params, extract)
    df = DocFreq(params.feature_bits)
    df.count(docs)
    renumber = Renumber((1 << params.feature_bits) + YEAR_SPAN)
    idf = lambda ids: df.idf(ids, params.idf_prior_docs, params.combined_idf_floor)  # noqa: E731
    return docs, combined_edges(docs, 0, params, idf, renumber)


def _sim(edges, i: int, j: int) -> float:
    a, b, sim = edges
    hit = ((a == i) & (b == j)) | ((a == j) & (b == i))
    return float(sim[hit].sum())


def test_same_event_pairs_are_stronger_than_same_kind_pairs():
    _, edges = _edges(QUAKES)
    # chile-1/chile-2 and japan-1/japan-2 are one event each; chile/japan only the kind
    assert _sim(edges, 0, 2) > 2 * _sim(edges, 0, 1)
    assert _sim(edges, 1, 3) > 2 * _sim(edges, 2, 3)


def test_name_conflict_lowers_the_similarity_of_different_events():
    _, plain = _edges(QUAKES, replace(DEFAULT_PARAMS, name_conflict=0.0, figure_conflict=0.0))
    _, conflict = _edges(QUAKES)
    assert _sim(conflict, 0, 1) < _sim(plain, 0, 1)
    assert _sim(conflict, 0, 2) > 0.5 * _sim(plain, 0, 2)


def test_a_syndicated_copy_is_a_near_duplicate_of_the_earlier_article():
    arts = seeds()
    copy = Article(id="copy", title=arts[0].title, text="Baca juga: lain\n" + arts[0].text)
    docs, edges = _edges([*arts, copy])
    assert near_duplicates(edges, docs, 0, len(docs), DEFAULT_PARAMS) == {5: 0}


def test_edge_cap_counts_an_edge_between_two_new_articles_for_both():
    # new articles 0 and 1 (offset 0); 0 has three edges, 1 only the one it shares with 0
    a = np.array([0, 0, 0])
    b = np.array([1, 2, 3])
    sim = np.array([0.1, 0.5, 0.4])
    keep = strongest_edges(a, b, sim, offset=0, k=2)
    # weakest edge of article 0, but the strongest (only) one of article 1: kept
    assert keep.tolist() == [True, True, True]
    # the same edges to old pool articles (indices below offset): only article 0's top 2
    keep = strongest_edges(a, b, sim, offset=10, k=2)
    assert keep.tolist() == [False, True, True]


def test_common_count_of_sorted_distinct_arrays():
    rng = np.random.default_rng(7)
    for _ in range(200):
        x = np.unique(rng.integers(0, 50, rng.integers(0, 30))).astype(np.uint64)
        y = np.unique(rng.integers(0, 50, rng.integers(0, 30))).astype(np.uint64)
        assert common_count(x, y) == len(set(x.tolist()) & set(y.tolist()))
