"""Stage: cross-language joins on shared names."""

from __future__ import annotations

import numpy as np

from digest.features import extract
from digest.grouping import DEFAULT_PARAMS
from digest.grouping.crosslang import cross_pairs, join_languages
from digest.grouping.vectorize import YEAR_SPAN, DocFreq, Renumber, docs_of
from tests.test_grouping_grouper import HARRIS_EN, XI_EN, seeds


def _pool():
    p = DEFAULT_PARAMS
    arts = [seeds()[0], HARRIS_EN, XI_EN]
    docs = docs_of(arts, p, extract)
    df = DocFreq(p.feature_bits)
    df.count(docs)
    renumber = Renumber((1 << p.feature_bits) + YEAR_SPAN)
    pairs = cross_pairs(docs, 0, p, lambda ids: df.idf(ids, p.idf_prior_docs, 1.0), renumber)
    return docs, pairs


def test_candidates_are_pairs_in_two_languages():
    docs, (a, b) = _pool()
    assert docs[0].lang == "id" and docs[1].lang == docs[2].lang == "en"
    pairs = {(int(i), int(j)) for i, j in zip(a, b, strict=True)}
    assert (0, 1) in pairs and (1, 2) not in pairs


def test_the_same_event_joins_and_another_event_with_the_same_names_does_not():
    docs, pairs = _pool()
    node = np.arange(len(docs))
    roots = join_languages([0, 1, 2], pairs, docs, node, 0, DEFAULT_PARAMS)
    assert roots[0] == roots[1] != roots[2]


def test_two_open_stories_are_never_joined():
    docs, pairs = _pool()
    node = np.arange(len(docs))
    # nodes 0 and 1 are both locked open stories
    roots = join_languages([0, 1, 2], pairs, docs, node, 2, DEFAULT_PARAMS)
    assert roots[0] != roots[1]


def test_the_name_coverage_decays_with_the_time_between_the_reports():
    from dataclasses import replace as copy_with
    from datetime import timedelta

    from digest.grouping import StoryGrouper

    p = copy_with(DEFAULT_PARAMS, attach_threshold=None)  # only the cross-language join links
    same_week = StoryGrouper(p).add_many([*seeds(), HARRIS_EN])
    assert same_week[5].story_id == same_week[0].story_id
    late = copy_with(HARRIS_EN, published=HARRIS_EN.published + timedelta(days=20))
    weeks_later = StoryGrouper(p).add_many([*seeds(), late])
    assert weeks_later[5].story_id != weeks_later[0].story_id
