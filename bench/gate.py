"""Evaluation gate: a small, fast slice of each benchmark against the floors in floors.toml.

    python bench/gate.py [--floors PATH]

Prints each number beside its floor and exits 1 when any number is below its floor (2 when
the data or the floors file is missing). Runs in CI after the tests (``make gate``); meant to
take well under 3 minutes on a busy 2-core machine. The slices:

- grouping, ECB+ dev (197 articles, 16 events) and the IndoSum stream dev (203 articles, 182
  stories): B-cubed precision and F1 of ``newsdigest cluster`` (format A records cleaned as
  the command cleans them, then one stateless grouping);
- IndoSum: every 8th row of indosum-dev, ROUGE-2 F1 of ``newsdigest summarize`` at the
  reference's length (the metric of bench/summaries.py);
- ECB+ multi-document: the 16 dev events of ecbplus-mds-train-dev, ROUGE-2 recall at 100
  words (ROUGE-1.5.5 conventions, bench/metrics.py);
- extraction: every 3rd Fundus page, bag-of-words F1 of the text the pipeline stores for it
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
from digest.formats import parse_article, parse_cluster  # noqa: E402  (formats A and C)
from digest.grouping import cluster_articles  # noqa: E402  (newsdigest cluster)
from digest.models import Article  # noqa: E402
from digest.prepare import ArticleRejected, prepare_article  # noqa: E402  (every source)
from digest.summarize import summarize as summarize_docs  # noqa: E402  (newsdigest summarize)
from flows.steps import articles_for_cluster  # noqa: E402  (newsdigest cluster: cleaning)


def cluster_records(records: list[dict]) -> list[str]:
    """``newsdigest cluster`` on format A records: a story label per record."""
    articles = [parse_article(r, require=("id", "title", "text")) for r in records]
    return cluster_articles(articles_for_cluster(articles))


def summarize_record(record: dict, max_words: int) -> str:
    """``newsdigest summarize --max-words N`` on one format C record: the summary's text."""
    cluster = parse_cluster(record)
    return " ".join(s.text for s in summarize_docs(cluster.docs, cluster.lang, max_words=max_words))


EVAL = ROOT.parent / "shared" / "eval"
ECBPLUS = EVAL / "clustering" / "ecbplus-train-dev.jsonl"
STREAM = EVAL / "clustering" / "indosum-stream-dev.jsonl"
INDOSUM = EVAL / "summarization" / "indosum-dev.jsonl"
ECBPLUS_MDS = EVAL / "summarization" / "ecbplus-mds-train-dev.jsonl"
FUNDUS = EVAL / "extraction" / "fundus-dev.jsonl.gz"
FLOORS = BENCH / "floors.toml"

INDOSUM_STRIDE = 8  # every 8th row: 219 of 1,752
FUNDUS_STRIDE = 3  # every 3rd page: 43 of 127
MDS_WORDS = 100


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------------- slices


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
    p, _, f = bcubed(cluster_records(records), [r["cluster"] for r in rows])
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
    p, _, f = bcubed(cluster_records(records), [r["story"] for r in rows])
    return {"bcubed_precision": p, "bcubed_f1": f}


def summaries_indosum() -> dict[str, float]:
    scores = []
    for r in _jsonl(INDOSUM)[::INDOSUM_STRIDE]:
        d = r["docs"][0]
        reference = "\n".join(r["references"])
        record = {"id": r["id"], "lang": "id", "docs": [{"title": "", "text": d["text"]}]}
        scores.append(rouge(summarize_record(record, n_words(reference)), reference)[1])
    return {"rouge2_f1": 100 * statistics.fmean(scores)}


def summaries_ecbplus_mds() -> dict[str, float]:
    scores = []
    for r in _jsonl(ECBPLUS_MDS):
        if r["split"] != "dev":
            continue
        record = {"id": r["id"], "lang": r["lang"], "docs": r["docs"]}
        summary = summarize_record(record, MDS_WORDS)
        scores.append(rouge_n_recall(summary, " ".join(r["references"]), 2, MDS_WORDS))
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


class FloorsError(ValueError):
    """The floors file is missing, unreadable or names what the gate does not measure."""


def load_floors(path: Path) -> dict[str, dict[str, float]]:
    """``{slice: {metric: floor}}`` from the floors file (see floors.toml)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FloorsError(f"cannot read the floors file {path}: {exc}") from exc
    floors: dict[str, dict[str, float]] = {}
    for name, metrics in raw.items():
        if name not in SLICES:
            raise FloorsError(f"{path}: unknown slice [{name}]; known: {', '.join(SLICES)}")
        floors[name] = {}
        for metric, entry in metrics.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("floor"), int | float):
                raise FloorsError(f"{path}: [{name}] {metric} needs a numeric floor = ...")
            floors[name][metric] = float(entry["floor"])
    return floors


def check(name: str, values: dict[str, float], floors: dict[str, float]) -> list[tuple]:
    """(slice, metric, value, floor, status) per metric measured or floored; status is
    "ok", "BELOW", "no floor" or "not measured" (a floor whose metric the slice lacks)."""
    rows = []
    for metric, value in values.items():
        floor = floors.get(metric)
        status = "no floor" if floor is None else ("BELOW" if value < floor else "ok")
        rows.append((name, metric, value, floor, status))
    for metric in sorted(set(floors) - set(values)):
        rows.append((name, metric, None, floors[metric], "not measured"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floors", type=Path, default=FLOORS, help="floors file (TOML)")
    ap.add_argument(
        "--only", action="append", choices=list(SLICES), help="run only this slice (repeatable)"
    )
    args = ap.parse_args(argv)
    try:
        floors = load_floors(args.floors)
    except FloorsError as exc:
        print(f"{exc} (bench/floors.toml is the gate's floors file)", file=sys.stderr)
        return 2
    missing = [p for p in (ECBPLUS, STREAM, INDOSUM, ECBPLUS_MDS, FUNDUS) if not p.is_file()]
    if missing:
        print(
            f"evaluation data missing: {missing[0]} (expected in ../shared/eval)", file=sys.stderr
        )
        return 2
    start = time.perf_counter()
    failed = []
    print(f"{'slice':24} {'metric':18} {'value':>8} {'floor':>8}  {'':12} seconds")
    for name in args.only or SLICES:
        t0 = time.perf_counter()
        values = SLICES[name]()
        secs = time.perf_counter() - t0
        for _, metric, value, floor, status in check(name, values, floors.get(name, {})):
            shown_value = "-" if value is None else f"{value:.3f}"
            shown_floor = "-" if floor is None else f"{floor:.3f}"
            print(
                f"{name:24} {metric:18} {shown_value:>8} {shown_floor:>8}  {status:12} {secs:5.1f}",
                flush=True,
            )
            if status in ("BELOW", "not measured"):
                failed.append(f"{name}.{metric} {shown_value} (floor {shown_floor}, {status})")
    total = time.perf_counter() - start
    if failed:
        print(f"gate FAILED in {total:.0f} s: " + "; ".join(failed))
        return 1
    print(f"gate passed in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
