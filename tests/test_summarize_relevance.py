"""Stage 2 of the summarizer: vectors, features, support, relevance (relevance.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from digest.models import Doc
from digest.summarize import DEFAULT_PARAMS, FEATURES, lexrank_scores, prepare, relevance

LEAD = "Banjir besar melanda kota Bekasi pada Senin pagi setelah hujan deras semalaman."
DOCS = [
    Doc(
        title="a",
        text=(
            f"{LEAD}\nKetinggian air di perumahan warga Bekasi Timur mencapai satu meter lebih.\n"
            "Pemerintah kota mengerahkan perahu karet untuk mengevakuasi warga Bekasi.\n"
            "Seorang warga mengaku kehilangan sepeda motor kesayangannya sejak tahun lalu."
        ),
    ),
    Doc(
        title="b",
        text=(
            "Warga Bekasi dievakuasi dengan perahu karet oleh pemerintah kota pada Senin.\n"
            "Banjir melanda kota Bekasi setelah hujan deras semalaman sejak Minggu."
        ),
    ),
]


def test_features_are_in_unit_range_and_position_is_per_article():
    story = prepare(DOCS, "id", "lexrank", DEFAULT_PARAMS)
    assert story is not None and story.n_docs == 2
    assert set(story.features) == set(FEATURES)
    for name, f in story.features.items():
        assert f.shape == (len(story.units),)
        assert f.min() >= 0 and f.max() <= 1, name
    assert list(story.features["lead"]) == [1, 0, 0, 0, 1, 0]
    assert story.x.shape[0] == story.raw.shape[0] == len(story.units)


def test_support_counts_other_outlets_saying_the_same():
    story = prepare(DOCS, "id", "lexrank", DEFAULT_PARAMS)
    texts = [u.text for u in story.units]
    evac = texts.index("Pemerintah kota mengerahkan perahu karet untuk mengevakuasi warga Bekasi.")
    alone = texts.index(
        "Seorang warga mengaku kehilangan sepeda motor kesayangannya sejak tahun lalu."
    )
    assert story.support[evac] > 0.5 and story.support[alone] < 0.2
    # with support weighted more, the supported sentence gains relevance against the lone one
    low = relevance(story, replace(DEFAULT_PARAMS, w_support=0.0))
    high = relevance(story, replace(DEFAULT_PARAMS, w_support=5.0))
    assert high[evac] - high[alone] > low[evac] - low[alone]
    assert low.min() > 0 and np.isclose(low.max(), 1 + 1e-6)


def test_single_article_has_no_support_and_prefers_the_lead():
    story = prepare(DOCS[:1], "id", "lexrank", DEFAULT_PARAMS)
    assert not story.support.any()
    assert int(np.argmax(relevance(story, DEFAULT_PARAMS))) == 0


def test_no_candidates_is_none():
    assert prepare([Doc(title="", text="Halo.")], "id", "lexrank", DEFAULT_PARAMS) is None


def test_vectorized_lexrank_matches_dense_power_method():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 12)) * (rng.random((30, 12)) < 0.3)
    dense[5] = 0  # an isolated sentence
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1
    x = dense / norms
    a = x @ x.T
    np.fill_diagonal(a, 0)
    deg = a.sum(axis=1)
    n = len(a)
    m = np.where(deg[:, None] > 0, a / np.where(deg[:, None] > 0, deg[:, None], 1), 1.0 / n)
    p = np.full(n, 1.0 / n)
    for _ in range(500):
        p = 0.15 / n + 0.85 * m.T @ p
        p /= p.sum()
    got = lexrank_scores(sp.csr_matrix(x), DEFAULT_PARAMS.damping, 500)
    assert np.allclose(got, p, atol=1e-6)
