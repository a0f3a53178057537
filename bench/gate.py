"""Evaluation gate: a small, fast slice of each benchmark against the floors in floors.toml.

    python bench/gate.py [--floors PATH]

Prints each number beside its floor and exits 1 when any number is below its floor (2 when
the data or the floors file is missing). Runs in CI after the tests (``make gate``); meant to
take well under 3 minutes on a busy 2-core machine. The slices:

- grouping, ECB+ dev (197 articles, 16 events) and the IndoSum stream dev (203 articles, 182
  stories): B-cubed precision and F1 of ``newsdigest cluster`` (format A records cleaned as
  the command cleans them, then one stateless grouping);
- IndoSum: every 6th row of indosum-dev, ROUGE-2 F1 of ``newsdigest summarize`` at the
  reference's length (the metric of bench/summaries.py);
- ECB+ multi-document: the 16 dev events of ecbplus-mds-train-dev, ROUGE-2 recall at 100
  words (ROUGE-1.5.5 conventions, bench/metrics.py);
- extraction: every 2nd Fundus page, bag-of-words F1 of the text the pipeline stores for it
  (bench/extraction.py's metric; a page stored as nothing scores 0).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

# The metrics, imported from the benchmarks that own them (never copied).
from extraction import prf  # noqa: E402  (bench/extraction.py)
from grouping import bcubed  # noqa: E402  (bench/grouping.py)
from metrics import rouge_n_recall  # noqa: E402  (bench/metrics.py)
from summaries import n_words, rouge  # noqa: E402  (bench/summaries.py)

# ------------------------------------------------------------------ the product's entry points
# Exactly what the CLI and the pipeline call; re-point these lines when the modules move.
from digest.extract import extract_html  # noqa: E402  (web source: page -> article text)
from digest.grouping import cluster_articles  # noqa: E402  (newsdigest cluster)
from digest.models import Article, Doc  # noqa: E402
from digest.prepare import ArticleRejected, prepare_article  # noqa: E402  (every source)
from digest.summarize import summarize as summarize_docs  # noqa: E402  (newsdigest summarize)
from flows.steps import articles_for_cluster  # noqa: E402  (newsdigest cluster: format A in)

EVAL = ROOT.parent / "shared" / "eval"
ECBPLUS = EVAL / "clustering" / "ecbplus-train-dev.jsonl"
STREAM = EVAL / "clustering" / "indosum-stream-dev.jsonl"
INDOSUM = EVAL / "summarization" / "indosum-dev.jsonl"
ECBPLUS_MDS = EVAL / "summarization" / "ecbplus-mds-train-dev.jsonl"
FUNDUS = EVAL / "extraction" / "fundus-dev.jsonl.gz"
FLOORS = BENCH / "floors.toml"

INDOSUM_STRIDE = 6  # every 6th row: 292 of 1,752
FUNDUS_STRIDE = 2  # every 2nd page: 64 of 127
MDS_WORDS = 100


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------------- slices


def _cluster(records: list[dict]) -> list[str]:
    return cluster_articles(articles_for_cluster(records))


def grouping_ecbplus_dev() -> dict[str, float]:
    rows = [r for r in _jsonl(ECBPLUS) if r["split"] == "dev"]
    records = [
        {
            "id": r["id"],
            "title": r["title"],
            "text": r["text"],
            "url": r.get("url") or None,
            "published": r.get("date") or None,
            "lang": r.get("lang"),
        }
        for r in rows
    ]
    p, _, f = bcubed(_cluster(records), [r["cluster"] for r in rows])
    return {"bcubed_precision": p, "bcubed_f1": f}


def grouping_stream_dev() -> dict[str, float]:
    rows = _jsonl(STREAM)
    records = [
        {
            "id": r["id"],
            "title": r["title"],
            "text": r["text"],
            "url": r.get("url"),
            "source": r.get("outlet"),
            "published": r.get("published"),
        }
        for r in rows
    ]
    p, _, f = bcubed(_cluster(records), [r["story"] for r in rows])
    return {"bcubed_precision": p, "bcubed_f1": f}


def summaries_indosum() -> dict[str, float]:
    scores = []
    for r in _jsonl(INDOSUM)[::INDOSUM_STRIDE]:
        d = r["docs"][0]
        reference = "\n".join(r["references"])
        docs = [Doc(title=d.get("title") or "", text=d["text"], lang="id")]
        summary = summarize_docs(docs, "id", max_words=n_words(reference))
        scores.append(rouge(" ".join(s.text for s in summary), reference)[1])
    return {"rouge2_f1": 100 * statistics.fmean(scores)}


def summaries_ecbplus_mds() -> dict[str, float]:
    scores = []
    for r in _jsonl(ECBPLUS_MDS):
        if r["split"] != "dev":
            continue
        docs = [
            Doc(
                title=d.get("title") or "",
                text=d.get("text") or "",
                url=d.get("url"),
                lang=r["lang"],
            )
            for d in r["docs"]
        ]
        summary = summarize_docs(docs, r["lang"], max_words=MDS_WORDS)
        text = " ".join(s.text for s in summary)
        scores.append(rouge_n_recall(text, " ".join(r["references"]), 2, MDS_WORDS))
    return {"rouge2_recall": 100 * statistics.fmean(scores)}


def extraction_fundus() -> dict[str, float]:
    f1s = []
    for page in _jsonl(FUNDUS)[::FUNDUS_STRIDE]:
        text = ""
        ext = extract_html(page["html"], page["url"])
        if ext is not None:
            raw = Article(
                id="",
                title=ext.title,
                text=ext.text,
                url=page["url"],
                source=ext.sitename,
                published=ext.published,
                lang=ext.lang,
            )
            try:
                text = prepare_article(raw).text
            except ArticleRejected:
                text = ""
        f1s.append(prf(text, page["expected"]["text"])[2])
    return {"f1": statistics.fmean(f1s)}


SLICES = {
    "grouping_ecbplus_dev": grouping_ecbplus_dev,
    "grouping_stream_dev": grouping_stream_dev,
    "summaries_indosum": summaries_indosum,
    "summaries_ecbplus_mds": summaries_ecbplus_mds,
    "extraction_fundus": extraction_fundus,
}


# ----------------------------------------------------------------------------------- gate


def load_floors(path: Path) -> dict[str, dict[str, float]]:
    """``{slice: {metric: floor}}`` from the floors file (see floors.toml)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    floors: dict[str, dict[str, float]] = {}
    for name, metrics in raw.items():
        if name not in SLICES:
            raise SystemExit(f"{path}: unknown slice [{name}]; known: {', '.join(SLICES)}")
        floors[name] = {m: float(v["floor"]) for m, v in metrics.items() if isinstance(v, dict)}
    return floors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floors", type=Path, default=FLOORS, help="floors file (TOML)")
    args = ap.parse_args(argv)
    if not args.floors.is_file():
        print(f"no floors file at {args.floors}: restore bench/floors.toml", file=sys.stderr)
        return 2
    missing = [p for p in (ECBPLUS, STREAM, INDOSUM, ECBPLUS_MDS, FUNDUS) if not p.is_file()]
    if missing:
        print(
            f"evaluation data missing: {missing[0]} (expected in ../shared/eval)", file=sys.stderr
        )
        return 2
    floors = load_floors(args.floors)
    start = time.perf_counter()
    failed = []
    print(f"{'slice':24} {'metric':18} {'value':>8} {'floor':>8}        seconds")
    for name, run in SLICES.items():
        t0 = time.perf_counter()
        values = run()
        secs = time.perf_counter() - t0
        for metric, value in values.items():
            floor = floors.get(name, {}).get(metric)
            if floor is None:
                status = "no floor"
            elif value < floor:
                status = "BELOW"
                failed.append(f"{name}.{metric} {value:.4f} < {floor:.4f}")
            else:
                status = "ok"
            shown = "" if floor is None else f"{floor:8.3f}"
            print(
                f"{name:24} {metric:18} {value:8.3f} {shown:>8}  {status:8} {secs:5.1f}", flush=True
            )
        for metric in set(floors.get(name, {})) - set(values):
            failed.append(f"{name}.{metric} has a floor but the slice does not measure it")
    total = time.perf_counter() - start
    if failed:
        print(f"gate FAILED in {total:.0f} s: " + "; ".join(failed))
        return 1
    print(f"gate passed in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
