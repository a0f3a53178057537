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

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from digest.extract import Extracted, HtmlTooDeep, extract_html, word_count
from digest.models import Article
from digest.settings import Settings
from digest.urls import canonical_url, canonicalize_url, same_site
from flows.progress import progress
from flows.sources.base import ItemError, LoadResult
from flows.sources.feeds import (
    FeedEntry,
    FeedError,
    looks_like_feed_url,
    parse_feed,
    parse_opml,
    read_url_list,
)
from flows.sources.fetch import FetchError, FetchResult, decode_body, get_fetcher, meta_charset
from flows.sources.spec import SourceSpec
from storage import repo
from storage.engine import session as db_session

log = logging.getLogger("newsdigest.web")

# Article URLs of a URL list are fetched in batches of this many per task.
PAGE_BATCH = 25
# A page that yields fewer words than this falls back to the feed entry's own text, when
# that is longer.
MIN_PAGE_WORDS = 60


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
                    lang=spec.lang or f.lang,
                    tags=list(dict.fromkeys([*spec.tags, *f.tags])),
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
                SourceSpec(key=u, kind="url", name=spec.name, lang=spec.lang, tags=spec.tags), [u]
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


class _Job:
    """State of one job: the fetcher, the database, and the results gathered so far."""

    def __init__(self, spec: SourceSpec, settings: Settings, db_url: str) -> None:
        self.spec = spec
        self.settings = settings
        self.db_url = db_url
        self.fetcher = get_fetcher(settings)
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
        """Write the validators gathered by this job, in one transaction."""
        with self.lock:
            pending, self._pending = self._pending, {}
        if not pending:
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
        with self.lock:
            self.result.articles.append(article)

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
                        entry.link, res, entry=entry, feed_title=feed.title, feed_lang=feed.lang
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
        feed_lang: str | None = None,
    ) -> None:
        """One article page (HTML) -> a raw Article, or an error."""
        if res.kind != "html":
            self.error(url, f"content type {res.content_type or 'unknown'} is not an article page")
            return
        html, encoding = decode_body(res.content, res.charset, html=True)
        if encoding != "utf-8" and not res.charset and not meta_charset(res.content):
            log.warning("%s: no charset declared and not UTF-8; decoded as %s", url, encoding)
        try:
            extracted = extract_html(html, res.final_url)
        except HtmlTooDeep as exc:
            self.error(url, str(exc))
            return
        article = self.article(url, res, html, extracted, entry, feed_title, feed_lang)
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
        feed_lang: str | None,
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
            source=spec.name or (extracted.sitename if extracted else None) or feed_title or None,
            published=(extracted.published if extracted else None)
            or (entry.published if entry else None),
            lang=spec.lang or (extracted.lang if extracted else None) or feed_lang,
            origin=url,
            tags=list(spec.tags),
        )


def load_web_urls(spec: SourceSpec, urls: list[str], settings: Settings, db_url: str) -> LoadResult:
    """Fetch each URL (a feed or an article page) and return the raw articles found."""
    job = _Job(spec, settings, db_url)
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
    finally:
        job.save_validators()
    return job.result
