"""sumy's summarizers as sentence scorers, run offline with our tokenizer and stemmer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.sentences import split_sentences
from digest.text import fold, stemmer, stop_words, words


class SumyTokenizer:
    """Duck-typed sumy tokenizer (offline: no NLTK punkt)."""

    def __init__(self, lang: str | None):
        self.language = lang or "und"
        self._lang = lang

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph, self._lang)

    def to_words(self, sentence: str) -> list[str]:
        return words(sentence)


def sumy_summarizer(method: str, lang: str | None):
    """One of sumy's summarizers with our stemmer and stop words for ``lang``."""
    from sumy.summarizers.kl import KLSummarizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.sum_basic import SumBasicSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    cls = {
        "lexrank": LexRankSummarizer,
        "textrank": TextRankSummarizer,
        "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer,
        "kl": KLSummarizer,
        "sumbasic": SumBasicSummarizer,
    }[method]
    stem = stemmer(lang)
    summarizer = cls(lambda w: stem(fold(w)))
    summarizer.stop_words = sorted(stop_words(lang))
    return summarizer


def sumy_ratings(texts: Sequence[str], groups: Sequence[int], method: str, lang: str | None):
    """Per-text scores of one of sumy's summarizers (higher = better), offline.

    ``groups`` puts texts into paragraphs (one per article). Ranks from the summarizer's own
    rating are returned as scores in [0, 1] (sumy's KL and SumBasic only give an order).
    """
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    if not texts:
        return np.zeros(0)
    tok = SumyTokenizer(lang)
    sentences = [Sentence(t, tok) for t in texts]
    paragraphs, current, last = [], [], None
    for s, g in zip(sentences, groups, strict=True):
        if last is not None and g != last:
            paragraphs.append(Paragraph(current))
            current = []
        current.append(s)
        last = g
    paragraphs.append(Paragraph(current))
    document = ObjectDocumentModel(paragraphs)
    captured: list = []

    def capture(infos):
        captured.extend(infos)
        return infos

    sumy_summarizer(method, lang)(document, capture)
    # Identical texts are equal Sentence objects for sumy: give every copy the same rating.
    order = {}
    for rank, info in enumerate(captured):  # sorted best first
        order.setdefault(info.order, rank)
    n = len(texts)
    scores = np.zeros(n)
    for i in range(n):
        scores[i] = 1.0 - order.get(i, n) / max(n, 1)
    return scores
