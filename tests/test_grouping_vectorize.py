"""Stage: hashed vectors, document frequencies, TF-IDF matrices."""

from __future__ import annotations

import numpy as np

from digest.features import extract
from digest.grouping import DEFAULT_PARAMS
from digest.grouping.vectorize import DocFreq, Renumber, docs_of, tfidf_matrix, years_of
from tests.test_grouping_grouper import QUAKES


def test_renumber_maps_ids_to_dense_positions():
    ids = np.array([70, 3, 70, 9, 3])
    distinct, pos = Renumber(100)(ids)
    assert sorted(distinct.tolist()) == [3, 9, 70]
    assert distinct[pos].tolist() == ids.tolist()


def test_tfidf_rows_are_unit_vectors_truncated_to_top_terms():
    fields = [(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])), (np.array([2]), np.array([1.0]))]
    m = tfidf_matrix(fields, lambda ids: np.ones(len(ids)), 2, Renumber(10))
    assert m.shape == (2, 3)
    assert np.diff(m.indptr).tolist() == [2, 1]  # the lightest term of row 0 dropped
    assert np.allclose(np.asarray(m.multiply(m).sum(axis=1)).ravel(), 1.0)


def test_document_frequencies_lower_the_idf_of_shared_features():
    docs = docs_of(QUAKES, DEFAULT_PARAMS, extract)
    df = DocFreq(DEFAULT_PARAMS.feature_bits)
    df.count(docs)
    assert df.n_docs == 4
    ids = docs[0].combined[0]
    idf = df.idf(ids, 0.0, 0.0)
    counts = df.df[ids]
    assert idf[counts.argmax()] < idf[counts.argmin()]


def test_vectors_keep_years_salient_names_and_figures():
    d = docs_of(QUAKES[:1], DEFAULT_PARAMS, extract)[0]
    assert d.id == "chile-1" and d.lang == "en"
    assert len(d.salient) > 0 and len(d.counted) > 0  # Chile, Antofagasta...; 7.1
    assert years_of({"2013": 1, "7.1": 1, "1850": 1}).tolist() == [113]


def test_the_grouper_uses_the_extractor_it_is_given():
    from digest.grouping import StoryGrouper

    seen = []

    def counting(article):
        seen.append(article.id)
        return extract(article)

    StoryGrouper(extract=counting).add_many(QUAKES)
    assert seen == [q.id for q in QUAKES]
