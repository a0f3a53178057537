"""Stage 2, relevance: vectors of the units, sentence features and the relevance score.

- Representation: the units' content terms (``digest.text``), sublinear TF x IDF over the
  story's units, L2-normalised rows; raw lowercase token counts beside them.
- Features (``FEATURES``), each in [0, 1]: centrality (continuous LexRank, Erkan & Radev
  2004, matrix-free; or a sumy scorer), centroid similarity to the story and to the unit's
  article (MEAD), position within the article, length.
- Outlet support in a story of several articles: how many other outlets carry a
  near-paraphrase of the unit (Nenkova & Vanderwende 2005).
- Relevance: the learned linear score of the features (position scaled down in a story of
  several articles) plus support, scaled to (0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from digest.models import Doc
from digest.summarize.params import FEATURES, POSITIONAL, SummaryParams
from digest.summarize.sumy_adapter import sumy_ratings
from digest.summarize.units import Unit, doc_langs, split_units, unit_terms
from digest.text import FOLDED, tfidf_matrix


@dataclass
class Story:
    """A story's units with everything the selection needs."""

    units: list[Unit]
    content: list[list[str]]  # content terms per unit
    x: sp.csr_matrix  # content terms, TF-IDF, L2-normalised rows
    raw: sp.csr_matrix  # raw lowercase tokens, counts, L2-normalised rows
    doc_of: np.ndarray
    n_docs: int
    features: dict[str, np.ndarray]  # FEATURES, each in [0, 1]
    support: np.ndarray
    vocab: dict[str, int] = field(default_factory=dict)  # content term -> column of x
    raw_vocab: dict[str, int] = field(default_factory=dict)  # folded word -> column of raw
    folded: list[list[str]] = field(default_factory=list)  # folded words per unit


def scale(x: np.ndarray) -> np.ndarray:
    """Min-max scaling to [0, 1] (all zeros when constant up to rounding)."""
    x = np.asarray(x, dtype=np.float64)
    if not len(x):
        return x
    lo, hi = float(x.min()), float(x.max())
    # equal up to rounding counts as constant (the same cosine computed in another order)
    return (x - lo) / (hi - lo) if hi - lo > 1e-9 * max(1.0, abs(hi)) else np.zeros_like(x)


def lexrank_scores(x: sp.csr_matrix, damping: float = 0.85, iterations: int = 60) -> np.ndarray:
    """Continuous LexRank stationary distribution of the rows of ``x`` (L2-normalised).

    The graph is A = X·Xᵀ − I (cosine, no self-loops); the random walk uses A row-normalised,
    with teleport 1 − damping and dangling rows spread uniformly. A is never materialised:
    each power-iteration step is two sparse products (cost linear in term occurrences).
    """
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    xt = x.T.tocsr()
    deg = x @ (xt @ np.ones(n)) - 1.0  # row sums of A (self-similarity removed)
    deg = np.where(deg > 1e-12, deg, 0.0)
    dangling = deg == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, deg))
    p = np.full(n, 1.0 / n)
    for _ in range(iterations):
        q = p * inv
        walk = x @ (xt @ q) - q  # Aᵀq with A symmetric
        new = (1 - damping) / n + damping * (walk + p[dangling].sum() / n)
        new /= new.sum()
        if np.abs(new - p).sum() < 1e-9:
            p = new
            break
        p = new
    return p


def support_matrix(x: sp.csr_matrix, doc_of: np.ndarray, rows: np.ndarray, n_docs: int):
    """For each row in ``rows``: per other doc, the best cosine with one of its units."""
    sims = (x[rows] @ x.T).tocsr()
    out = np.zeros((len(rows), n_docs))
    for k, r in enumerate(rows):
        lo, hi = sims.indptr[k], sims.indptr[k + 1]
        np.maximum.at(out[k], doc_of[sims.indices[lo:hi]], sims.data[lo:hi])
        out[k, doc_of[r]] = 0.0
    return out


def prepare(
    docs: Sequence[Doc], lang: str | None, method: str, params: SummaryParams
) -> Story | None:
    """Units, vectors, features and support of a story (None when it has no candidate)."""
    langs = doc_langs(docs, lang)
    units = split_units(docs, langs)
    if not units:
        return None
    n = len(units)
    content = unit_terms(units, params.stem_hapax_max_units)
    vocab: dict[str, int] = {}
    raw_vocab: dict[str, int] = {}
    x = tfidf_matrix(content, tfidf=True, vocab=vocab)
    folded = [[FOLDED[w] for w in u.tokens] for u in units]
    raw = tfidf_matrix(folded, tfidf=False, vocab=raw_vocab)
    doc_of = np.array([u.doc for u in units])
    n_docs = len(docs)

    # Centroid: mean of per-article mean vectors, so a long article does not dominate.
    # (one sparse product for every article's mean: indexing rows per article costs ~1 ms
    # each, seconds in a story of hundreds of articles)
    present = np.unique(doc_of)
    slot = np.searchsorted(present, doc_of)
    counts = np.bincount(slot).astype(np.float64)
    member = sp.csr_matrix((1.0 / counts[slot], (slot, np.arange(n))), shape=(len(present), n))
    means = (member @ x).tocsr()  # article means, one row per present article
    centroid = np.asarray(means.sum(axis=0)).ravel()
    norms = np.sqrt(np.asarray(means.multiply(means).sum(axis=1)).ravel())
    unit_norm = sp.diags(np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)) @ means
    own = np.asarray(x.multiply(unit_norm[slot]).sum(axis=1)).ravel()  # cosine, own article
    doc_cen = np.zeros(n)
    order = np.argsort(slot, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts).astype(np.int64)])
    for k in range(len(present)):
        rows = order[bounds[k] : bounds[k + 1]]
        if norms[k]:
            doc_cen[rows] = scale(own[rows])
    norm = np.linalg.norm(centroid)
    cen = x @ (centroid / norm) if norm else np.zeros(n)

    rank = np.array([u.rank for u in units], dtype=np.float64)
    # relative position in the article: 1 for its first candidate, 0 for its last
    last = np.zeros(n_docs)
    np.maximum.at(last, doc_of, rank)
    relpos = 1.0 - rank / np.maximum(last[doc_of], 1.0)
    length = np.array([u.n_words for u in units], dtype=np.float64)

    if method == "lexrank":
        central = lexrank_scores(x, params.damping, params.iterations)
    else:
        pre = scale(cen) + 1.0 / np.sqrt(1.0 + rank)
        keep = np.argsort(-pre, kind="stable")[: params.sumy_max_units]
        keep.sort()
        central = np.zeros(n)
        main_lang = max(set(langs), key=langs.count) if langs else None
        central[keep] = sumy_ratings(
            [units[i].text for i in keep], [units[i].doc for i in keep], method, main_lang
        )
    features = {
        "lead": (rank == 0).astype(np.float64),
        "second": (rank == 1).astype(np.float64),
        "position": 1.0 / np.power(1.0 + rank, params.position_decay),
        "relpos": relpos,
        "centrality": scale(central),
        "centroid": scale(cen),
        "doc_centroid": doc_cen,
        "length": np.minimum(1.0, length / max(params.short_words, 1)),
        "long": np.minimum(1.0, length / max(params.long_words, 1)),
    }

    support = np.zeros(n)
    if n_docs > 1:
        # Soft outlet count: for every other article, how closely its best sentence says the
        # same; a fact reported by many outlets scores high (Nenkova & Vanderwende 2005).
        # Computed on the most promising units (bounded cost for huge stories).
        prelim = linear_score(features, params, multi=True)
        rows = np.argsort(-prelim, kind="stable")[: params.support_max_units]
        best = support_matrix(x, doc_of, rows, n_docs)
        for k, r in enumerate(rows):
            for d in units[r].docs - {units[r].doc}:
                best[k, d] = 1.0  # an identical copy
        support[rows] = np.minimum(best, params.support_saturation).sum(axis=1)
        support = support / (params.support_saturation * (n_docs - 1))
    return Story(
        units, content, x, raw, doc_of, n_docs, features, support, vocab, raw_vocab, folded
    )


def linear_score(features: dict[str, np.ndarray], params: SummaryParams, *, multi: bool):
    """The learned linear score (a logit without bias) of the features."""
    out = np.zeros(len(features["lead"]))
    for name in FEATURES:
        w = getattr(params, f"w_{name}")
        if multi and name in POSITIONAL:
            w *= params.position_multi
        out += w * features[name]
    return out


def relevance(story: Story, params: SummaryParams) -> np.ndarray:
    """Relevance in (0, 1]: the learned linear score (a logit), plus outlet support."""
    multi = story.n_docs > 1
    score = linear_score(story.features, params, multi=multi)
    if multi:
        score = score + params.w_support * story.support
    return scale(score) + 1e-6
