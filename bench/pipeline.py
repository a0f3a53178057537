"""Pipeline throughput: the whole ``daily_digest`` flow against a plain loop, at 1k to 10k articles.

A local HTTP server (another process, so it does not take the GIL of the measured one) serves
100 RSS feeds, one per host (127.0.0.1, 127.0.0.2, ... are distinct hosts to the fetcher), and
N article pages built from real data in ../shared/eval:

- page templates: the real publisher pages of extraction/fundus-dev.jsonl.gz (27 countries),
  with their scripts and styles removed and their article body, title, date and canonical URL
  replaced; a template is used only when trafilatura gets the inserted text back out of it;
- texts: IndoSum (Indonesian), ECB+ (English) and the Fundus pages' own bodies (German,
  English, Japanese, ...). There are about 2,650 distinct texts; beyond that an article is a
  wire copy of an earlier one on another feed, trimmed by one paragraph (as outlets do), so
  every page has its own text and the grouper meets near-duplicates, as in a real stream.

Measured, in the same run and against the same server:

- **pipeline**: ``flows.pipeline.daily_digest`` through Prefect (its temporary local server is
  started before the clock starts), on a fresh SQLite file, reading an OPML file of the 100
  feeds; then the same flow again with nothing changed (every feed answers 304).
- **plain loop**: httpx with 8 threads fetching the feeds (feedparser) and then the pages,
  ``trafilatura.extract`` on each, and one ``executemany`` into a fresh SQLite file.

Both fetch with the same concurrency: 8 requests at a time in all. By default the
pipeline's politeness is off (``NEWSDIGEST_PER_HOST_DELAY_SECONDS=0``, and per-host
concurrency 8: waiting is not work); ``--polite`` measures the defaults (1 s between requests
to a host, 2 at a time), which the plain loop does not have.

Printed per size: the time per stage (wall span from its first start to its last end, and
the busy seconds summed over threads), articles per second, peak memory, the number of
Prefect task runs, the pipeline's ingest and whole-run totals beside the plain loop and their
ratios, the no-change run (its requests by kind and status), and the curve over the sizes.

Peak memory: the resident set (RSS) of this process (which runs the flow, and holds the
bench's corpus, about 110 MB) plus every process below it (Prefect's temporary server, the
extraction workers, the grouping workers), summed every 0.2 s; the page server and py-spy
are left out. The split by process at the peak and the highest sum while each stage ran are
printed too.

``--profile DIR``: py-spy records each size's first run (this process and its children, 20
samples a second per thread) into DIR/pipeline-N.txt (collapsed stacks) and prints the share
of samples per function of ours (flows/, digest/, storage/: the innermost such frame, with the
frame it was in below it).

    python bench/pipeline.py [--n 1000,5000,10000] [--polite] [--gate RATIO] [--profile DIR]

``--n 500 --gate 3.0`` (CI): exits 1 when the pipeline's ingest takes more than 3x the plain
loop measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gzip
import html
import json
import os
import pickle
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval"
FEEDS = 100
WORKERS = 8  # requests at a time, both sides
SEED = 20261201

# --- the corpus ------------------------------------------------------------------------------


@dataclass
class Text:
    lang: str
    title: str
    paragraphs: list[str]


@dataclass
class Page:
    feed: int
    path: str
    template: int
    lang: str
    title: str
    paragraphs: list[str]
    published: datetime


@dataclass
class Corpus:
    templates: list[str]
    pages: list[Page]
    feeds: int
    stamp: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 6, 0, tzinfo=UTC))


def _title_from(text: str, words: int = 12) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    toks = first.split()
    return " ".join(toks[:words]) + ("…" if len(toks) > words else "")


def load_texts() -> list[Text]:
    """Every real text of the eval data, once, with its language."""
    texts: list[Text] = []
    with open(EVAL / "summarization" / "indosum-dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)["docs"][0]
            paras = [p.strip() for p in doc["text"].split("\n") if p.strip()]
            if paras:
                texts.append(Text("id", doc.get("title") or _title_from(paras[0]), paras))
    with open(EVAL / "clustering" / "ecbplus-train-dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            paras = [p.strip() for p in rec["text"].split("\n") if p.strip()]
            # ECB+ texts start with their headline line (the title field is often a date)
            if len(paras) > 2 and len(paras[0].split()) <= 15 and paras[0][-1:] not in '.!?"':
                texts.append(Text("en", paras[0], paras[1:]))
            elif paras:
                texts.append(Text("en", rec.get("title") or _title_from(paras[0]), paras))
    for page in _fundus():
        exp = page["expected"]
        paras = [p.strip() for p in exp["text"].split("\n\n") if p.strip()]
        if len(paras) >= 2:
            texts.append(Text(_FUNDUS_LANG.get(page["lang_hint"], "en"), exp["title"], paras))
    return [t for t in texts if sum(len(p.split()) for p in t.paragraphs) >= 40]


_FUNDUS_LANG = {
    "de": "de", "at": "de", "ch": "de", "uk": "en", "us": "en", "za": "en", "ca": "en",
    "au": "en", "ls": "en", "na": "en", "my": "en", "jp": "ja", "es": "es", "no": "no",
    "it": "it", "kr": "ko", "se": "sv", "tr": "tr", "pl": "pl", "be": "nl", "dk": "da",
    "fr": "fr", "id": "id", "pt": "pt", "ru": "ru", "tw": "zh", "ua": "uk",
}  # fmt: skip


@functools.cache
def _fundus() -> list[dict]:
    with gzip.open(EVAL / "extraction" / "fundus-dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _norm(s: str) -> str:
    return " ".join(s.split())[:80]


def make_template(page: dict) -> str | None:
    """A publisher page with placeholders for the body, title, date, language and URL."""
    import lxml.html

    try:
        doc = lxml.html.fromstring(page["html"])
    except Exception:
        return None
    for el in list(doc.iter("script", "style", "noscript", "iframe", "svg", "template", "time")):
        el.drop_tree()
    expected = {_norm(p) for p in page["expected"]["text"].split("\n\n") if len(p.strip()) > 30}
    matched = [p for p in doc.iter("p") if _norm(p.text_content()) in expected]
    if len(matched) < 2:
        return None
    parent = Counter(p.getparent() for p in matched).most_common(1)[0][0]
    first = next(p for p in matched if p.getparent() is parent)
    for p in matched:
        if p is not first:
            p.drop_tree()
    marker = lxml.html.fromstring("<p>@@BODY@@</p>")
    first.addprevious(marker)
    first.drop_tree()
    for el in doc.iter("h1"):
        el.clear()
        el.text = "@@TITLE@@"
    head = doc.find("head")
    if head is None:
        return None
    for el in list(head):
        if el.tag in ("meta", "link", "title", "base"):
            el.drop_tree()
    for el in doc.xpath("//*[@itemprop='datePublished' or @itemprop='dateModified']"):
        el.drop_tree()
    extra = (
        '<meta charset="utf-8"><title>@@TITLE@@</title>'
        '<meta property="og:title" content="@@TITLE@@">'
        '<meta property="article:published_time" content="@@DATE@@">'
        '<link rel="canonical" href="@@URL@@">'
    )
    for el in reversed(lxml.html.fragments_fromstring(extra)):
        head.insert(0, el)
    doc.set("lang", "@@LANG@@")
    out = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    return out if "@@BODY@@" in out else None


def render_page(template: str, page: Page, url: str) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    out = template.replace("<p>@@BODY@@</p>", body)
    return (
        out.replace("@@TITLE@@", html.escape(page.title))
        .replace("@@DATE@@", page.published.isoformat())
        .replace("@@LANG@@", page.lang)
        .replace("@@URL@@", html.escape(url))
    )


def usable_templates(texts: list[Text]) -> list[str]:
    """Templates from which trafilatura gets an inserted text back (most of its words).

    Kept in a cache file in the temporary folder, keyed by this file and the data file.
    """
    import hashlib
    import inspect

    data = EVAL / "extraction" / "fundus-dev.jsonl.gz"
    code = "".join(inspect.getsource(f) for f in (make_template, render_page, _usable_templates))
    key = hashlib.sha1((code + str(data.stat()[6:9])).encode()).hexdigest()
    cache = Path(tempfile.gettempdir()) / f"newsdigest-bench-templates-{key[:16]}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    out = _usable_templates(texts)
    cache.write_bytes(pickle.dumps(out))
    return out


def _usable_templates(texts: list[Text]) -> list[str]:
    import trafilatura

    out = []
    probe = next(t for t in texts if t.lang == "en" and len(t.paragraphs) >= 4)
    page = Page(0, "/probe", 0, "en", probe.title, probe.paragraphs, datetime.now(UTC))
    want = set(" ".join(probe.paragraphs).lower().split())
    for raw in _fundus():
        template = make_template(raw)
        if template is None:
            continue
        got = trafilatura.extract(render_page(template, page, "http://127.0.0.1/probe")) or ""
        if len(want & set(got.lower().split())) >= 0.8 * len(want):
            out.append(template)
    return out


def build_corpus(n: int, texts: list[Text], templates: list[str]) -> Corpus:
    """N pages: the texts in a fixed shuffled order, then trimmed wire copies on other feeds."""
    rng = random.Random(SEED)
    order = list(range(len(texts)))
    rng.shuffle(order)
    stamp = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    pages = []
    for j in range(n):
        copy, k = divmod(j, len(order))
        text = texts[order[k]]
        paras = list(text.paragraphs)
        if copy and len(paras) > 2:
            del paras[(copy - 1) % len(paras)]  # an outlet's trimmed copy of the wire story
        feed = (k + copy * 37) % FEEDS  # round robin; a copy on another feed than its text
        pages.append(
            Page(
                feed=feed,
                path=f"/news/{j:05d}.html",
                template=(feed * 7 + j % 3) % len(templates),
                lang=text.lang,
                title=text.title,
                paragraphs=paras,
                # spread over the 36 hours before the run: every story is open
                published=stamp - timedelta(minutes=(n - j) * 2160 // n),
            )
        )
    return Corpus(templates=templates, pages=pages, feeds=FEEDS, stamp=stamp)


def host(feed: int) -> str:
    return f"127.0.0.{feed + 1}"


def feed_url(feed: int, port: int) -> str:
    return f"http://{host(feed)}:{port}/feed.xml"


# --- the server (run in a separate process: python bench/pipeline.py --serve CORPUS PORT) ----


def serve(corpus_path: str, port: int) -> None:
    corpus: Corpus = pickle.loads(Path(corpus_path).read_bytes())
    by_feed: dict[int, list[int]] = defaultdict(list)
    by_path: dict[tuple[int, str], int] = {}
    for i, p in enumerate(corpus.pages):
        by_feed[p.feed].append(i)
        by_path[(p.feed, p.path)] = i
    modified = format_datetime(corpus.stamp, usegmt=True)
    counts: Counter[str] = Counter()

    def feed_xml(feed: int) -> bytes:
        items = []
        for i in by_feed[feed]:
            p = corpus.pages[i]
            link = f"http://{host(feed)}:{port}{p.path}"
            teaser = html.escape(p.paragraphs[0][:300])
            items.append(
                f"<item><title>{html.escape(p.title)}</title><link>{link}</link>"
                f"<guid>{link}</guid><pubDate>{format_datetime(p.published)}</pubDate>"
                f"<description>{teaser}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Outlet {feed + 1}</title><link>http://{host(feed)}:{port}/</link>"
            f"<description>Bench feed {feed + 1}</description>{''.join(items)}</channel></rss>"
        ).encode()

    def respond(
        path: str, hostname: str, headers: dict[str, str]
    ) -> tuple[int, str, bytes, str | None]:
        if path == "/__stats":
            return 200, "application/json", json.dumps(counts).encode(), None
        if path == "/__reset":
            counts.clear()
            return 200, "text/plain", b"ok", None
        if path == "/robots.txt":
            if headers.get("if-none-match") == '"robots"':
                return 304, "", b"", '"robots"'
            return 200, "text/plain", b"User-agent: *\nAllow: /\n", '"robots"'
        try:
            feed = int(hostname.rsplit(".", 1)[1]) - 1
        except (IndexError, ValueError):
            return 404, "text/plain", b"no such host", None
        if path == "/feed.xml":
            etag = f'"feed-{feed}-{len(corpus.pages)}"'
            if headers.get("if-none-match") == etag:
                return 304, "", b"", etag
            return 200, "application/rss+xml; charset=utf-8", feed_xml(feed), etag
        i = by_path.get((feed, path))
        if i is None:
            return 404, "text/plain", b"not found", None
        etag = f'"page-{i}"'
        if headers.get("if-none-match") == etag:
            return 304, "", b"", etag
        page = corpus.pages[i]
        url = f"http://{host(feed)}:{port}{page.path}"
        body = render_page(corpus.templates[page.template], page, url).encode()
        return 200, "text/html; charset=utf-8", body, etag

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                hostname = headers.get("host", "").split(":")[0]
                try:
                    status, ctype, body, etag = respond(target.split("?")[0], hostname, headers)
                except Exception as exc:  # a bug here must show, not hang a client
                    print(f"server error on {target}: {exc!r}", file=sys.stderr, flush=True)
                    status, ctype, body, etag = 500, "text/plain", b"error", None
                kind = {"/feed.xml": "feed", "/robots.txt": "robots"}.get(target, "page")
                if not target.startswith("/__"):
                    counts[f"{kind} {status}"] += 1
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}.get(status, "Error")
                out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
                if ctype:
                    out.append(f"Content-Type: {ctype}")
                if etag:
                    out += [f"ETag: {etag}", f"Last-Modified: {modified}"]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def orphaned(parent: int) -> None:
        while os.getppid() == parent:  # the bench died (killed, crashed): stop serving
            await asyncio.sleep(1)
        os._exit(0)

    async def main() -> None:
        watch = asyncio.create_task(orphaned(os.getppid()))
        hosts = [host(f) for f in range(corpus.feeds)]
        server = await asyncio.start_server(handle, host=hosts, port=port, backlog=512)
        print("ready", flush=True)
        async with server:
            try:
                await server.serve_forever()
            finally:
                watch.cancel()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def page_server(corpus: Corpus, tmp: Path):
    path = tmp / "corpus.pickle"
    path.write_bytes(pickle.dumps(corpus))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(path), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("the page server did not start")
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(port: int, reset: bool = False) -> dict[str, int]:
    import httpx

    r = httpx.get(f"http://127.0.0.1:{port}/__stats")
    if reset:
        httpx.get(f"http://127.0.0.1:{port}/__reset")
    return r.json()


# --- measuring -------------------------------------------------------------------------------


class Stages:
    """Wall span and busy seconds of named stages, from wrappers around the pipeline's steps."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.busy: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._patched: list[tuple[object, str, object]] = []

    def record(self, name: str, start: float, end: float) -> None:
        with self.lock:
            self.first[name] = min(self.first.get(name, start), start)
            self.last[name] = max(self.last.get(name, end), end)
            self.busy[name] += end - start
            self.calls[name] += 1

    def wrap(self, owner: object, attr: str, name: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return

        @functools.wraps(original)
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.record(name, t, time.perf_counter())

        setattr(owner, attr, timed)
        self._patched.append((owner, attr, original))

    def unpatch(self) -> None:
        for owner, attr, original in reversed(self._patched):
            setattr(owner, attr, original)
        self._patched.clear()

    def span(self, name: str) -> float:
        return self.last.get(name, 0.0) - self.first.get(name, 0.0)


class MemoryPeak:
    """Peak resident memory (RSS) of this process plus all its children, sampled every 0.2 s
    (one process tree excluded: the page server). The children are Prefect's temporary server
    and the extraction worker processes; ``parts`` is the split of the peak sample by kind."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak = 0
        self.parts: dict[str, int] = {}
        self.peak_at = 0.0  # perf_counter() of the peak sample
        self.samples: list[tuple[float, int]] = []  # (perf_counter(), total RSS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    @staticmethod
    def _kind(proc, me) -> str:
        if proc.pid == me.pid:
            return "flow process"
        try:
            cmd = " ".join(proc.cmdline())
        except Exception:
            return "other"
        if "prefect" in cmd or "uvicorn" in cmd:
            return "Prefect server"
        if "multiprocessing" in cmd:
            return "worker processes"
        return "other"

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        total = 0
        parts: Counter[str] = Counter()
        skip: set[int] = set()
        for pid in self.exclude:
            with contextlib.suppress(psutil.Error):
                skip |= {pid} | {c.pid for c in psutil.Process(pid).children(recursive=True)}
        for proc in [me, *me.children(recursive=True)]:
            if proc.pid in skip:
                continue
            with contextlib.suppress(psutil.Error):
                rss = proc.memory_info().rss
                total += rss
                parts[self._kind(proc, me)] += rss
        self.samples.append((time.perf_counter(), total))
        if total > self.peak:
            self.peak = total
            self.parts = dict(parts)
            self.peak_at = time.perf_counter()


def plain_loop(feeds: list[str], db_path: Path) -> tuple[float, int]:
    """httpx with 8 threads + trafilatura + one executemany into SQLite: (seconds, rows)."""
    import feedparser
    import httpx
    import trafilatura

    t = time.perf_counter()
    extract_lock = threading.Lock()
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    with httpx.Client(limits=limits, timeout=30) as client:

        def links(url: str) -> list[str]:
            parsed = feedparser.parse(client.get(url).content)
            return [e.link for e in parsed.entries]

        def page(url: str) -> tuple | None:
            r = client.get(url)
            # One extraction at a time: lxml under trafilatura crashes the process now and
            # then when threads extract at once (adbar/trafilatura#840); the GIL runs them
            # one at a time anyway, so the lock costs nothing.
            with extract_lock:
                text = trafilatura.extract(r.text, url=url)
            return (url, text) if text else None

        with ThreadPoolExecutor(WORKERS) as pool:
            urls = [u for found in pool.map(links, feeds) for u in found]
            rows = [r for r in pool.map(page, urls) if r]
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE article (id INTEGER PRIMARY KEY, url TEXT UNIQUE, text TEXT)")
    conn.executemany("INSERT INTO article (url, text) VALUES (?, ?)", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - t, len(rows)


@contextlib.contextmanager
def profiled(folder: str | None, n: int, server_pid: int):
    """py-spy record of this process and its children (the page server's samples dropped
    afterwards) while the block runs; yields py-spy's process id (0: not profiled)."""
    if not folder:
        yield 0
        return
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(folder) / f"pipeline-{n}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            *(spy, "record", "--pid", str(os.getpid()), "--subprocesses", "--rate", "20"),
            *("--nonblocking", "--format", "raw", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # attached before the run starts
    try:
        yield proc.pid
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            err = ""
        if not out.exists():
            print(f"  (py-spy wrote no profile: {err.strip()[-300:]})")
        else:
            print_profile(out, server_pid)


OWN = ("flows/", "digest/", "storage/")


def print_profile(path: Path, server_pid: int, top: int = 18) -> None:
    """Where the samples of a collapsed-stack file are: per process kind, and per function of
    ours (the innermost frame in flows/, digest/ or storage/ of each sample, with what it was
    doing below)."""
    by_process: Counter[str] = Counter()
    by_own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        # py-spy puts the process (and a child's parent) first: 'process PID:"cmdline"'
        # (a command line may hold ';').
        procs = re.findall(r'(?:^|;)process (\d+):"[^"]*"', stack)
        pid = int(procs[-1]) if procs else os.getpid()
        if server_pid and str(server_pid) in procs:
            continue
        frames = re.sub(r'(?:^|;)process \d+:"[^"]*"', "", stack).lstrip(";").split(";")
        k = int(count)
        total += k
        kind = "flow process" if pid == os.getpid() else "worker processes"
        by_process[kind] += k
        own = [f for f in frames if any(o in f for o in OWN)]
        leaf = frames[-1].split(" (")[0]
        if own:
            by_own[f"{own[-1].split(' (')[0]} > {leaf}"] += k
        else:
            by_own[f"(outside our code) {frames[min(len(frames) - 1, 2)].split(' (')[0]}"] += k
    if not total:
        print("  (empty profile)")
        return
    parts = ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in by_process.most_common())
    print(f"  profile ({path}): {total} samples at 20/s over threads; {parts}")
    for name, k in by_own.most_common(top):
        print(f"    {100 * k / total:5.1f} %  {name}")


def count_task_runs(since: datetime) -> int:
    """Task runs started since ``since`` (read in pages from the Prefect API); -1 if unknown."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime

    flt = TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since))
    total, page = 0, 200
    try:
        with get_client(sync_client=True) as client:
            while True:
                got = len(client.read_task_runs(task_run_filter=flt, limit=page, offset=total))
                total += got
                if got < page:
                    return total
    except Exception as exc:  # the count is reported, not worth losing the run for
        print(f"  (could not count task runs: {exc})")
        return -1


@dataclass
class Result:
    n: int
    plain: float
    plain_rows: int
    ingest: float
    total: float
    second: float
    stored: int
    stories: int
    task_runs: int
    second_task_runs: int
    memory: int
    memory_parts: dict[str, int]
    memory_when: str
    stage_peaks: dict[str, int]
    stages: dict[str, tuple[float, float, int]]
    requests: dict[str, int]
    second_requests: dict[str, int]
    second_stages: dict[str, float]


STAGES = ["fetch", "extract", "clean and enrich", "store", "group", "summarize", "publish"]


def _digest_steps():
    try:
        from flows import digest_steps
    except ImportError:  # before the split: everything in flows.steps
        from flows import steps as digest_steps
    return digest_steps


def instrument() -> Stages:
    from flows import steps
    from flows.sources import fetch, web

    st = Stages()
    st.wrap(fetch.Fetcher, "get", "fetch")
    # Extraction as the web source calls it (in a process pool it includes the wait for it).
    for attr in ("extract_page", "extract_html"):
        if hasattr(web, attr):
            st.wrap(web, attr, "extract")
            break
    st.wrap(steps, "prepare_articles", "clean and enrich")
    st.wrap(steps, "store_loaded", "store")
    st.wrap(steps, "group_new_articles", "group")
    # build_digest calls summarize_story in the module it lives in
    st.wrap(_digest_steps(), "summarize_story", "summarize")
    st.wrap(steps, "build_digest", "digest")
    st.wrap(steps, "write_digest", "publish")
    st.wrap(steps, "record_digest", "publish")
    return st


def run_size(n: int, texts: list[Text], templates: list[str], args) -> Result:
    from digest.settings import get_settings
    from flows.pipeline import daily_digest
    from flows.sources.fetch import reset_fetcher

    corpus = build_corpus(n, texts, templates)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmpdir:
        tmp = Path(tmpdir)
        with page_server(corpus, tmp) as (port, server_pid):
            feeds = [feed_url(f, port) for f in range(corpus.feeds)]
            opml = tmp / "feeds.opml"
            outlines = "".join(
                f'<outline type="rss" text="Outlet {f + 1}" xmlUrl="{u}"/>'
                for f, u in enumerate(feeds)
            )
            opml.write_text(
                f'<?xml version="1.0"?><opml version="2.0"><head><title>bench</title></head>'
                f"<body>{outlines}</body></opml>",
                encoding="utf-8",
            )
            # The plain loop first: it also warms the server and the page cache for both.
            plain, plain_rows = plain_loop(feeds, tmp / "plain.db")
            server_stats(port, reset=True)

            db_url = f"sqlite:///{tmp / 'digest.db'}"
            get_settings.cache_clear()
            reset_fetcher()
            st = instrument()
            since = datetime.now(UTC)
            try:
                with (
                    profiled(args.profile, n, server_pid) as spy_pid,
                    MemoryPeak(exclude={server_pid, spy_pid}) as mem,
                ):
                    t0 = time.perf_counter()
                    out = daily_digest(sources=[str(opml)], db_url=db_url, out_dir=str(tmp / "out"))
                    total = time.perf_counter() - t0
                task_runs = count_task_runs(since)
                requests = server_stats(port, reset=True)
                stages = {
                    name: (st.span(name), st.busy[name], st.calls[name])
                    for name in [*STAGES, "digest"]
                }
                ingest = st.last.get("store", t0) - t0
                peak_during = [
                    name
                    for name in [*STAGES, "digest"]
                    if st.first.get(name, 1e300) <= mem.peak_at <= st.last.get(name, -1.0)
                ]
                peak_when = f"{mem.peak_at - t0:.0f} s in, during {', '.join(peak_during) or '-'}"
                # The highest sample while each stage ran (the stages overlap).
                stage_peaks = {
                    name: max(
                        (m for t, m in mem.samples if st.first[name] <= t <= st.last[name]),
                        default=0,
                    )
                    for name in [*STAGES, "digest"]
                    if name in st.first
                }
                stage_peaks["ingest"] = max(
                    (m for t, m in mem.samples if t <= st.last.get("store", t0)), default=0
                )
                # The same run again: nothing changed on the server.
                st.unpatch()
                st2 = instrument()
                since2 = datetime.now(UTC)
                reset_fetcher()
                t1 = time.perf_counter()
                daily_digest(sources=[str(opml)], db_url=db_url, out_dir=str(tmp / "out"))
                second = time.perf_counter() - t1
                second_stages = {n: st2.busy[n] for n in [*STAGES, "digest"] if st2.calls[n]}
                st = st2
                second_task_runs = count_task_runs(since2)
                second_requests = server_stats(port)
            finally:
                st.unpatch()
    # build_digest = summarizing + building the views; publishing = the rest of it + writing
    _, busy_d, _ = stages.pop("digest")
    _, p_busy, p_calls = stages["publish"]
    publish = p_busy + busy_d - stages["summarize"][1]  # sequential: span = busy
    stages["publish"] = (publish, publish, p_calls)
    return Result(
        n=n,
        plain=plain,
        plain_rows=plain_rows,
        ingest=ingest,
        total=total,
        second=second,
        stored=out["ingest"]["new"],
        stories=out["digest"]["stories"],
        task_runs=task_runs,
        second_task_runs=second_task_runs,
        memory=mem.peak,
        memory_parts=mem.parts,
        memory_when=peak_when,
        stage_peaks=stage_peaks,
        stages=stages,
        requests=requests,
        second_requests=second_requests,
        second_stages=second_stages,
    )


def report(r: Result) -> None:
    print(f"\n== {r.n} articles, {FEEDS} feeds on {FEEDS} loopback hosts")
    print(
        f"  {'stage':18} {'wall span s':>11} {'busy s':>9} {'calls':>7}   (busy: summed over threads)"
    )
    for name in STAGES:
        span, busy, calls = r.stages[name]
        print(f"  {name:18} {span:11.1f} {busy:9.1f} {calls:7d}")
    print(
        f"  pipeline: ingest {r.ingest:.1f} s, whole run {r.total:.1f} s "
        f"({r.n / r.total:.0f} articles/s); stored {r.stored}, digest of {r.stories} stories"
    )
    print(
        f"  plain loop: {r.plain:.1f} s ({r.plain_rows / r.plain:.0f} articles/s; {r.plain_rows} rows)"
    )
    print(
        f"  ratio to the plain loop: ingest {r.ingest / r.plain:.2f}x, whole run {r.total / r.plain:.2f}x"
    )
    print(
        f"  Prefect task runs: {r.task_runs}; peak memory {r.memory / 2**20:.0f} MB "
        f"(RSS of this process and its children, the page server excepted: "
        + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(r.memory_parts.items()))
        + f"; at {r.memory_when})"
    )
    peaks = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in r.stage_peaks.items())
    print(f"  peak memory while each stage ran, MB: {peaks}")
    print(f"  requests: {dict(sorted(r.requests.items()))}")
    print(
        f"  no-change run: {r.second:.1f} s ({100 * r.second / r.total:.0f} % of the first), "
        f"{r.second_task_runs} task runs, requests {dict(sorted(r.second_requests.items()))}"
    )
    busy = ", ".join(f"{k} {v:.1f} s" for k, v in r.second_stages.items())
    print(f"  no-change run, busy seconds by stage: {busy}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="1000,5000,10000", help="sizes, comma-separated")
    ap.add_argument("--polite", action="store_true", help="the default politeness settings")
    ap.add_argument("--gate", type=float, default=0.0, help="fail when ingest > GATE x plain")
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="record the first run of each size with py-spy (DIR/pipeline-N.txt, collapsed "
        "stacks of this process and its children) and print where the samples are",
    )
    ap.add_argument("--serve", nargs=2, metavar=("CORPUS", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    sizes = [int(x) for x in args.n.split(",") if x.strip()]

    os.environ["NEWSDIGEST_ALLOW_PRIVATE_HOSTS"] = "1"
    os.environ["NEWSDIGEST_MAX_CONCURRENCY"] = str(WORKERS)
    if not args.polite:
        os.environ["NEWSDIGEST_PER_HOST_DELAY_SECONDS"] = "0"
        os.environ["NEWSDIGEST_PER_HOST_CONCURRENCY"] = str(WORKERS)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    t = time.perf_counter()
    texts = load_texts()
    templates = usable_templates(texts)
    print(
        f"corpus: {len(texts)} distinct texts ({dict(Counter(x.lang for x in texts).most_common(8))} ...), "
        f"{len(templates)} page templates of {len(_fundus())} ({time.perf_counter() - t:.0f} s to build)"
    )
    politeness = (
        "default politeness (per-host delay and concurrency as configured)"
        if args.polite
        else f"politeness off (per-host delay 0, per-host concurrency {WORKERS})"
    )
    print(
        f"both sides: {WORKERS} requests at a time; pipeline with {politeness}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )

    # Start Prefect's temporary server before the clock starts (a fresh home takes ~20 s).
    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> int:
        return 1

    t = time.perf_counter()
    warm_up()
    print(f"Prefect started in {time.perf_counter() - t:.1f} s (not counted)")

    results = []
    for n in sizes:
        r = run_size(n, texts, templates, args)
        report(r)
        results.append(r)
        print(f"  load average now {os.getloadavg()[0]:.1f}", flush=True)
    if len(results) > 1:
        print("\n== curve")
        print(
            f"  {'articles':>8} {'plain s':>8} {'ingest s':>9} {'run s':>7} {'art/s':>6} "
            f"{'ingest x':>8} {'run x':>6} {'no-change %':>11} {'peak MB':>8} {'s/1k':>6}"
        )
        for r in results:
            print(
                f"  {r.n:8d} {r.plain:8.1f} {r.ingest:9.1f} {r.total:7.1f} {r.n / r.total:6.0f} "
                f"{r.ingest / r.plain:8.2f} {r.total / r.plain:6.2f} "
                f"{100 * r.second / r.total:11.0f} {r.memory / 2**20:8.0f} {1000 * r.total / r.n:6.1f}"
            )
    if args.gate:
        worst = max(r.ingest / r.plain for r in results)
        if worst > args.gate:
            print(f"FAIL: ingest is {worst:.2f}x the plain loop (gate {args.gate:.1f}x)")
            sys.exit(1)
        print(f"ok: ingest is {worst:.2f}x the plain loop (gate {args.gate:.1f}x)")


if __name__ == "__main__":
    main()
