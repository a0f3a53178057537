"""Stage 4b of the summarizer: concept coverage by integer programming (coverage.py)."""

from __future__ import annotations

from dataclasses import replace

from digest.lang import words
from digest.models import Doc
from digest.summarize import (
    DEFAULT_PARAMS,
    bigram_concepts,
    prepare,
    relevance,
    select_coverage,
    split_units,
    summarize,
)
from digest.summarize.units import NO_CONTEXT, needs_context

FACT_A = "Rescue teams pulled twelve miners alive from the flooded coal mine in Shanxi on Sunday."
FACT_B = "The mine owner was detained by police after the accident, state media reported."
DOCS = [
    Doc(title="a", text=f"{FACT_A}\nThe weather in the region was cold and dry all week long."),
    Doc(
        title="b",
        text="Twelve miners were pulled alive from the flooded coal mine in Shanxi, rescuers said.\n"
        + FACT_B,
    ),
    Doc(
        title="c",
        text="State media said twelve miners survived in the flooded coal mine.\n"
        "The mine owner was detained by police, state media reported on Monday.",
    ),
]


def test_bigrams_weighted_by_articles():
    story = prepare(DOCS, "en", "lexrank", DEFAULT_PARAMS)
    b = bigram_concepts(story, min_docs=2)
    # "coal mine" / "flooded coal" in all three articles; nothing from the weather sentence
    assert b.weight.max() == 3
    weather = next(i for i, u in enumerate(story.units) if "weather" in u.text)
    assert len(b.per_unit[weather]) == 0
    assert len(bigram_concepts(story, min_docs=4).weight) == 0
    with_words = bigram_concepts(story, min_docs=2, w_unigram=0.5)
    assert len(with_words.weight) > len(b.weight)


def test_coverage_says_each_fact_once_within_budget():
    story = prepare(DOCS, "en", "lexrank", DEFAULT_PARAMS)
    score = relevance(story, DEFAULT_PARAMS)
    chosen = select_coverage(story, score, 40, None, DEFAULT_PARAMS)
    texts = [story.units[i].text for i in chosen]
    assert sum(story.units[i].n_words for i in chosen) <= 40
    assert sum("twelve miners" in t.lower() for t in texts) == 1  # the shared fact, once
    assert any("detained" in t for t in texts)  # the second fact two outlets report
    assert len(select_coverage(story, score, 100, 1, DEFAULT_PARAMS)) == 1


def test_dependent_sentence_only_with_its_context():
    assert needs_context(
        "He said the talks would resume.", words("He said the talks would resume.")
    )
    assert needs_context("Peskov questioned whether they could confirm.", words("x y z they"))
    assert not needs_context(FACT_A, words(FACT_A))
    text = (
        "Kremlin spokesman Dmitry Peskov was asked about the planned summit on Tuesday.\n"
        "He questioned whether they could confirm it at all."
    )
    units = split_units([Doc(title="", text=text)], ["en"])
    assert units[1].needs == 0 and units[0].needs is None
    alone = split_units(
        [Doc(title="", text="Hi.\nHe questioned whether the summit would go ahead.")], ["en"]
    )
    assert alone[0].needs == NO_CONTEXT
    docs = [Doc(title="", text=text), DOCS[0]]
    for budget in (12, 20, 60):
        summary = summarize(docs, "en", max_words=budget)
        got = [s.text for s in summary]
        if any(t.startswith("He questioned") for t in got):
            i = next(k for k, t in enumerate(got) if t.startswith("He questioned"))
            assert i > 0 and got[i - 1].startswith("Kremlin spokesman")


def test_greedy_when_coverage_is_off():
    off = replace(DEFAULT_PARAMS, use_coverage=False)
    summary = summarize(DOCS, "en", max_words=40, params=off)
    assert summary and sum(len(words(s.text)) for s in summary) <= 40
