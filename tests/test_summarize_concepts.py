"""Stage 3 of the summarizer: concepts (concepts.py)."""

from __future__ import annotations

import numpy as np

from digest.summarize import Unit, concepts


def _unit(doc: int, docs: set[int]) -> Unit:
    return Unit("x", doc, 0, 0, "en", 1, docs)


def test_concepts_weighted_by_articles_and_rare_ones_dropped():
    units = [_unit(0, {0}), _unit(1, {1}), _unit(2, {2, 3}), _unit(1, {1})]
    content = [
        ["kim", "visit", "russia"],
        ["kim", "visit", "putin"],
        ["kim", "visit", "russia"],
        ["food", "aid", "food", "aid"],
    ]
    c = concepts(units, content, n_docs=4)
    # (kim, visit): 4 articles; (visit, russia): 3 (a merged copy counts its articles);
    # (visit, putin) and (food, aid): one article each -> no concept
    # weights scaled by the largest unit total (4 + 3)
    got = [sorted(d.values()) for d in c.per_unit]
    assert np.allclose(got[0], [3 / 7, 4 / 7]) and np.allclose(got[1], [4 / 7])
    assert got[2] == got[0] and got[3] == []
    assert list(c.per_unit[0]) == list(c.per_unit[2])  # the same concept ids
    assert np.allclose(c.total, [1, 4 / 7, 1, 0])
    # one article: sentences count instead of articles
    single = concepts([_unit(0, {0}) for _ in content], content, n_docs=1)
    assert len(single.per_unit[3]) == 0 and len(single.per_unit[0]) == 2
