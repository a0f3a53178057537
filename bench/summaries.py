"""Benchmark of the summarizer (issue 5): ROUGE on IndoSum, redundancy on ECB+, speed.

    python bench/summaries.py [--limit N] [--tune] [--skip-speed]

- ROUGE-1/2/L F1 (lowercased word tokens, hand-written, no stemming) of ``summarize`` against
  Lead-3 and plain sumy LexRank, run here on the same sentence units and the same word
  budget (the reference's length, whole sentences only), on the evaluation part of
  indosum-dev (rows whose index % 5 != 0; rows with index % 5 == 0 are the tuning slice).
- Redundancy: each ECB+ event (train+dev) summarized at 100 words; the largest cosine of
  lowercase token counts between two sentences of one summary.
- Speed: seconds per story of 10 / 50 / 200 articles (IndoSum articles pooled into one story,
  Indonesian stemming), for ``summarize`` (cold = first call in the process, stem cache
  empty; warm = again) and plain sumy LexRank (capped at 50 articles: quadratic pure Python).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.lang import words  # noqa: E402
from digest.models import Doc  # noqa: E402
from digest.sentences import split_sentences  # noqa: E402
from digest.summarize import DEFAULT_PARAMS, summarize, sumy_ratings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
INDOSUM = EVAL / "summarization" / "indosum-dev.jsonl"
ECBPLUS = EVAL / "clustering" / "ecbplus-train-dev.jsonl"

# ------------------------------------------------------------------------------ ROUGE

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def _f1(overlap: float, n_sys: int, n_ref: int) -> float:
    if not overlap or not n_sys or not n_ref:
        return 0.0
    p, r = overlap / n_sys, overlap / n_ref
    return 2 * p * r / (p + r)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge(system: str, reference: str) -> tuple[float, float, float]:
    """ROUGE-1, ROUGE-2, ROUGE-L F1 (summary-level LCS) of ``system`` against ``reference``."""
    s, r = tokens(system), tokens(reference)
    out = []
    for n in (1, 2):
        a, b = _ngrams(s, n), _ngrams(r, n)
        out.append(_f1(sum((a & b).values()), sum(a.values()), sum(b.values())))
    out.append(_f1(_lcs(s, r), len(s), len(r)))
    return tuple(out)


# ---------------------------------------------------------------------------- systems


def n_words(text: str) -> int:
    return len(words(text))


def fill(sentences: list[str], order: list[int], budget: int, limit: int | None = None):
    """Whole sentences in ``order`` while they fit ``budget`` words; output in text order."""
    chosen, used = [], 0
    for i in order:
        if limit is not None and len(chosen) >= limit:
            break
        w = n_words(sentences[i])
        if used + w <= budget:
            chosen.append(i)
            used += w
    return [sentences[i] for i in sorted(chosen)]


def lead(docs: list[Doc], budget: int, k: int | None = 3) -> list[str]:
    """Lead-k: the first sentences of the first article, stopping at the first that overflows."""
    sents = split_sentences(docs[0].text, docs[0].lang)
    out, used = [], 0
    for s in sents[: k or len(sents)]:
        w = n_words(s)
        if used + w > budget:
            break
        out.append(s)
        used += w
    return out


def plain_sumy_lexrank(docs: list[Doc], budget: int, lang: str | None) -> list[str]:
    """sumy's LexRankSummarizer (offline tokenizer, Sastrawi/snowball stemmer, stop words)."""
    sents, groups = [], []
    for i, d in enumerate(docs):
        for s in split_sentences(d.text, lang):
            sents.append(s)
            groups.append(i)
    if not sents:
        return []
    scores = sumy_ratings(sents, groups, "lexrank", lang)
    order = sorted(range(len(sents)), key=lambda i: -scores[i])
    return fill(sents, order, budget)


def method(docs: list[Doc], budget: int, lang: str | None, params=DEFAULT_PARAMS) -> list[str]:
    return [s.text for s in summarize(docs, lang, max_words=budget, params=params)]


# ------------------------------------------------------------------------------- data


def load_indosum(limit: int | None = None, part: str = "eval"):
    rows = []
    with INDOSUM.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if (i % 5 == 0) != (part == "tune"):
                continue
            r = json.loads(line)
            d = r["docs"][0]
            rows.append(([Doc(title=d.get("title") or "", text=d["text"], lang="id")], r))
            if limit and len(rows) >= limit:
                break
    return rows


def reference_text(r) -> str:
    return "\n".join(r["references"])


def score_rows(rows, systems) -> dict[str, list[tuple[float, float, float]]]:
    results: dict[str, list] = {name: [] for name in systems}
    for docs, r in rows:
        ref = reference_text(r)
        budget = n_words(ref)
        for name, fn in systems.items():
            results[name].append(rouge(" ".join(fn(docs, budget)), ref))
    return results


def paired_bootstrap(a: list[float], b: list[float], n: int = 1000, seed: int = 0):
    """95% interval of mean(a - b) by paired bootstrap."""
    rng = random.Random(seed)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    means = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(n))
    return statistics.fmean(diffs), means[int(0.025 * n)], means[int(0.975 * n)]


def report_rouge(limit: int | None) -> None:
    rows = load_indosum(limit, "eval")
    systems = {
        "method (summarize)": lambda docs, b: method(docs, b, "id"),
        "Lead-3": lambda docs, b: lead(docs, b, 3),
        "sumy LexRank (plain)": lambda docs, b: plain_sumy_lexrank(docs, b, "id"),
    }
    t0 = time.perf_counter()
    results = score_rows(rows, systems)
    print(f"\n== IndoSum dev, evaluation part: {len(rows)} articles, budget = reference length")
    print(f"{'system':24} {'R-1':>6} {'R-2':>6} {'R-L':>6}   (F1 x 100)")
    for name, vals in results.items():
        means = [100 * statistics.fmean(v[k] for v in vals) for k in range(3)]
        print(f"{name:24} {means[0]:6.2f} {means[1]:6.2f} {means[2]:6.2f}")
    ours = [v[1] for v in results["method (summarize)"]]
    for base in ("Lead-3", "sumy LexRank (plain)"):
        d, lo, hi = paired_bootstrap(ours, [v[1] for v in results[base]])
        print(
            f"ROUGE-2 method - {base}: {100 * d:+.2f} (95% CI {100 * lo:+.2f} .. {100 * hi:+.2f})"
        )
    print(f"({time.perf_counter() - t0:.0f} s)")


# ------------------------------------------------------------------------------ tuning

GRID = {
    "w_centrality": (0.0, 0.5, 1.0),
    "w_centroid": (0.0, 0.5, 1.0),
    "w_position": (3.0, 6.0, 10.0),
    "position_decay": (0.5, 1.0, 1.5),
    "length_exponent": (0.0, 0.3),
}
_TUNE_ROWS: list = []


def _tune_one(combo):
    keys = list(GRID)
    params = replace(DEFAULT_PARAMS, **dict(zip(keys, combo, strict=True)))
    res = score_rows(_TUNE_ROWS, {"m": lambda docs, b: method(docs, b, "id", params)})["m"]
    return 100 * statistics.fmean(v[1] for v in res), combo


def tune(limit: int | None) -> None:
    """Grid search of the mixture weights on the tuning slice (2 processes)."""
    import multiprocessing

    _TUNE_ROWS[:] = load_indosum(limit or 200, "tune")
    keys = list(GRID)
    combos = list(itertools.product(*(GRID[k] for k in keys)))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        best = []
        for r2, combo in pool.imap_unordered(_tune_one, combos):
            best.append((r2, combo))
            print(f"{r2:6.2f} {dict(zip(keys, combo, strict=True))}", flush=True)
    best.sort(reverse=True)
    print(f"\nbest ROUGE-2 F1 on the tuning slice ({len(_TUNE_ROWS)} articles):")
    for r2, combo in best[:10]:
        print(f"{r2:6.2f} {dict(zip(keys, combo, strict=True))}")


# -------------------------------------------------------------------------- redundancy


def token_cosine(a: str, b: str) -> float:
    ca, cb = Counter(tokens(a)), Counter(tokens(b))
    dot = sum(v * cb[k] for k, v in ca.items())
    na = math.sqrt(sum(v * v for v in ca.values()))
    nb = math.sqrt(sum(v * v for v in cb.values()))
    return dot / (na * nb) if na and nb else 0.0


def report_redundancy() -> None:
    events = defaultdict(list)
    with ECBPLUS.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            events[r["cluster"]].append(Doc(title=r["title"], text=r["text"], lang=r["lang"]))
    print(f"\n== Redundancy: {len(events)} ECB+ events, 100-word summaries")
    for name, fn in (
        ("method (summarize)", lambda docs: method(docs, 100, "en")),
        ("sumy LexRank (plain)", lambda docs: plain_sumy_lexrank(docs, 100, "en")),
    ):
        worst, over, pairs, lengths = 0.0, 0, 0, []
        for docs in events.values():
            sents = fn(docs)
            lengths.append(sum(n_words(s) for s in sents))
            for a, b in itertools.combinations(sents, 2):
                c = token_cosine(a, b)
                worst = max(worst, c)
                over += c > 0.5
                pairs += 1
        print(
            f"{name:24} max token cosine {worst:.3f}; pairs > 0.5: {over}/{pairs}; "
            f"words per summary {statistics.fmean(lengths):.0f} (max {max(lengths)})"
        )


# ------------------------------------------------------------------------------- speed


def report_speed() -> None:
    pool = [docs[0] for docs, _ in load_indosum(None, "eval")[:200]]
    print("\n== Speed: seconds per story (IndoSum articles pooled, lang id, 150 words)")
    head = ("articles", "sentences", "method cold", "method warm", "sumy LexRank")
    print(f"{head[0]:>8} {head[1]:>9} {head[2]:>11} {head[3]:>11} {head[4]:>12}")
    for k in (10, 50, 200):
        docs = pool[:k]
        n_sent = sum(len(split_sentences(d.text, "id")) for d in docs)
        # cold: a fresh stem cache is what a new worker process sees
        from digest.lang import stemmer

        stemmer.cache_clear()
        t = time.perf_counter()
        summarize(docs, "id", max_words=150)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        summarize(docs, "id", max_words=150)
        warm = time.perf_counter() - t
        if k <= 50:
            t = time.perf_counter()
            plain_sumy_lexrank(docs, 150, "id")
            plain = f"{time.perf_counter() - t:12.2f}"
        else:
            plain = f"{'(skipped)':>12}"
        print(f"{k:8d} {n_sent:9d} {cold:11.2f} {warm:11.2f} {plain}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="IndoSum articles to score")
    ap.add_argument("--tune", action="store_true", help="grid search on the tuning slice")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-rouge", action="store_true")
    args = ap.parse_args()
    if args.tune:
        tune(args.limit)
        return
    if not args.skip_rouge:
        report_rouge(args.limit)
    report_redundancy()
    if not args.skip_speed:
        report_speed()


if __name__ == "__main__":
    main()
