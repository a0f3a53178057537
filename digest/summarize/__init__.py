"""Multi-document extractive summaries of a story, as named stages.

1. ``units``: candidate sentences of every article, syndicated copies merged (``Unit``).
2. ``relevance``: TF-IDF vectors over the text core's content terms, sentence features
   (LexRank centrality or a sumy scorer, centroid, position, length), outlet support, and
   a learned linear relevance score (``Story``).
3. ``concepts``: content bigrams weighted by how many articles use them (``Concepts``).
4. ``selection``: greedy budgeted MMR with concept coverage and redundancy cuts; attribution
   (``also``) and reading order.
5. ``headline``: the title closest to the story's centroid.

``params`` holds every weight and threshold (``SummaryParams``) with the data it was set
on. This module is the public API: flows, the CLI, the bench and the tests import from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from digest.models import Doc, SummarySentence
from digest.settings import SUMMARY_MAX_SENTENCES, SUMMARY_MAX_WORDS
from digest.summarize.concepts import Concepts, concepts
from digest.summarize.coverage import Bigrams, bigram_concepts, select_coverage
from digest.summarize.headline import choose_headline
from digest.summarize.params import DEFAULT_PARAMS, FEATURES, METHODS, SummaryParams
from digest.summarize.relevance import Story, lexrank_scores, prepare, relevance
from digest.summarize.selection import attribute_and_order, select
from digest.summarize.sumy_adapter import sumy_ratings
from digest.summarize.units import Unit, doc_langs, split_units, unit_terms

__all__ = [
    "DEFAULT_PARAMS",
    "FEATURES",
    "METHODS",
    "Bigrams",
    "Concepts",
    "Story",
    "SummaryParams",
    "Unit",
    "attribute_and_order",
    "bigram_concepts",
    "choose",
    "choose_headline",
    "concepts",
    "doc_langs",
    "lexrank_scores",
    "prepare",
    "relevance",
    "select",
    "select_coverage",
    "split_units",
    "summarize",
    "sumy_ratings",
    "unit_terms",
]


def summarize(
    docs: Sequence[Doc],
    lang: str | None = None,
    *,
    max_words: int | None = SUMMARY_MAX_WORDS,
    max_sentences: int | None = None,
    method: str = "lexrank",
    params: SummaryParams = DEFAULT_PARAMS,
) -> list[SummarySentence]:
    """Extractive summary of one story told by ``docs`` (see the module docstring).

    With neither ``max_words`` nor ``max_sentences``, at most ``SUMMARY_MAX_SENTENCES``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not docs:
        return []
    if max_words is None and max_sentences is None:
        max_sentences = SUMMARY_MAX_SENTENCES
    story = prepare(docs, lang, method, params)
    if story is None:
        return []
    score = relevance(story, params)
    chosen = choose(story, score, max_words, max_sentences, params)
    return attribute_and_order(story, chosen, docs, params)


def choose(
    story: Story,
    score,
    max_words: int | None,
    max_sentences: int | None,
    params: SummaryParams = DEFAULT_PARAMS,
) -> list[int]:
    """The units of the summary: concept coverage (integer program) for a story of several
    articles, greedy MMR for one article or when the program is not solved in time."""
    chosen = None
    if story.n_docs > 1 and params.use_coverage:
        chosen = select_coverage(story, score, max_words, max_sentences, params)
    if chosen is None:
        found = concepts(story.units, story.content, story.n_docs)
        chosen = select(story, score, found, max_words, max_sentences, params)
    return chosen
