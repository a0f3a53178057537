"""Feeds and article pages over HTTP: the ``url``, ``opml`` and ``urls`` sources.

A web source is planned into jobs (:func:`plan_web_source`): one per feed, and one per batch
of article URLs; the Prefect flow runs each job as a task, and :func:`load_web_source` runs
them all in-process. A job fetches with the shared client of :mod:`flows.sources.fetch`:

- a feed is fetched with a conditional GET (ETag/Last-Modified stored per URL); "not
  modified" skips it; entries whose canonical URL is already stored are skipped unfetched;
- each new entry's page is fetched (also conditionally), extracted with trafilatura, and
  returned as a raw :class:`~digest.models.Article` (the pipeline cleans and stores it); when
  the page yields too little text the entry's own content is used instead;
- every failure is one :class:`ItemError` and the job goes on.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from digest.extract import Extracted, HtmlTooDeep, extract_html, word_count
from digest.models import Article
from digest.settings import Settings
from digest.urls import canonical_url, canonicalize_url, same_site
from flows import workers as worker_pool
from flows.progress import progress
from flows.sources.base import ItemError, LoadResult
from flows.sources.feeds import (
    FeedEntry,
    FeedError,
    home_page_feeds,
    looks_like_feed_url,
    parse_feed,
    parse_opml,
    read_url_list,
)
from flows.sources.fetch import FetchError, FetchResult, decode_body, get_fetcher, meta_charset
from flows.sources.fetch.robots import CachedRobots
from flows.sources.spec import SourceSpec
from storage import repo
from storage.engine import session as db_session
from storage.repo.robots import load_robots, save_robots

log = logging.getLogger("newsdigest.web")

# Article URLs of a URL list are fetched in batches of this many per task.
PAGE_BATCH = 25
# A page that yields fewer words than this falls back to the feed entry's own text, when
# that is longer.
MIN_PAGE_WORDS = 60
# A home page given as a source: at most this many of its declared feeds are tried, in order
# (the first that is a feed is read).
MAX_DISCOVERED_FEEDS = 3
# A job with a sink (the ingest flow's storing) hands its articles over this many at a time,
# as they are extracted: texts do not wait in memory for the rest of the run.
SINK_BATCH = 100


_EXTRACT_LOCK = threading.Lock()


def extract_page(html: str, url: str, settings: Settings) -> Extracted | None:
    """:func:`~digest.extract.extract_html`, in a worker process when there is a pool.

    Extraction is CPU-bound Python: in the fetching process it would hold the GIL that the
    fetch threads need, and use one core; and a crash in lxml's C code takes down a worker, not
    the run (the page is one retryable error). The fetch thread waits for its page's result.
    """
    if worker_pool.processes(settings) <= 1:
        # lxml under trafilatura can crash the process when threads extract at once
        # (adbar/trafilatura#840); under the GIL one at a time is as fast.
        with _EXTRACT_LOCK:
            return extract_html(html, url)
    try:
        return worker_pool.call(settings, extract_html, html, url)
    except worker_pool.WorkerDied as exc:
        raise FetchError(str(exc), retryable=True) from None


# --- planning ------------------------------------------------------------------------------


@dataclass
class WebJob:
    spec: SourceSpec  # the source the articles are stored under
    urls: list[str] = field(default_factory=list)


def plan_web_source(spec: SourceSpec) -> tuple[list[WebJob], list[ItemError]]:
    """Split a web source into jobs: a feed each, article URLs in batches."""
    if spec.kind == "url":
        return [WebJob(spec, [spec.key])], []
    if spec.kind == "opml":
        try:
            feeds = parse_opml(Path(spec.key).read_bytes(), spec.key)
        except OSError as exc:
            return [], [ItemError(spec.key, f"cannot read: {exc.strerror or exc}")]
        except FeedError as exc:
            return [], [ItemError(spec.key, str(exc))]
        if not feeds:
            return [], [ItemError(spec.key, "the OPML file lists no feeds (no xmlUrl outlines)")]
        jobs = [
            WebJob(
                SourceSpec(
                    key=f.url,
                    kind="url",
                    name=spec.name or f.title,
                    # An outline's language attribute is the feed's own <language>, copied:
                    # not a pin (the text decides), like the feed's.
                    lang=spec.lang,
                    tags=list(dict.fromkeys([*spec.tags, *f.tags])),
                    force_name=spec.force_name,
                ),
                [f.url],
            )
            for f in feeds
        ]
        return jobs, []
    if spec.kind == "urls":
        try:
            urls, errors = read_url_list(Path(spec.key))
        except FeedError as exc:
            return [], [ItemError(spec.key, str(exc))]
        feeds = [u for u in urls if looks_like_feed_url(u)]
        pages = [u for u in urls if u not in feeds]
        jobs = [
            WebJob(
                SourceSpec(
                    key=u,
                    kind="url",
                    name=spec.name,
                    lang=spec.lang,
                    tags=spec.tags,
                    force_name=spec.force_name,
                ),
                [u],
            )
            for u in feeds
        ]
        jobs += [WebJob(spec, pages[i : i + PAGE_BATCH]) for i in range(0, len(pages), PAGE_BATCH)]
        return jobs, errors
    return [], [ItemError(spec.key, f"not a web source (kind {spec.kind})")]


def load_web_source(spec: SourceSpec, settings: Settings, db_url: str) -> LoadResult:
    """Articles of one feed, page, OPML file or URL list (all jobs, in this process)."""
    jobs, errors = plan_web_source(spec)
    result = LoadResult(errors=list(errors))
    for job in jobs:
        result.extend(load_web_urls(job.spec, job.urls, settings, db_url))
    return result


# --- loading -------------------------------------------------------------------------------


class DbRobotsStore:
    """robots.txt kept in the database between runs (see flows.sources.fetch.robots)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def load(self, origin: str) -> CachedRobots | None:
        with db_session(self.db_url) as s:
            row = load_robots(s, origin)
            if row is None:
                return None
            return CachedRobots(**{f.name: getattr(row, f.name) for f in fields(CachedRobots)})

    def save(self, origin: str, robots: CachedRobots) -> None:
        with db_session(self.db_url) as s:
            save_robots(s, origin, **asdict(robots))


@functools.cache
def robots_store(db_url: str) -> DbRobotsStore:
    return DbRobotsStore(db_url)


class _Job:
    """State of one job: the fetcher, the database, and the results gathered so far."""

    def __init__(
        self,
        spec: SourceSpec,
        settings: Settings,
        db_url: str,
        sink: Callable[[list[Article]], bool] | None = None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.sink_failed = False  # a batch could not be stored: no validator is saved
        self.settings = settings
        self.db_url = db_url
        self.fetcher = get_fetcher(settings)
        # The process's client keeps robots.txt in the database this run stores into.
        self.fetcher.robots_store = robots_store(db_url)
        self.result = LoadResult()
        self.lock = threading.Lock()
        self._validators: dict[str, tuple[str | None, str | None]] = {}
        self._pending: dict[str, tuple[str | None, str | None, int]] = {}

    # database ---------------------------------------------------------------------------

    def load_validators(self, urls: list[str]) -> None:
        """Read the stored validators of ``urls`` in one go (not one query per page)."""
        urls = [u for u in dict.fromkeys(urls) if u not in self._validators]
        if not urls:
            return
        found: dict[str, tuple[str | None, str | None]] = dict.fromkeys(urls, (None, None))
        with db_session(self.db_url) as s:
            found.update(repo.fetch_validators(s, urls))
        with self.lock:
            self._validators.update(found)

    def validators(self, url: str) -> tuple[str | None, str | None]:
        with self.lock:
            known = self._validators.get(url)
        if known is not None:
            return known
        self.load_validators([url])
        return self._validators[url]

    def remember(self, url: str, res: FetchResult) -> None:
        """Keep the response's validators; :meth:`save_validators` writes them at the end."""
        if res.etag or res.last_modified:
            with self.lock:
                self._pending[url] = (res.etag, res.last_modified, res.status)

    def save_validators(self) -> None:
        """Write the validators gathered by this job, in one transaction; none when a batch of
        its articles could not be stored (the next run must fetch those pages again)."""
        with self.lock:
            pending, self._pending = self._pending, {}
        if not pending or self.sink_failed:
            return
        with db_session(self.db_url) as s:
            repo.save_fetch_states(s, pending)

    def known(self, urls: list[str]) -> set[str]:
        with db_session(self.db_url) as s:
            return repo.known_urls(s, urls)

    # results ----------------------------------------------------------------------------

    def error(self, item: str, reason: str) -> None:
        log.debug("%s: %s", item, reason)
        with self.lock:
            self.result.errors.append(ItemError(item, reason))

    def skip(self, n: int = 1) -> None:
        with self.lock:
            self.result.skipped += n

    def add(self, article: Article) -> None:
        batch = None
        with self.lock:
            self.result.articles.append(article)
            if self.sink is not None and len(self.result.articles) >= SINK_BATCH:
                batch, self.result.articles = self.result.articles, []
        if batch:
            self._hand_over(batch)

    def flush(self) -> None:
        """Hand the articles not handed over yet to the sink."""
        if self.sink is None:
            return
        with self.lock:
            batch, self.result.articles = self.result.articles, []
        if batch:
            self._hand_over(batch)

    def _hand_over(self, batch: list[Article]) -> None:
        if not self.sink(batch):
            with self.lock:
                self.sink_failed = True

    # fetching ---------------------------------------------------------------------------

    def fetch(self, url: str) -> FetchResult | None:
        """A conditional GET; None (and a skip) when not modified."""
        etag, modified = self.validators(url)
        res = self.fetcher.get(url, etag=etag, last_modified=modified)
        if res.not_modified:
            self.skip()
            log.info("%s: not modified", url)
            return None
        return res

    def load_url(self, url: str) -> None:
        """A URL given as a source: a feed, or an article page."""
        try:
            res = self.fetch(url)
            if res is None:
                return
            if res.kind == "feed":
                if self.load_feed(url, res):
                    self.remember(url, res)
            elif res.kind == "html" and self.load_home_page(url, res):
                pass  # its validators are not kept: the feed's own decide next time
            else:
                self.page(url, res, entry=None)
                self.remember(url, res)
        except FetchError as exc:
            self.error(url, exc.reason)
        except Exception as exc:  # one bad page or feed must not stop the batch
            log.debug("unexpected error on %s", url, exc_info=True)
            self.error(url, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            progress.advance(url)

    def load_home_page(self, url: str, res: FetchResult) -> bool:
        """A site's home page given as a source: read the feed it declares instead of storing
        the page of headlines as an article. False when the page is not a home page."""
        html, _ = decode_body(res.content, res.charset, html=True)
        feeds = home_page_feeds(html, res.final_url)
        if feeds is None:
            return False
        if not feeds:
            self.error(url, "a home page that declares no feed: give one of its feed URLs")
            return True
        for feed_url in feeds[:MAX_DISCOVERED_FEEDS]:
            try:
                fres = self.fetch(feed_url)
            except FetchError as exc:
                self.error(feed_url, exc.reason)
                continue
            if fres is None:
                return True  # not modified since the last run
            if fres.kind != "feed":
                continue
            log.info("%s: a home page; reading its feed %s", url, feed_url)
            if self.load_feed(feed_url, fres):
                self.remember(feed_url, fres)
            return True
        self.error(url, f"none of the {len(feeds)} feeds the home page declares could be read")
        return True

    def load_feed(self, url: str, res: FetchResult) -> bool:
        """The feed's new entries; True when every entry was dealt with for good (so the
        feed's validators may be stored and a 304 may skip it next time)."""
        try:
            feed = parse_feed(res.content, res.final_url, res.headers.get("content-type"))
        except FeedError as exc:
            self.error(url, str(exc))
            return False
        if feed.warning:
            log.warning("%s: %s", url, feed.warning)
        for err in feed.errors:
            self.error(err.item, err.reason)
        entries: dict[str, FeedEntry] = {}
        for entry in feed.entries:
            entries.setdefault(canonicalize_url(entry.link), entry)
        known = self.known(list(entries) + [e.link for e in entries.values()])
        fresh = [
            (canon, e) for canon, e in entries.items() if canon not in known and e.link not in known
        ]
        self.skip(len(entries) - len(fresh))
        progress.add(len(fresh))
        self.load_validators([e.link for _canon, e in fresh])
        transient = threading.Event()

        def one(item: tuple[str, FeedEntry]) -> None:
            _canon, entry = item
            try:
                res = self.fetch(entry.link)
                if res is not None:
                    self.page(
                        entry.link, res, entry=entry, feed_title=feed.title, feed_link=feed.link
                    )
                    self.remember(entry.link, res)
            except FetchError as exc:
                if exc.retryable:
                    transient.set()  # worth another try: keep the feed's validators unsaved
                self.error(entry.link, exc.reason)
            except Exception as exc:  # one bad page must not stop the feed
                transient.set()
                self.error(entry.link, f"unexpected error: {type(exc).__name__}: {exc}")
            finally:
                progress.advance(entry.link)

        workers = max(1, min(len(fresh), self.settings.max_concurrency))
        if workers == 1:
            for item in fresh:
                one(item)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="newsdigest-fetch") as pool:
                list(pool.map(one, fresh))
        return not transient.is_set()

    def page(
        self,
        url: str,
        res: FetchResult,
        entry: FeedEntry | None,
        feed_title: str = "",
        feed_link: str = "",
    ) -> None:
        """One article page (HTML) -> a raw Article, or an error."""
        if res.kind != "html":
            self.error(url, f"content type {res.content_type or 'unknown'} is not an article page")
            return
        html, encoding = decode_body(res.content, res.charset, html=True)
        if encoding != "utf-8" and not res.charset and not meta_charset(res.content):
            log.warning("%s: no charset declared and not UTF-8; decoded as %s", url, encoding)
        try:
            extracted = extract_page(html, res.final_url, self.settings)
        except HtmlTooDeep as exc:
            self.error(url, str(exc))
            return
        article = self.article(url, res, html, extracted, entry, feed_title, feed_link)
        if article is None:
            self.error(url, "no article text found on the page")
            return
        self.add(article)

    def article(
        self,
        url: str,
        res: FetchResult,
        html: str,
        extracted: Extracted | None,
        entry: FeedEntry | None,
        feed_title: str,
        feed_link: str,
    ) -> Article | None:
        page_text = extracted.text if extracted else ""
        entry_text = entry.text if entry else ""
        text = page_text
        if word_count(page_text) < MIN_PAGE_WORDS and word_count(entry_text) > word_count(
            page_text
        ):
            text = entry_text  # a paywall, a video page, a JavaScript-only page
        if not text.strip():
            return None
        declared = extracted.url if extracted else None
        if declared and declared != res.final_url and same_site(declared, res.final_url):
            canon = canonicalize_url(declared)
        else:
            canon = canonical_url(res.final_url, html if declared is None else None)
        spec = self.spec
        return Article(
            id="",
            title=(entry.title if entry and entry.title else "")
            or (extracted.title if extracted else ""),
            text=text,
            url=canon,
            source=credit_outlet(spec, extracted, feed_title, feed_link, res.final_url),
            published=_published(extracted, entry),
            # A feed's or page's declared language is often wrong (one <language> for a whole
            # site): the text decides (digest.prepare), unless the source pins it.
            lang=spec.lang,
            origin=url,
            tags=list(spec.tags),
        )


def _published(extracted: Extracted | None, entry: FeedEntry | None):
    """The page's date; the feed entry's when the page gives none or only the same day (the
    entry has the time of day, which ranks the digest)."""
    page = extracted.published if extracted else None
    feed = entry.published if entry else None
    if page is None or (
        feed is not None
        and page.date() == feed.date()
        and (page.hour, page.minute, page.second) == (0, 0, 0)
    ):
        return feed or page
    return page


def credit_outlet(
    spec: SourceSpec,
    extracted: Extracted | None,
    feed_title: str = "",
    feed_link: str = "",
    page_url: str = "",
) -> str | None:
    """The outlet of a page: the source's name when it is forced; else the publisher the page
    names (og:site_name, JSON-LD publisher, the extractor's site name); else the source's
    name; else the feed's title when the page is on the feed's own site (an aggregator's
    title is not its articles' outlet). None lets the pipeline guess (dateline, domain)."""
    if spec.force_name and spec.name:
        return spec.name
    publisher = extracted.publisher if extracted else None
    if publisher:
        return publisher
    if spec.name:
        return spec.name
    if feed_title and (not feed_link or same_site(feed_link, page_url)):
        return feed_title
    return None


def load_web_urls(
    spec: SourceSpec,
    urls: list[str],
    settings: Settings,
    db_url: str,
    sink: Callable[[list[Article]], bool] | None = None,
) -> LoadResult:
    """Fetch each URL (a feed or an article page) and return the raw articles found.

    ``sink``: called with the articles in batches of :data:`SINK_BATCH` as they are extracted
    (from the fetch threads, so it must be thread-safe), and with the rest at the end; it
    returns False when it could not keep a batch. The result then holds no articles, only
    the errors and skips."""
    job = _Job(spec, settings, db_url, sink)
    worker_pool.warm(settings)  # the extraction processes start while the feed is fetched
    urls = list(dict.fromkeys(urls))
    progress.add(len(urls))
    known = job.known([canonicalize_url(u) for u in urls] + urls) if len(urls) > 1 else set()
    todo = []
    for u in urls:
        if u in known or canonicalize_url(u) in known:
            job.skip()  # an article of a URL list stored before: not fetched again
            progress.advance(u)
        else:
            todo.append(u)
    job.load_validators(todo)
    workers = max(1, min(len(todo), settings.max_concurrency))
    try:
        if workers == 1:
            for u in todo:
                job.load_url(u)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="newsdigest-fetch") as pool:
                list(pool.map(job.load_url, todo))
        job.flush()
    finally:
        if job.sink is not None and job.result.articles:
            job.sink_failed = True  # stopped before they were stored: fetch them next time
        job.save_validators()
    return job.result
