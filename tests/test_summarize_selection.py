"""Stage 4 of the summarizer: selection, attribution and order (selection.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from digest.models import Doc
from digest.summarize import (
    DEFAULT_PARAMS,
    attribute_and_order,
    concepts,
    prepare,
    relevance,
    select,
)

A = Doc(
    title="a",
    text=(
        "Banjir besar melanda kota Bekasi pada Senin pagi setelah hujan deras semalaman.\n"
        "Pemerintah kota mengerahkan perahu karet untuk mengevakuasi warga Bekasi Timur.\n"
        "Seorang warga mengaku kehilangan sepeda motor kesayangannya di garasi rumahnya."
    ),
    published=datetime(2024, 1, 2),
)
B = Doc(
    title="b",
    text=(
        "Banjir besar melanda kota Bekasi pada Senin pagi usai hujan deras semalaman.\n"
        "Ketinggian air di perumahan warga Bekasi Utara mencapai satu meter lebih."
    ),
    published=datetime(2024, 1, 1),
)


def _run(docs, max_words=None, max_sentences=None, params=DEFAULT_PARAMS):
    story = prepare(docs, "id", "lexrank", params)
    found = concepts(story.units, story.content, story.n_docs)
    chosen = select(story, relevance(story, params), found, max_words, max_sentences, params)
    return story, chosen


def test_paraphrase_is_taken_once_and_credited_to_both():
    story, chosen = _run([A, B], max_words=100)
    texts = [story.units[i].text for i in chosen]
    assert sum(t.startswith("Banjir besar melanda") for t in texts) == 1
    out = attribute_and_order(story, chosen, [A, B], DEFAULT_PARAMS)
    flood = next(s for s in out if s.text.startswith("Banjir besar"))
    assert sorted([flood.doc, *flood.also]) == [0, 1]
    # B was published first: its sentences come first
    assert [s.doc for s in out] == sorted((s.doc for s in out), key=lambda d: d != 1)


def test_budget_and_sentence_cap_hold():
    story, chosen = _run([A, B], max_words=25)
    assert sum(story.units[i].n_words for i in chosen) <= 25
    _, two = _run([A, B], max_sentences=2)
    assert len(two) == 2


def test_redundancy_cut_off_lets_the_paraphrase_in():
    loose = replace(DEFAULT_PARAMS, redundancy=2.0, token_redundancy=2.0, containment=2.0)
    story, chosen = _run([A, B], max_words=200, params=loose)
    texts = [story.units[i].text for i in chosen]
    assert sum(t.startswith("Banjir besar melanda") for t in texts) == 2
    assert len(chosen) == len(story.units)
    assert np.all(np.diff(sorted(chosen)) >= 1)
