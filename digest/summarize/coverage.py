"""Stage 4b, coverage: the multi-article selection as an integer program (Gillick & Favre 2009).

Concepts are the story's word bigrams (stemmed, stop words kept inside a bigram but not
bigrams of two stop words: the unit ROUGE-2 and a reader both count), each weighted by how
many independent sources carry it: the story's articles, a sentence carried verbatim by
several articles and near-copies across articles (word trigram Jaccard >= ``copy_overlap``:
syndicated or translated wire copy) counting once (``copy_sources``); bigrams fewer than
``concept_min_docs`` sources carry are noise and dropped. Beside them, facts: every
candidate's statement, covered by any chosen sentence within ``fact_similarity`` content
cosine of it, worth the share of sources saying it (a thresholded facility location, Lin &
Bilmes 2011: what outlets tell in their own words shares content words, not bigrams). The
summary maximises

    sum_c w_c * covered_c / max(w)  +  w_facts * sum_f share_f * covered_f
      +  sum_s (w_prior * relevance_s - sentence_cost) * chosen_s

(each concept and fact counted once, however many chosen sentences repeat it; ``relevance``
is the learned score of ``relevance.py``: position prior, centrality, support) subject to

- the word budget (and the sentence cap, when one is given);
- covered_c <= sum of chosen sentences holding c; covered_f likewise;
- redundancy cuts: two sentences whose content-term or raw-token cosine or containment is
  above the thresholds of ``SummaryParams`` (compared without their attribution, "X said
  on Tuesday that": ``attribution.py``), whose neighbourhoods overlap (``neighbour_overlap``:
  paraphrases in other words), or one of which quotes words (2+) that the other also carries
  (the same remark reported twice), are never both chosen;
- context: a sentence that needs the one before it (``Unit.needs``) is chosen only with it.

Solved exactly by HiGHS through ``scipy.optimize.milp`` on the ``ilp_max_units`` most
promising units (by relevance plus concept weight), its work capped by branch-and-bound
nodes (the clock limit is only a safety net); the columns are in a fixed order, so the same
story gets the same summary in every process and under any load. Words the program leaves
unused are filled with the most promising candidates that break no cut (``_fill``). When the
solver stops at a limit, the greedy selection of ``selection.py`` is used instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from digest.summarize.attribution import attribution
from digest.summarize.params import SummaryParams
from digest.summarize.relevance import Story
from digest.text import FOLDED, stop_words, term_map, words


@dataclass
class Bigrams:
    """Concept ids per unit (distinct) and the weight (article count) of each concept."""

    per_unit: list[np.ndarray]
    weight: np.ndarray


@dataclass
class _TokenIds:
    """The units' tokens as integer ids, concatenated (``start[k]:start[k+1]`` is unit k)."""

    folded: np.ndarray  # id of the folded word
    key: np.ndarray  # id of the content term, or of the folded stop word
    stop: np.ndarray  # bool: a stop word
    start: np.ndarray
    n_folded: int
    n_key: int


def _token_ids(story: Story) -> _TokenIds:
    folded_ids = story.raw_vocab
    folded_of = story.folded
    if not folded_ids:  # a Story built by hand
        folded_of = [[FOLDED[w] for w in u.tokens] for u in story.units]
        folded_ids = _vocab(folded_of)
    folded = np.fromiter((folded_ids[f] for toks in folded_of for f in toks), dtype=np.int64)
    lens = np.array([len(toks) for toks in folded_of], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    # key (content term, else the stop word itself) per distinct (language, folded word)
    names = list(folded_ids)
    key = np.zeros(len(folded), dtype=np.int64)
    stop = np.zeros(len(folded), dtype=bool)
    key_ids: dict[str, int] = {}
    langs = np.repeat(np.array([u.lang or "" for u in story.units], dtype=object), lens)
    for lang in sorted(set(langs.tolist())):
        tm = term_map(lang or None)
        at = np.flatnonzero(langs == lang) if len(set(langs.tolist())) > 1 else slice(None)
        distinct = np.unique(folded[at])
        k_of = np.zeros(len(names), dtype=np.int64)
        s_of = np.zeros(len(names), dtype=bool)
        for d in distinct.tolist():
            f = names[d]
            t = tm[f]
            k_of[d] = key_ids.setdefault(t or f, len(key_ids))
            s_of[d] = not t
        key[at] = k_of[folded[at]]
        stop[at] = s_of[folded[at]]
    return _TokenIds(folded, key, stop, start, len(folded_ids), len(key_ids))


def _pairs_in_units(start: np.ndarray, n: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions p of the concatenated tokens where p .. p+span-1 lie in one unit, and that
    unit's index."""
    unit_of = np.repeat(np.arange(len(start) - 1), np.diff(start))
    if n < span:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    p = np.arange(n - span + 1)
    ok = unit_of[p] == unit_of[p + span - 1]
    return p[ok], unit_of[p[ok]]


def bigram_concepts(
    story: Story,
    min_docs: int,
    w_unigram: float = 0.0,
    copy_overlap: float | None = None,
    ids: _TokenIds | None = None,
    source: np.ndarray | None = None,
) -> Bigrams:
    """Word bigrams of the units, weighted by the number of articles that carry them; with
    ``w_unigram`` > 0, content words too (weight ``w_unigram`` x article count): facts told
    in different words by different outlets share their words, not their bigrams. With
    ``copy_overlap`` (or the ``source`` of each unit given), copies count once: a sentence
    carried verbatim by several articles, and sentences of different articles whose word
    trigrams overlap that much (Jaccard, ``copy_sources``)."""
    ids = ids or _token_ids(story)
    if source is None and copy_overlap is not None:
        source = copy_sources(story, copy_overlap, ids)
    p, unit = _pairs_in_units(ids.start, len(ids.key), 2)
    keep = ~(ids.stop[p] & ids.stop[p + 1])
    p, unit = p[keep], unit[keep]
    v = ids.n_key + 1
    code = ids.key[p] * v + ids.key[p + 1]
    if w_unigram > 0:
        q = np.flatnonzero(~ids.stop)
        unit_of = np.repeat(np.arange(len(ids.start) - 1), np.diff(ids.start))
        code = np.concatenate([code, ids.key[q] * v + ids.n_key])  # (word, nothing)
        unit = np.concatenate([unit, unit_of[q]])
    # who carries each gram: each unit's source article, or every article carrying the unit
    if source is not None:
        carrier = source[unit]
    else:
        docs = [sorted(u.docs) for u in story.units]
        reps = np.array([len(d) for d in docs])
        flat = np.array([d for ds in docs for d in ds], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(reps)])
        pick = np.repeat(np.arange(len(code)), reps[unit])
        within = np.arange(len(pick)) - np.repeat(
            np.concatenate([[0], np.cumsum(reps[unit])[:-1]]), reps[unit]
        )
        carrier = flat[offs[unit[pick]] + within]
        code_c, unit = code[pick], unit[pick]
        code = code_c
    n_docs = int(max(story.n_docs, carrier.max(initial=0) + 1))
    gram_doc = np.unique(code * n_docs + carrier)
    grams, df = np.unique(gram_doc // n_docs, return_counts=True)
    heavy = df >= min_docs
    concept_of = np.full(len(grams), -1, dtype=np.int64)
    concept_of[heavy] = np.arange(int(heavy.sum()))
    weight = df[heavy].astype(np.float64)
    if w_unigram > 0:
        weight[grams[heavy] % v == ids.n_key] *= w_unigram
    c = concept_of[np.searchsorted(grams, code)]
    pairs = np.unique(unit[c >= 0] * max(len(weight), 1) + c[c >= 0])
    per_unit_of = pairs // max(len(weight), 1)
    bounds = np.searchsorted(per_unit_of, np.arange(len(story.units) + 1))
    concepts = pairs % max(len(weight), 1)
    per_unit = [concepts[bounds[k] : bounds[k + 1]] for k in range(len(story.units))]
    return Bigrams(per_unit, weight)


def copy_sources(story: Story, overlap: float, ids: _TokenIds | None = None) -> np.ndarray:
    """Per unit, the article it counts for as a source: its own (first) article, or, for
    near-copies of other articles' sentences (word trigram Jaccard >= ``overlap``), the first
    article of its group of copies (single link)."""
    ids = ids or _token_ids(story)
    n = len(story.units)
    source = np.array([u.doc for u in story.units], dtype=np.int64)
    p, unit = _pairs_in_units(ids.start, len(ids.folded), 3)
    if overlap > 1.0 or not len(p):
        return source
    v = ids.n_folded
    code = (ids.folded[p] * v + ids.folded[p + 1]) * v + ids.folded[p + 2]
    _, tri = np.unique(code, return_inverse=True)
    cells = np.unique(tri * n + unit)  # distinct (trigram, unit)
    m = sp.csr_matrix((np.ones(len(cells)), (cells % n, cells // n)), shape=(n, int(tri.max()) + 1))
    size = np.asarray(m.sum(axis=1)).ravel()
    shared = sp.triu(m @ m.T, k=1).tocoo()
    jac = shared.data / np.maximum(size[shared.row] + size[shared.col] - shared.data, 1.0)
    keep = (jac >= overlap) & (source[shared.row] != source[shared.col])
    if keep.any():
        graph = sp.csr_matrix(
            (np.ones(int(keep.sum())), (shared.row[keep], shared.col[keep])), shape=(n, n)
        )
        from scipy.sparse.csgraph import connected_components

        _, label = connected_components(graph, directed=False)
        first = np.full(label.max() + 1, np.iinfo(np.int64).max)
        np.minimum.at(first, label, source)
        source = first[label]
    return source


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """HiGHS (C++) may print solver notes on the process's stdout even with ``disp`` off;
    stdout carries the CLI's JSON lines, so send them to stderr while it runs."""
    try:
        out = sys.stdout.fileno()
        err = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (captured): nothing to do
        yield
        return
    sys.stdout.flush()
    saved = os.dup(out)
    try:
        os.dup2(err, out)
        yield
    finally:
        os.dup2(saved, out)
        os.close(saved)


def _vocab(lists) -> dict[str, int]:
    """Column ids of ``digest.text.tfidf_matrix`` (first-seen order)."""
    vocab: dict[str, int] = {}
    for toks in lists:
        for t in toks:
            vocab.setdefault(t, len(vocab))
    return vocab


def _drop_columns(m: sp.csr_matrix, drop: list[list[int]]) -> sp.csr_matrix:
    """Rows of ``m`` with the columns ``drop[r]`` zeroed, re-normalised (a row that would be
    empty is kept whole)."""
    m = m.tolil(copy=True)
    for r, cols in enumerate(drop):
        if not cols:
            continue
        row = dict(zip(m.rows[r], m.data[r], strict=True))
        for c in cols:
            row.pop(c, None)
        norm = np.sqrt(sum(v * v for v in row.values()))
        if norm > 0:
            m.rows[r] = sorted(row)
            m.data[r] = [row[c] / norm for c in m.rows[r]]
    return m.tocsr()


def without_attribution(story: Story, cand: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Content-term and raw-token rows of the units ``cand`` without the words only their
    attribution carries (``attribution.py``): one speaker's different facts are not alike."""
    x = story.x[cand]
    raw = story.raw[cand]
    spans = [attribution(story.units[u].text) for u in cand]
    if not any(spans):
        return x, raw
    content_ids = story.vocab or _vocab(story.content)
    raw_ids = story.raw_vocab or _vocab([FOLDED[w] for w in u.tokens] for u in story.units)
    drop_x, drop_raw = [], []
    for u, span in zip(cand, spans, strict=True):
        if not span:
            drop_x.append([])
            drop_raw.append([])
            continue
        unit = story.units[u]
        stops = stop_words(unit.lang)
        terms = story.content[u]
        k = 0
        said, rest, said_raw, rest_raw = set(), set(), set(), set()
        for pos, w in enumerate(unit.tokens):
            f = FOLDED[w]
            (said_raw if pos in span else rest_raw).add(f)
            if f in stops or len(f) < 2:  # what digest.text.story_terms leaves out
                continue
            (said if pos in span else rest).add(terms[k])
            k += 1
        drop_x.append([content_ids[t] for t in said - rest])
        drop_raw.append([raw_ids[t] for t in said_raw - rest_raw])
    return _drop_columns(x, drop_x), _drop_columns(raw, drop_raw)


def _conflicts(
    story: Story, cand: np.ndarray, x: sp.csr_matrix, raw: sp.csr_matrix, params: SummaryParams
) -> list[tuple[int, int]]:
    """Pairs (positions in ``cand``) that the redundancy cuts forbid together (``x``, ``raw``:
    the candidates' rows as compared)."""
    sim = (x @ x.T).toarray()
    sim_raw = (raw @ raw.T).toarray()
    present = x.copy()
    present.data[:] = 1.0
    shared = (present @ present.T).toarray()
    size = np.maximum(np.asarray(present.sum(axis=1)).ravel(), 1.0)
    contained = shared / np.minimum(size[:, None], size[None, :])
    bad = (sim > params.redundancy) | (sim_raw > params.token_redundancy)
    bad |= contained > params.containment
    # The same remark quoted twice ("kesalahan besar" in one report, inside a longer quote in
    # another) is one fact, however different the rest of the two sentences.
    texts = [" ".join(FOLDED[w] for w in story.units[u].tokens) for u in cand]
    for a, u in enumerate(cand):
        for span in quoted_spans(story.units[u].text):
            for b, other in enumerate(texts):
                if b != a and f" {span} " in f" {other} ":
                    bad[min(a, b), max(a, b)] = True
    if params.neighbour_overlap is not None:
        # Second-order paraphrase: two sentences that the same other sentences restate say
        # the same thing, even in different words ("Kim will meet Putin" / "Kim plans to
        # visit Russia"): Jaccard of their neighbourhoods (cosine >= fact_similarity), with
        # at least one other sentence in common (two sentences that are only each other's
        # neighbours are the first-order cuts' business).
        near = (sim >= params.fact_similarity).astype(np.float64)
        np.fill_diagonal(near, 1.0)
        inter = near @ near.T
        deg = near.sum(axis=1)
        others = inter - 2.0 * near  # common neighbours besides the two themselves
        jaccard = inter / (deg[:, None] + deg[None, :] - inter)
        bad |= (jaccard >= params.neighbour_overlap) & (others >= 1)
    i, j = np.nonzero(np.triu(bad, k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{3,300})[\"“”«»]|(?:``|‘|')([^`‘’']{3,300})(?:''|’|')")
QUOTE_MIN_WORDS = 2


def quoted_spans(text: str) -> list[str]:
    """Folded words of each quotation of at least ``QUOTE_MIN_WORDS`` words in ``text``."""
    out = []
    for m in _QUOTED.finditer(text):
        toks = words(m.group(1) or m.group(2))
        if len(toks) >= QUOTE_MIN_WORDS:
            out.append(" ".join(FOLDED[w] for w in toks))
    return out


def select_coverage(
    story: Story,
    score: np.ndarray,
    max_words: int | None,
    max_sentences: int | None,
    params: SummaryParams,
) -> list[int] | None:
    """Unit indices of the best summary (see the module docstring); None if not solved."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    units = story.units
    min_docs = max(2, min(params.concept_min_docs, int(np.ceil(story.n_docs / 3))))
    token_ids = _token_ids(story)
    source = (
        copy_sources(story, params.copy_overlap, token_ids)
        if params.copy_overlap is not None
        else None
    )
    bigrams = bigram_concepts(story, min_docs, params.w_unigram, ids=token_ids, source=source)
    w = bigrams.weight
    top_w = w.max() if len(w) else 1.0
    value = np.array([w[c].sum() for c in bigrams.per_unit]) / top_w
    length = np.array([u.n_words for u in units], dtype=np.float64)
    budget = float(max_words) if max_words is not None else float(length.sum())
    # Candidates: the most promising units that fit, and no unit whose context cannot come.
    ok = (length <= budget) & (length <= params.coverage_max_unit_words)
    needs = np.array([-1 if u.needs is None else u.needs for u in units])
    ok &= needs != -2  # -2: needs a sentence that is not a candidate
    promise = params.w_prior * score + value / max(value.max(initial=0.0), 1e-9)
    order = np.argsort(-np.where(ok, promise, -np.inf), kind="stable")
    cand = [int(i) for i in order[: params.ilp_max_units] if ok[i]]
    # a dependent sentence's context must be a candidate too
    while True:
        kept = set(cand)
        pruned = [u for u in cand if needs[u] < 0 or needs[u] in kept]
        if len(pruned) == len(cand):
            break
        cand = pruned
    if not cand:
        return []
    cand_arr = np.array(cand)
    pos = {u: k for k, u in enumerate(cand)}
    m = len(cand)

    # concepts present among the candidates, renumbered
    concept_ids = sorted({int(c) for u in cand for c in bigrams.per_unit[u]})
    cpos = {c: k for k, c in enumerate(concept_ids)}
    k_c = len(concept_ids)
    if params.attribution_blind:
        x_cmp, raw_cmp = without_attribution(story, cand_arr)
    else:
        x_cmp, raw_cmp = story.x[cand_arr], story.raw[cand_arr]
    # Facts: each candidate's statement, covered by any chosen candidate that says nearly the
    # same (content cosine >= fact_similarity), weighted by the share of articles saying it.
    fact_cover = []
    fact_w = np.zeros(0)
    if params.w_facts > 0:
        sim = (x_cmp @ x_cmp.T).toarray()
        near = sim >= params.fact_similarity
        np.fill_diagonal(near, True)
        src = source if source is not None else story.doc_of
        fact_w = np.array(
            [len({int(src[cand[j]]) for j in np.flatnonzero(near[i])}) for i in range(m)],
            dtype=np.float64,
        ) / max(story.n_docs, 1)
        if params.fact_variables:
            # facts at least two sources tell (one source's statement is worth little and
            # would double the program's size)
            told = np.flatnonzero(fact_w * max(story.n_docs, 1) >= 2 - 1e-9)
            fact_cover = [np.flatnonzero(near[i]) for i in told]
            fact_w = fact_w[told]
    own = params.w_prior * score[cand_arr] - params.sentence_cost
    if params.w_facts > 0 and not params.fact_variables:
        # each sentence worth the share of sources telling its fact; the paraphrase cut
        # keeps two tellings of one fact out, so counting it per sentence counts it once
        own = own + params.w_facts * fact_w
        fact_w = np.zeros(0)
    obj = np.concatenate([own, w[concept_ids] / top_w, params.w_facts * fact_w])
    n_var = m + k_c + len(fact_cover)

    rows, cols, vals, lb, ub = [], [], [], [], []
    r = 0

    def add(entries: Sequence[tuple[int, float]], lo: float, hi: float) -> None:
        nonlocal r
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v)
        lb.append(lo)
        ub.append(hi)
        r += 1

    add([(k, length[u]) for k, u in enumerate(cand)], -np.inf, budget)
    if max_sentences is not None:
        add([(k, 1.0) for k in range(m)], -np.inf, float(max_sentences))
    holders: dict[int, list[int]] = {}
    for k, u in enumerate(cand):
        for c in bigrams.per_unit[u]:
            holders.setdefault(cpos[int(c)], []).append(k)
    for c, ks in holders.items():
        add([(m + c, 1.0)] + [(k, -1.0) for k in ks], -np.inf, 0.0)
    for i, ks in enumerate(fact_cover):
        add([(m + k_c + i, 1.0)] + [(int(k), -1.0) for k in ks], -np.inf, 0.0)
    conflicts = _conflicts(story, cand_arr, x_cmp, raw_cmp, params)
    for clique in clique_cover(m, conflicts):
        add([(k, 1.0) for k in clique], -np.inf, 1.0)
    for k, u in enumerate(cand):
        if needs[u] >= 0:
            add([(k, 1.0), (pos[int(needs[u])], -1.0)], -np.inf, 0.0)
    a_mat = sp.csr_matrix((vals, (rows, cols)), shape=(r, n_var))
    with _stdout_to_stderr():
        res = milp(
            -obj,
            constraints=LinearConstraint(a_mat, lb, ub),
            integrality=np.ones(n_var),
            bounds=Bounds(0, 1),
            options={
                "time_limit": params.ilp_time_limit,
                "node_limit": params.ilp_node_limit,
                "disp": False,
                "mip_rel_gap": params.ilp_gap,
            },
        )
    if res.x is None or res.status != 0:
        # Stopped by a limit: its incumbent depends on how far it got, so use the greedy
        # path, which is deterministic.
        return None
    taken = [k for k in range(m) if res.x[k] > 0.5]
    taken = _fill(taken, cand, conflicts, length, budget, max_sentences, needs, promise)
    chosen = [cand[k] for k in taken]
    return sorted(chosen, key=lambda i: -score[i])


def clique_cover(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Cliques of the conflict graph covering every conflicting pair (greedy, deterministic):
    "at most one of these" over a clique says what its pairs say, and a much tighter linear
    relaxation lets the solver finish at the root instead of branching for seconds."""
    adj: list[set[int]] = [set() for _ in range(n)]
    for a, b in pairs:
        adj[a].add(b)
        adj[b].add(a)
    left = {(min(a, b), max(a, b)) for a, b in pairs}
    out = []
    for a, b in sorted(left):
        if (a, b) not in left:
            continue
        clique = [a, b]
        common = adj[a] & adj[b]
        while common:
            # the member that keeps most of the rest, lowest index on ties
            c = max(sorted(common), key=lambda v: len(adj[v] & common))
            clique.append(c)
            common &= adj[c]
        clique.sort()
        for i, u in enumerate(clique):
            for v in clique[i + 1 :]:
                left.discard((u, v))
        out.append(clique)
    return out


def _fill(
    taken: list[int],
    cand: list[int],
    conflicts: list[tuple[int, int]],
    length: np.ndarray,
    budget: float,
    max_sentences: int | None,
    needs: np.ndarray,
    promise: np.ndarray,
) -> list[int]:
    """The program's choice, then (most promising first) every candidate that still fits the
    budget and breaks no redundancy cut or context rule: the per-sentence cost may leave
    words unused that a sentence with nothing in common with the rest would fill."""
    taken = list(taken)
    against: dict[int, set[int]] = {}
    for a, b in conflicts:
        against.setdefault(a, set()).add(b)
        against.setdefault(b, set()).add(a)
    pos = {u: k for k, u in enumerate(cand)}
    used = float(sum(length[cand[k]] for k in taken))
    chosen = set(taken)
    for k in sorted(range(len(cand)), key=lambda k: (-promise[cand[k]], k)):
        if max_sentences is not None and len(taken) >= max_sentences:
            break
        u = cand[k]
        if k in chosen or used + length[u] > budget or against.get(k, set()) & chosen:
            continue
        if needs[u] >= 0 and pos.get(int(needs[u])) not in chosen:
            continue
        taken.append(k)
        chosen.add(k)
        used += length[u]
    return taken
