"""Article extraction: the pipeline against plain trafilatura, on real publisher pages.

Quality: bag-of-words precision/recall/F1 (lower-cased ``\\w+`` tokens, counted with
multiplicity) of the extracted body against the hand-checked text of
../shared/eval/extraction/fundus-dev.jsonl.gz, averaged over pages. "pipeline" is the text
newsdigest stores (digest.extract.extract_html, then digest.prepare.prepare_article);
"trafilatura" is ``trafilatura.extract(html, url=url)``, run in the same process.

Speed: pages per second through the whole fetch-extract-clean-store path (the web source's
shared HTTP client against a local server in another process, extraction, cleaning, storing
into SQLite) against plain ``trafilatura.extract`` on the same pages held in memory, one after
the other in one thread. The pipeline runs as it does in production: one job's pages are
fetched and extracted by the fetch threads of this process, with the production limits
(``max_concurrency`` 8, ``per_host_concurrency`` 2: two requests at a time to the one local
host) unless ``--workers N`` sets both; fetching overlaps extraction, the GIL keeps
extraction to one core at a time. The articles are then cleaned and stored. Only the
politeness delay between requests to a host is set to 0 (waiting is not work). Rounds alternate
between the two sides; the best round of each counts. CPU seconds of this process per page
are shown too (the server's are not counted): they move less than wall time on a busy box.

    python bench/extraction.py [--data PATH] [--limit N] [--rounds N] [--workers N] [--no-speed]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "extraction" / "fundus-dev.jsonl.gz"

import trafilatura  # noqa: E402

from digest.extract import extract_html  # noqa: E402
from digest.models import Article  # noqa: E402
from digest.prepare import ArticleRejected, prepare_article  # noqa: E402

_TOKEN = re.compile(r"\w+")


def tokens(text: str | None) -> Counter[str]:
    return Counter(_TOKEN.findall((text or "").lower()))


def prf(pred: str | None, gold: str) -> tuple[float, float, float]:
    p, g = tokens(pred), tokens(gold)
    overlap = sum((p & g).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(g.values()) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def pipeline_text(html: str, url: str) -> tuple[str, str | None]:
    """The body text newsdigest would store for this page, and why it stored none."""
    ext = extract_html(html, url)
    if ext is None:
        return "", "no article found"
    raw = Article(
        id="",
        title=ext.title,
        text=ext.text,
        url=url,
        source=ext.sitename,
        published=ext.published,
        lang=ext.lang,
    )
    try:
        return prepare_article(raw).text, None
    except ArticleRejected as exc:
        return "", str(exc)


def mean(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    n = len(rows) or 1
    return tuple(sum(r[i] for r in rows) / n for i in range(3))  # type: ignore[return-value]


def quality(pages: list[dict]) -> None:
    base, ours, rejected = [], [], []
    for page in pages:
        gold = page["expected"]["text"]
        base.append(prf(trafilatura.extract(page["html"], url=page["url"]), gold))
        text, why = pipeline_text(page["html"], page["url"])
        ours.append(prf(text, gold))
        if why:
            rejected.append((page["url"], why))
    print(f"quality on {len(pages)} pages (bag-of-words, mean per page)")
    print(f"  {'':14} {'P':>6} {'R':>6} {'F1':>6}")
    for name, rows in (("trafilatura", base), ("pipeline", ours)):
        p, r, f = mean(rows)
        print(f"  {name:14} {p:6.3f} {r:6.3f} {f:6.3f}")
    if rejected:
        print(f"  pipeline stored nothing for {len(rejected)} pages (scored as empty):")
        for url, why in rejected:
            print(f"    {url[:80]}: {why}")
        keep = [i for i, page in enumerate(pages) if page["url"] not in {u for u, _ in rejected}]
        for name, rows in (("trafilatura", base), ("pipeline", ours)):
            p, r, f = mean([rows[i] for i in keep])
            print(f"  {name + ' (rest)':22} {p:6.3f} {r:6.3f} {f:6.3f}   ({len(keep)} pages)")


# The pages are stored as UTF-8 whatever their <meta charset> said: say so in the header.
_SERVER = """
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".html": "text/html; charset=utf-8"}
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def speed(pages: list[dict], rounds: int, workers: int | None) -> None:
    os.environ.update(
        {
            "NEWSDIGEST_ALLOW_PRIVATE_HOSTS": "1",
            # politeness waits are not work: no delay between requests to the one local host
            "NEWSDIGEST_PER_HOST_DELAY_SECONDS": "0",
            "NEWSDIGEST_HTTP_MAX_BYTES": str(20 * 1024 * 1024),
        }
    )
    if workers:
        os.environ["NEWSDIGEST_PER_HOST_CONCURRENCY"] = str(workers)
        os.environ["NEWSDIGEST_MAX_CONCURRENCY"] = str(workers)
    from digest.settings import get_settings
    from flows import steps
    from flows.sources.fetch import reset_fetcher
    from flows.sources.spec import SourceSpec
    from flows.sources.web import load_web_urls
    from storage.engine import session as db_session

    get_settings.cache_clear()
    settings = get_settings()
    workers = min(settings.max_concurrency, settings.per_host_concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        for i, page in enumerate(pages):
            (site / f"p{i}.html").write_text(page["html"], encoding="utf-8")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(port)],
            cwd=site,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            urls = [f"http://127.0.0.1:{port}/p{i}.html" for i in range(len(pages))]
            htmls = [p["html"] for p in pages]
            best_base, best_pipe, stored = float("inf"), float("inf"), 0
            cpu_base, cpu_pipe = float("inf"), float("inf")
            for r in range(rounds):
                t, c = time.perf_counter(), time.process_time()
                for html, page in zip(htmls, pages, strict=True):
                    trafilatura.extract(html, url=page["url"])
                best_base = min(best_base, time.perf_counter() - t)
                cpu_base = min(cpu_base, time.process_time() - c)

                reset_fetcher()
                db_url = f"sqlite:///{Path(tmp) / f'bench{r}.db'}"
                with db_session(db_url):
                    pass  # create the schema outside the timing
                t, c = time.perf_counter(), time.process_time()
                spec = SourceSpec(key="bench", kind="urls")
                loaded = load_web_urls(spec, urls, settings, db_url)
                prepared = steps.prepare_articles(loaded)
                with db_session(db_url) as s:
                    report = steps.store_loaded(s, spec.key, spec.kind, prepared)
                best_pipe = min(best_pipe, time.perf_counter() - t)
                cpu_pipe = min(cpu_pipe, time.process_time() - c)
                stored = report.new
        finally:
            server.terminate()
            server.wait(timeout=10)
    n = len(pages)
    print(
        f"speed on {n} pages (best of {rounds}; {os.cpu_count()} cores; {workers} requests at a time)"
    )
    print(
        f"  trafilatura.extract, in memory     : {n / best_base:6.1f} pages/s"
        f"  ({1000 * cpu_base / n:5.1f} ms CPU a page)"
    )
    print(
        f"  pipeline fetch+extract+clean+store : {n / best_pipe:6.1f} pages/s"
        f"  ({1000 * cpu_pipe / n:5.1f} ms CPU a page; {stored} stored)"
    )
    print(f"  overhead: {best_pipe / best_base:.2f}x wall, {cpu_pipe / cpu_base:.2f}x CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--workers", type=int, default=0, help="fetch threads (default: production limits)"
    )
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        pages = [json.loads(line) for line in fh]
    if args.limit:
        pages = pages[: args.limit]
    quality(pages)
    if not args.no_speed:
        speed(pages, args.rounds, args.workers)


if __name__ == "__main__":
    main()
