"""robots.txt kept between runs: used while fresh, then asked for conditionally (a 304 keeps
the copy), used stale when the site is unreachable; a missing robots.txt is kept too. Every
"run" starts a new client (reset_fetcher), as a new process would, against a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from flows.sources.fetch import reset_fetcher
from flows.sources.fetch.robots import CachedRobots, max_age_seconds
from flows.sources.spec import classify
from flows.sources.web import load_web_source
from storage.engine import session as db_session
from storage.models import RobotsTxt
from tests.web_server import FixtureServer

FAST = {
    "ALLOW_PRIVATE_HOSTS": "1",
    "HTTP_TIMEOUT_SECONDS": "0.5",
    "HTTP_RETRIES": "0",
    "HTTP_BACKOFF_SECONDS": "0.01",
    "HTTP_BACKOFF_MAX_SECONDS": "0.05",
    "PER_HOST_DELAY_SECONDS": "0",
}


@pytest.fixture
def settings_of(settings_env):
    def make(**extra):
        settings_env(**FAST, **extra)
        reset_fetcher()
        from digest.settings import get_settings

        return get_settings()

    yield make
    reset_fetcher()


def serve(server: FixtureServer) -> tuple[str, str]:
    """A feed-less pair of pages: one allowed, one under /private/ (disallowed)."""
    server.add_file("/news/a", "id-banjir.html")
    server.add_file("/private/minutes", "en-private.html")
    return server.url("/news/a"), server.url("/private/minutes")


def run(url: str, settings, db_url: str):
    """One run for one page URL, in a 'new process' (a fresh client)."""
    reset_fetcher()
    return load_web_source(classify(url), settings, db_url)


def robots_requests(server: FixtureServer) -> list[dict[str, str]]:
    return [h for p, h in server.requests if p == "/robots.txt"]


def kept(db_url: str) -> list[RobotsTxt]:
    with db_session(db_url) as s:
        return list(s.exec(select(RobotsTxt)).all())


def test_fresh_copy_is_used_without_asking(server, settings_of, sqlite_url):
    settings = settings_of()
    allowed, private = serve(server)
    first = run(allowed, settings, sqlite_url)
    assert len(first.articles) == 1 and len(robots_requests(server)) == 1
    [row] = kept(sqlite_url)
    assert row.origin == server.base and row.status == 200 and "Disallow: /private/" in row.body
    assert row.etag and row.max_age_seconds == 24 * 3600

    server.reset_counts()
    second = run(private, settings, sqlite_url)  # a new client: its memory is empty
    assert robots_requests(server) == []
    assert [e.reason for e in second.errors] == ["disallowed by robots.txt"]
    assert server.hits["/private/minutes"] == 0


def test_stale_copy_is_revalidated_and_a_304_keeps_it(server, settings_of, sqlite_url):
    settings = settings_of(ROBOTS_MAX_AGE_SECONDS="0")
    allowed, private = serve(server)
    run(allowed, settings, sqlite_url)
    [before] = kept(sqlite_url)

    server.reset_counts()
    second = run(private, settings, sqlite_url)
    [asked] = robots_requests(server)
    assert asked.get("If-None-Match") == before.etag and asked.get("If-Modified-Since")
    assert [e.reason for e in second.errors] == ["disallowed by robots.txt"]  # the kept rules
    [after] = kept(sqlite_url)
    assert after.body == before.body and after.fetched_at > before.fetched_at


def test_a_changed_robots_txt_replaces_the_kept_one(server, settings_of, sqlite_url):
    settings = settings_of(ROBOTS_MAX_AGE_SECONDS="0")
    allowed, private = serve(server)
    run(allowed, settings, sqlite_url)
    server.add("/robots.txt", body=b"User-agent: *\nDisallow: /news/\n", content_type="text/plain")
    server.reset_counts()
    now_private = run(private, settings, sqlite_url)
    assert len(now_private.articles) == 1 and not now_private.errors
    now_news = run(allowed, settings, sqlite_url)
    assert [e.reason for e in now_news.errors] == ["disallowed by robots.txt"]
    assert [r.body for r in kept(sqlite_url)] == ["User-agent: *\nDisallow: /news/\n"]


def test_cache_control_max_age_decides_over_the_setting(server, settings_of, sqlite_url):
    settings = settings_of()  # 24 h by default
    allowed, _ = serve(server)
    server.routes["/robots.txt"].headers["Cache-Control"] = "public, max-age=0"
    run(allowed, settings, sqlite_url)
    assert kept(sqlite_url)[0].max_age_seconds == 0
    server.reset_counts()
    run(allowed, settings, sqlite_url)
    [asked] = robots_requests(server)
    assert asked.get("If-None-Match")  # conditional, not a plain GET


def test_unreachable_site_uses_the_kept_copy_else_fetches_nothing(
    server, settings_of, sqlite_url, tmp_path
):
    settings = settings_of(ROBOTS_MAX_AGE_SECONDS="0")
    allowed, private = serve(server)
    run(allowed, settings, sqlite_url)
    server.add("/robots.txt", status=503, body=b"down", content_type="text/plain")
    server.reset_counts()
    with_copy = run(private, settings, sqlite_url)
    assert len(robots_requests(server)) == 2  # asked, retried once
    assert [e.reason for e in with_copy.errors] == ["disallowed by robots.txt"]  # kept rules
    again = run(allowed, settings, sqlite_url)
    assert not again.errors and server.hits["/news/a"] == 1  # fetched under the kept rules

    other_db = f"sqlite:///{tmp_path / 'other.db'}"  # no copy kept: nothing is fetched
    server.reset_counts()
    without = run(allowed, settings, other_db)
    assert [e.reason for e in without.errors] == [
        "robots.txt unavailable (HTTP 503 Service Unavailable): not fetching from this site"
    ]
    assert server.hits["/news/a"] == 0 and kept(other_db) == []


def test_a_missing_robots_txt_is_kept_as_allow_all(server, settings_of, sqlite_url):
    settings = settings_of()
    allowed, private = serve(server)
    del server.routes["/robots.txt"]  # 404
    run(allowed, settings, sqlite_url)
    [row] = kept(sqlite_url)
    assert row.status == 404 and row.body == ""
    server.reset_counts()
    second = run(private, settings, sqlite_url)
    assert robots_requests(server) == [] and len(second.articles) == 1


def test_max_age_and_freshness_rules():
    assert max_age_seconds(None, 3600) == 3600
    assert max_age_seconds("public, max-age=600", 3600) == 600
    assert max_age_seconds('max-age="120"', 3600) == 120
    assert max_age_seconds("max-age=999999", 3600) == 24 * 3600  # RFC 9309 cap
    assert max_age_seconds("no-cache", 3600) == 0
    assert max_age_seconds("private, no-store", 3600) == 0
    assert max_age_seconds(None, 10**9) == 24 * 3600
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    copy = CachedRobots(200, "", '"e"', "Thu, 01 Jan 2026 00:00:00 GMT", now, 60)
    assert copy.fresh(now + timedelta(seconds=59)) and not copy.fresh(now + timedelta(seconds=60))
    naive = CachedRobots(200, "", None, None, now.replace(tzinfo=None), 60)  # as SQLite returns
    assert naive.fresh(now + timedelta(seconds=1))
    assert copy.conditional_headers() == {
        "If-None-Match": '"e"',
        "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT",
    }
    assert CachedRobots(404, "", '"e"', None, now, 60).conditional_headers() == {}
