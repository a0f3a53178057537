"""The story's headline: the title of the most central article, closest to the story."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from digest.models import Doc
from digest.summarize.units import doc_langs
from digest.text import terms, tfidf_matrix, words

_SITE_SUFFIX = re.compile(r"\s+[-|–—:]\s+[^-|–—:]{2,40}$")
# Real titles can be short ("MU Ditekuk Newcastle", "Merkel tritt zurück"): a title of at
# least this many words (and at most HEADLINE_MAX_WORDS) is a headline; one word is a
# section name or a site name more often than a title.
HEADLINE_MIN_WORDS = 2
HEADLINE_MAX_WORDS = 25


def choose_headline(docs: Sequence[Doc], lang: str | None = None) -> str:
    """The story's headline: the title of its most central article that says what all its
    articles say.

    Each title (2-25 words: HEADLINE_MIN_WORDS, HEADLINE_MAX_WORDS; site names such as
    " - Kompas.com" removed) scores its cosine with the story's term centroid plus its
    article's centrality (the mean cosine of its body with the other bodies: the main report,
    not a side article); with no usable title, the first sentence of the one-sentence summary.
    """
    if not docs:
        return ""
    langs = doc_langs(docs, lang)
    titles = []
    for i, d in enumerate(docs):
        t = " ".join((d.title or "").split())
        stripped = _SITE_SUFFIX.sub("", t)
        if len(words(stripped)) >= HEADLINE_MIN_WORDS:
            t = stripped
        if HEADLINE_MIN_WORDS <= len(words(t)) <= HEADLINE_MAX_WORDS and not t.isupper():
            titles.append((i, t))
    if not titles:
        from digest.summarize import summarize

        best = summarize(docs, lang, max_words=None, max_sentences=1)
        if best:
            return best[0].text
        return next(((d.title or "").strip() for d in docs if (d.title or "").strip()), "")
    if len(titles) == 1:  # the only candidate wins: no need to score it
        return titles[0][1]
    texts = [t for _, t in titles] + [d.text or "" for d in docs]
    langs_all = [langs[i] for i, _ in titles] + langs
    x = tfidf_matrix([terms(t, lg) for t, lg in zip(texts, langs_all, strict=True)], tfidf=True)
    body = x[len(titles) :]
    centroid = np.asarray(body.mean(axis=0)).ravel()
    sims = x[: len(titles)] @ centroid
    if len(docs) > 1:
        own = body[[i for i, _ in titles]]
        to_all = own @ np.asarray(body.sum(axis=0)).ravel()
        sims = sims + (to_all - np.asarray(own.multiply(own).sum(axis=1)).ravel()) / (len(docs) - 1)
    # Ties (syndicated titles) go to the earliest article.
    best = int(np.argmax(np.round(sims, 6)))
    return titles[best][1]
