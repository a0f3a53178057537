"""The ingest stores each feed's articles in batches while the feed is still being fetched
(texts do not wait in memory for the run), exactly once, and a batch that cannot be stored
costs only its own articles, which the next run fetches again."""

from __future__ import annotations

import threading
from xml.sax.saxutils import escape

import pytest
from sqlmodel import select

from flows import ingest_flow, steps
from flows.sources import web
from flows.sources.fetch import reset_fetcher
from flows.sources.spec import SourceSpec
from flows.sources.web import WebJob, load_web_urls
from storage.engine import session as db_session
from storage.models import ArticleRow
from tests.feed_farm import serve_page
from tests.web_server import FixtureServer

FAST = {
    "ALLOW_PRIVATE_HOSTS": "1",
    "HTTP_TIMEOUT_SECONDS": "2",
    "HTTP_RETRIES": "0",
    "PER_HOST_DELAY_SECONDS": "0",
    "PER_HOST_CONCURRENCY": "4",
    "EXTRACT_PROCESSES": "1",
}
PAGES = 7


@pytest.fixture
def fast_settings(settings_env):
    settings_env(**FAST)
    reset_fetcher()
    from digest.settings import get_settings

    yield get_settings()
    reset_fetcher()


def serve_feed(server: FixtureServer, n: int = PAGES) -> str:
    items = []
    for i in range(n):
        title, _, url = serve_page(server, i)
        items.append(f"<item><title>{escape(title)}</title><link>{url}</link></item>")
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Farm</title>'
        f"<link>{server.base}/</link>{''.join(items)}</channel></rss>"
    )
    return server.add("/feed.xml", body=body.encode(), content_type="application/rss+xml")


def rows(db_url: str) -> list[ArticleRow]:
    with db_session(db_url) as s:
        return list(s.exec(select(ArticleRow)).all())


def test_articles_reach_the_sink_in_batches_and_are_not_kept(
    server, fast_settings, sqlite_url, monkeypatch
):
    monkeypatch.setattr(web, "SINK_BATCH", 3)
    feed = serve_feed(server)
    sizes: list[int] = []
    held: list[int] = []
    lock = threading.Lock()
    job_result = {}

    real_job = web._Job

    class Spy(real_job):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            job_result["r"] = self.result

    monkeypatch.setattr(web, "_Job", Spy)

    def sink(batch):
        with lock:
            sizes.append(len(batch))
            # what the job still holds while this batch is stored: never a full batch more
            held.append(len(job_result["r"].articles))
        return True

    res = load_web_urls(SourceSpec(feed, "url"), [feed], fast_settings, sqlite_url, sink=sink)
    assert sorted(sizes) == [1, 3, 3]
    assert max(held) < 3
    assert res.articles == [] and res.errors == []


def test_the_ingest_stores_each_article_once_while_fetching(
    server, settings_env, sqlite_url, monkeypatch
):
    settings_env(**FAST, MAX_CONCURRENCY="1")  # pages one at a time, in the feed's order
    reset_fetcher()
    from digest.settings import get_settings

    fast_settings = get_settings()
    monkeypatch.setattr(web, "SINK_BATCH", 2)
    feed = serve_feed(server)
    stored_during_fetch = []
    real_fetch = web._Job.fetch

    def fetch(self, url):
        if url.endswith("/p/6"):  # the last page: earlier batches are already in the database
            stored_during_fetch.append(len(rows(sqlite_url)))
        return real_fetch(self, url)

    monkeypatch.setattr(web._Job, "fetch", fetch)
    out = ingest_flow._load_job(WebJob(SourceSpec(feed, "url"), [feed]), fast_settings, sqlite_url)
    assert out.failure is None and out.extracted == PAGES
    assert out.report.new == PAGES and out.report.failed == 0
    assert out.report.per_source[feed]["new"] == PAGES
    assert stored_during_fetch == [6]  # three batches of two stored before the last page
    assert len(rows(sqlite_url)) == PAGES
    # Run again (as a retried task would): everything known, nothing stored twice.
    reset_fetcher()
    again = ingest_flow._load_job(
        WebJob(SourceSpec(feed, "url"), [feed]), fast_settings, sqlite_url
    )
    assert again.report.new == 0 and again.extracted == 0
    assert len(rows(sqlite_url)) == PAGES


def test_a_batch_that_cannot_be_stored_is_fetched_again_next_run(
    server, fast_settings, sqlite_url, monkeypatch
):
    monkeypatch.setattr(web, "SINK_BATCH", 3)
    feed = serve_feed(server)
    real_store = steps.store_loaded
    calls = {"n": 0}

    def flaky_store(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(steps, "store_loaded", flaky_store)
    job = WebJob(SourceSpec(feed, "url"), [feed])
    out = ingest_flow._load_job(job, fast_settings, sqlite_url)
    assert out.failure == "could not store: RuntimeError: disk full"
    lost = PAGES - out.report.new
    assert lost in (1, 3) and out.extracted == PAGES
    assert len(rows(sqlite_url)) == out.report.new

    # Nothing of the job's validators was kept: the feed and the lost pages are fetched again
    # (the stored ones are known and skipped), and each article is stored once.
    monkeypatch.setattr(steps, "store_loaded", real_store)
    server.reset_counts()
    reset_fetcher()
    again = ingest_flow._load_job(job, fast_settings, sqlite_url)
    feed_requests = [h for p, h in server.requests if p == "/feed.xml"]
    assert feed_requests and not feed_requests[0].get("If-None-Match")
    assert again.failure is None and again.report.new == lost
    assert again.report.skipped == PAGES - lost
    assert sum(server.hits[f"/p/{i}"] for i in range(PAGES)) == lost
    stored = rows(sqlite_url)
    assert len(stored) == PAGES == len({r.url for r in stored})
