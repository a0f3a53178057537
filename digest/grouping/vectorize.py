"""Articles as the grouper keeps them: hashed feature ids, weights, and TF-IDF matrices.

Features (digest/features.py) are hashed (crc32, one seed per field) into ``2**feature_bits``
buckets by the worker processes that extract them, so no vocabulary grows with the stream and
the document frequencies take a fixed-size array.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy import sparse

from digest.features import ArticleFeatures
from digest.grouping.params import GroupingParams
from digest.models import Article

Extractor = Callable[[Article], ArticleFeatures]
Renumberer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

NO_IDS = np.empty(0, np.int64)
NO_TF = np.empty(0, np.float64)

SMALL_FIGURES = frozenset({"1", "2", "3"})  # too common to tell two events apart
YEAR_RE = re.compile(r"(?:19|20)\d\d")

# The overlap matrix packs the overlap counts of five id sets (salient names, years, figures,
# scores, specific items)
# of a pair in one integer, FIELD_BITS bits each; a document keeps at most FIELD_MASK ids per
# set so no count can spill into the next field.
FIELD_BITS = 10
FIELD_MASK = (1 << FIELD_BITS) - 1
YEAR_SPAN = 200  # years 1900-2099, after the hashed ids in the overlap matrix

SEEDS = {
    name: zlib.crc32(name.encode())
    for name in ("title", "body", "name", "figure", "salient", "xl", "score", "specific")
}


def utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def day_of(dt: datetime | None) -> float:
    """Days since the epoch (NaN: undated), for the time decay."""
    return utc(dt).timestamp() / 86400.0 if dt is not None else float("nan")


@dataclass(slots=True)
class DocVector:
    """One article as the grouper keeps it: hashed feature ids and weights (see make_doc)."""

    id: str
    lang: str | None
    names: tuple[np.ndarray, np.ndarray]  # names (cross-language joins): ids, log counts
    years: np.ndarray  # years (1900-2099) among the figures, minus 1900
    shingles: np.ndarray
    published: datetime | None
    combined: tuple[np.ndarray, np.ndarray]  # the combined vector: ids and log weights
    salient: np.ndarray  # salient name token ids
    counted: np.ndarray  # figures for the figure conflict
    scores: np.ndarray  # match scores of the title and lead, for the score conflict
    specific: np.ndarray  # multi-word names (with figures and scores: what names one event)
    overlap: tuple[np.ndarray, np.ndarray]  # row of the overlap matrix (see overlap_row)
    article: Article | None = None  # only while its chunk is being placed
    story: int = -1
    placed: int = 0  # placement order, higher is later (0: never decided again)
    day: float = float("nan")  # days since the epoch of ``published`` (NaN: undated)


class DocFreq:
    """Document frequencies of hashed features in one fixed-size array."""

    def __init__(self, bits: int) -> None:
        self.df = np.zeros(1 << bits, np.int32)
        self.n_docs = 0

    def count(self, docs: Sequence[DocVector]) -> None:
        """Add the documents' combined and name features to the document frequencies."""
        id_arrays = [d.combined[0] for d in docs] + [d.names[0] for d in docs]
        if id_arrays:
            ids, counts = np.unique(np.concatenate(id_arrays), return_counts=True)
            self.df[ids] += counts.astype(np.int32)
        self.n_docs += len(docs)

    def idf(self, ids: np.ndarray, prior_docs: float, floor: float) -> np.ndarray:
        """Smoothed IDF of ``ids``; ``floor`` is added to every term's (1: sklearn's smooth_idf)."""
        return np.log((self.n_docs + prior_docs + 1.0) / (self.df[ids] + 1.0)) + floor


class Renumber:
    """Renumbers a chunk's hashed ids to 0..k-1 in linear time with a reusable slot array
    (``np.unique`` sorts: it was a tenth of the placing time at scale)."""

    def __init__(self, size: int) -> None:
        self.slot = np.zeros(size, np.int32)

    def __call__(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distinct ids, position of each id among them)."""
        pos = np.arange(len(ids), dtype=np.int32)
        self.slot[ids] = pos  # one occurrence of each id wins its slot
        distinct = ids[self.slot[ids] == pos]
        self.slot[distinct] = np.arange(len(distinct), dtype=np.int32)
        return distinct, self.slot[ids]


def tfidf_matrix(
    fields: list[tuple[np.ndarray, np.ndarray]],
    idf: Callable[[np.ndarray], np.ndarray],
    top: int | None,
    renumber: Renumberer,
) -> sparse.csr_matrix:
    """Row-normalized TF-IDF matrix over the fields' ids renumbered 0..k-1 (k distinct ids),
    each row truncated to its ``top`` heaviest terms."""
    n = len(fields)
    lens = np.fromiter((len(f[0]) for f in fields), np.int64, n)
    ids = np.concatenate([f[0] for f in fields]) if n else NO_IDS
    data = np.concatenate([f[1] for f in fields]) if n else NO_TF
    distinct, ids = renumber(ids)
    data = data * idf(distinct)[ids]
    rows = np.repeat(np.arange(n), lens)
    if top is not None and len(data) and lens.max() > top:
        order = np.lexsort((-data, rows))
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        rank = np.arange(len(order)) - starts[rows[order]]
        keep = np.sort(order[rank < top])
        ids, data, rows = ids[keep], data[keep], rows[keep]
        lens = np.bincount(rows, minlength=n)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
    data = data / np.maximum(norms, 1e-12)[rows]
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return sparse.csr_matrix((data, ids, indptr), shape=(n, len(distinct)))


def rows_matrix(
    rows: list[tuple[np.ndarray, np.ndarray]], renumber: Renumberer
) -> sparse.csr_matrix:
    """CSR matrix from (ids, values) rows, the ids renumbered 0..k-1 (k distinct ids)."""
    lens = [len(r[0]) for r in rows]
    ids = np.concatenate([r[0] for r in rows]) if rows else NO_IDS
    data = np.concatenate([r[1] for r in rows]) if rows else NO_TF
    distinct, ids = renumber(ids)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return sparse.csr_matrix((data, ids, indptr), shape=(len(rows), len(distinct)))


def binary(m: sparse.csr_matrix) -> sparse.csr_matrix:
    m = m.copy()
    m.data[:] = 1.0
    return m


def years_of(numbers: dict[str, int]) -> np.ndarray:
    """Years 1900-2099 among the numbers, minus 1900."""
    return np.array([int(t) - 1900 for t in numbers if YEAR_RE.fullmatch(t)], np.int64)


def overlap_row(
    years: np.ndarray,
    salient: np.ndarray,
    counted: np.ndarray,
    bits: int,
    scores: np.ndarray = NO_IDS,
    specific: np.ndarray = NO_IDS,
) -> tuple[np.ndarray, np.ndarray]:
    """One article's row of the overlap matrix (years after the 2**bits hashed ids)."""
    years, salient, counted = years[:FIELD_MASK], salient[:FIELD_MASK], counted[:FIELD_MASK]
    scores, specific = scores[:FIELD_MASK], specific[:FIELD_MASK]
    ids = np.concatenate([salient, counted, (1 << bits) + years, scores, specific])
    weights = np.concatenate(
        [
            np.ones(len(salient)),
            np.full(len(counted), float(1 << (2 * FIELD_BITS))),
            np.full(len(years), float(1 << FIELD_BITS)),
            np.full(len(scores), float(1 << (3 * FIELD_BITS))),
            np.full(len(specific), float(1 << (4 * FIELD_BITS))),
        ]
    )
    return ids, weights


def _hash_into(
    acc: dict[int, float], counts: dict[str, int], seed: int, weight: float, mask: int
) -> None:
    """Add ``weight`` * count of every term to its hashed bucket in ``acc``."""
    if not weight:
        return
    crc = zlib.crc32
    for term, c in counts.items():
        h = crc(term.encode(), seed) & mask
        acc[h] = acc.get(h, 0.0) + c * weight


def _log_weights(acc: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    if not acc:
        return NO_IDS, NO_TF
    ids = np.fromiter(acc.keys(), np.int64, len(acc))
    return ids, 1.0 + np.log(np.fromiter(acc.values(), np.float64, len(acc)))


def _hashed_set(terms: Iterable[str], seed: int, mask: int) -> np.ndarray:
    """Sorted distinct hashed ids of ``terms``."""
    crc = zlib.crc32
    return np.unique(np.fromiter((crc(t.encode(), seed) & mask for t in terms), np.int64))


def make_doc(article: Article, f: ArticleFeatures, p: GroupingParams) -> DocVector:
    """Everything the grouper keeps of one article, from its features (runs in the workers).

    The combined vector weights each field's counts (title ``w_title_terms``, body 1, names
    ``w_name_terms``, figures ``w_figure_terms``) before 1 + log; IDF comes later, per chunk.
    """
    mask = (1 << p.feature_bits) - 1
    acc: dict[int, float] = {}
    _hash_into(acc, f.title, SEEDS["title"], p.w_title_terms, mask)
    _hash_into(acc, f.body, SEEDS["body"], 1.0, mask)
    _hash_into(acc, f.cap_names, SEEDS["name"], p.w_name_terms, mask)
    _hash_into(acc, f.numbers, SEEDS["figure"], p.w_figure_terms, mask)
    _hash_into(acc, dict.fromkeys(f.scores, 1), SEEDS["score"], p.w_score_terms, mask)
    names: dict[int, float] = {}
    _hash_into(names, f.names, SEEDS["xl"], 1.0, mask)
    salient = _hashed_set(
        (t for t, c in f.cap_tokens.items() if c >= p.salient_min_count or t in f.title_tokens),
        SEEDS["salient"],
        mask,
    )
    counted = _hashed_set(
        (n for n in f.numbers if n not in SMALL_FIGURES and not YEAR_RE.fullmatch(n)),
        SEEDS["figure"],
        mask,
    )
    years = years_of(f.numbers)
    score_ids = _hashed_set(f.scores, SEEDS["score"], mask)
    specific = _hashed_set((n for n in f.cap_names if " " in n), SEEDS["specific"], mask)[
        :FIELD_MASK
    ]
    return DocVector(
        id=article.id,
        lang=f.lang,
        names=_log_weights(names),
        years=years,
        shingles=f.shingles,
        published=utc(article.published),
        day=day_of(article.published),
        combined=_log_weights(acc),
        salient=salient,
        counted=counted,
        scores=score_ids,
        specific=specific,
        overlap=overlap_row(years, salient, counted, p.feature_bits, score_ids, specific),
    )


def docs_of(
    articles: Sequence[Article], params: GroupingParams, extract: Extractor
) -> list[DocVector]:
    """The grouper's vectors of ``articles``, features from ``extract``."""
    return [make_doc(a, extract(a), params) for a in articles]
