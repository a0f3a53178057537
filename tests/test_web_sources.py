"""Web sources against a real HTTP server on 127.0.0.1: feeds, pages, OPML, URL lists,
conditional GET, politeness, and every failure mode as one clear error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from digest.models import Article
from digest.settings import Settings
from flows import steps
from flows.sources.base import LoadResult
from flows.sources.fetch import FetchError, check_url, get_fetcher, reset_fetcher
from flows.sources.spec import SourceSpec, classify
from flows.sources.web import load_web_source, load_web_urls
from storage.engine import session as db_session
from storage.models import ArticleRow
from tests.web_server import FIXTURES, FixtureServer, Route

FAST = {
    "ALLOW_PRIVATE_HOSTS": "1",
    "HTTP_TIMEOUT_SECONDS": "0.5",
    "HTTP_RETRIES": "2",
    "HTTP_BACKOFF_SECONDS": "0.01",
    "HTTP_BACKOFF_MAX_SECONDS": "0.05",
    "PER_HOST_DELAY_SECONDS": "0",
    "PER_HOST_CONCURRENCY": "4",
    "HTTP_MAX_BYTES": str(200_000),
    "CONTACT": "ops@example.org",
}


@pytest.fixture
def web_settings(settings_env):
    settings_env(**FAST)
    reset_fetcher()
    from digest.settings import get_settings

    yield get_settings()
    reset_fetcher()


def serve_news(srv: FixtureServer) -> str:
    srv.add_file("/feed.xml", "feed.xml")
    srv.add_file("/berita/banjir-bekasi", "id-banjir.html")
    srv.add_file("/berita/gempa-cianjur", "id-gempa.html")
    return srv.url("/feed.xml")


def ingest(
    spec: SourceSpec, settings: Settings, db_url: str
) -> tuple[LoadResult, steps.IngestReport]:
    """What the ingest flow does for one source, without Prefect."""
    loaded = load_web_source(spec, settings, db_url)
    prepared = steps.prepare_articles(loaded, default_outlet=spec.name)
    with db_session(db_url) as s:
        report = steps.store_loaded(s, spec.key, spec.kind, prepared, name=spec.name)
    return loaded, report


def stored(db_url: str) -> dict[str, ArticleRow]:
    from sqlmodel import select

    with db_session(db_url) as s:
        return {r.url: r for r in s.exec(select(ArticleRow)).all()}


def test_feed_articles_stored_clean_then_second_run_is_conditional(
    server, web_settings, sqlite_url
):
    feed = serve_news(server)
    _loaded, report = ingest(classify(feed), web_settings, sqlite_url)
    assert report.new == 2, report.errors
    # The entry with neither link nor guid is one clear error; the run went on.
    assert report.failed == 1
    assert any("feed entry has no link" in e for e in report.errors)

    rows = stored(sqlite_url)
    banjir = rows[server.url("/berita/banjir-bekasi")]  # canonical, tracking parameters gone
    assert banjir.title == "Banjir Rendam Ribuan Rumah di Bekasi, Warga Mengungsi"
    assert banjir.outlet == "Kabar Kota"
    assert banjir.lang == "id"
    assert banjir.published is not None and banjir.published.day == 5
    text = banjir.text
    assert text.startswith("Hujan deras yang mengguyur wilayah Bekasi")
    assert "baca juga" not in text.lower()
    assert "Pompa Air Rusak" not in text and "Tanggul Kali" not in text
    assert "Macet Parah" not in text and "Berita Terkait" not in text
    assert "Copyright" not in text and "Beranda" not in text
    assert "Banjir Rendam Ribuan Rumah" not in text  # the repeated title line
    assert "dialihkan ke jalur alternatif" in text
    gempa = rows[server.url("/berita/gempa-cianjur")]  # an entry without <guid>
    assert "Kabar Bohong" not in gempa.text and "Bantuan Logistik" not in gempa.text
    assert gempa.published is not None

    # Second run: the feed answers 304 to a conditional request; nothing is fetched again.
    server.reset_counts()
    _loaded2, report2 = ingest(classify(feed), web_settings, sqlite_url)
    assert report2.new == 0 and report2.updated == 0 and report2.failed == 0
    assert report2.skipped == 1
    feed_requests = [h for p, h in server.requests if p == "/feed.xml"]
    assert len(feed_requests) == 1
    assert feed_requests[0].get("If-None-Match") and feed_requests[0].get("If-Modified-Since")
    assert server.hits["/berita/banjir-bekasi"] == 0 and server.hits["/berita/gempa-cianjur"] == 0
    assert len(stored(sqlite_url)) == 2


def test_changed_feed_fetches_only_new_entries(server, web_settings, sqlite_url):
    feed = serve_news(server)
    ingest(classify(feed), web_settings, sqlite_url)
    # The feed changes (new ETag): known entries are not fetched again.
    body = server.routes["/feed.xml"].body.replace(b"Berita terkini", b"Berita terbaru")
    server.routes["/feed.xml"] = Route(body=body, content_type="application/rss+xml")
    server.reset_counts()
    _, report = ingest(classify(feed), web_settings, sqlite_url)
    assert report.new == 0 and report.skipped == 2
    assert server.hits["/berita/banjir-bekasi"] == 0


def test_user_agent_contact_and_robots_fetched_once(server, web_settings, sqlite_url):
    ingest(classify(serve_news(server)), web_settings, sqlite_url)
    agents = {h.get("User-Agent") for _, h in server.requests}
    assert agents == {
        "newsdigest/0.1 (+https://github.com/newsdigest/newsdigest) (contact: ops@example.org)"
    }
    assert server.hits["/robots.txt"] == 1


def test_failures_are_one_error_each_and_the_run_goes_on(server, web_settings, sqlite_url, caplog):
    server.add_file("/errors.xml", "errors.xml")
    server.add("/e/slow", delay=1.5, body=b"<html></html>")
    server.add("/e/loop-a", redirect_to=server.url("/e/loop-b"))
    server.add("/e/loop-b", redirect_to=server.url("/e/loop-a"))
    server.add("/e/huge", body=b"<html><body>" + b"x" * 300_000 + b"</body></html>")
    server.add("/e/image.png", body=b"\x89PNG\r\n\x1a\n", content_type="image/png")
    server.add_file("/private/minutes", "en-private.html")
    server.add_file("/e/flaky", "en-flaky.html", fail_first=1)

    spec = classify(server.url("/errors.xml"))
    with caplog.at_level(logging.INFO):
        loaded, report = ingest(spec, web_settings, sqlite_url)
    reasons = {e.item.rsplit("/", 1)[-1]: e.reason for e in loaded.errors}
    assert reasons == {
        "missing": "HTTP 404 Not Found",
        "slow": "timed out after 0.5 s",
        "loop-a": f"redirect loop ({server.url('/e/loop-b')} redirects back to {server.url('/e/loop-a')})",
        "huge": "response over the 195 KB limit (293 KB)",
        "image.png": "content type image/png is not HTML or a feed",
        "minutes": "disallowed by robots.txt",
    }
    assert report.failed == 6 and report.new == 1  # 500 then 200: retried and stored
    assert server.hits["/e/flaky"] == 2
    assert server.hits["/private/minutes"] == 0
    assert server.hits["/e/missing"] == 1  # 4xx: never retried
    assert server.hits["/e/slow"] == 3  # timeouts: retried (2 retries)
    assert any(
        "retrying" in r.getMessage() and "HTTP 500" in r.getMessage() for r in caplog.records
    )
    # An entry failed for a reason worth retrying: the feed's validators were not saved, so
    # the next run reads the whole feed again instead of getting a 304.
    server.reset_counts()
    ingest(spec, web_settings, sqlite_url)
    feed_requests = [h for p, h in server.requests if p == "/errors.xml"]
    assert feed_requests and not feed_requests[0].get("If-None-Match")
    assert server.hits["/e/flaky"] == 0  # stored last time: not fetched again


def test_invalid_feed_and_wrong_content_type(server, web_settings, sqlite_url):
    server.add_file("/invalid.xml", "invalid.xml")
    server.add("/doc.pdf", body=b"%PDF-1.4", content_type="application/pdf")
    loaded = load_web_urls(
        SourceSpec(key="list", kind="urls"),
        [server.url("/invalid.xml"), server.url("/doc.pdf")],
        web_settings,
        sqlite_url,
    )
    reasons = sorted(e.reason for e in loaded.errors)
    assert reasons[0] == "content type application/pdf is not HTML or a feed"
    assert reasons[1].startswith("invalid feed XML: ")
    assert loaded.articles == []


def test_non_utf8_page_decoded_from_meta_charset(server, web_settings, sqlite_url):
    server.add_file("/ledger/cafe", "en-cafe-cp1252.html", content_type="text/html")
    _, report = ingest(
        classify(server.url("/ledger/cafe?utm_campaign=x")), web_settings, sqlite_url
    )
    assert report.new == 1, report.errors
    row = stored(sqlite_url)[server.url("/ledger/cafe")]
    assert row.title == "Café owners fear €2 levy on takeaway cups"
    assert "naïve" in row.text and "\ufffd" not in row.text
    assert "Read more" not in row.text and "new budget" not in row.text
    assert row.outlet == "The Daily Ledger"


def test_atom_feed_falls_back_to_entry_content(server, web_settings, sqlite_url):
    server.add_file("/atom.xml", "atom.xml")
    server.add_file("/ledger/cafe-levy", "en-cafe-cp1252.html", content_type="text/html")
    server.add_file("/ledger/paywalled", "paywalled.html")
    _, report = ingest(classify(server.url("/atom.xml")), web_settings, sqlite_url)
    assert report.new == 2, report.errors
    rows = stored(sqlite_url)
    assert server.url("/ledger/cafe-levy") in rows  # fbclid stripped
    paywalled = rows[server.url("/ledger/paywalled")]
    assert "compromise that neither side" in paywalled.text
    assert "Subscribe" not in paywalled.text


def test_opml_and_url_list_sources(server, web_settings, sqlite_url, tmp_path):
    serve_news(server)
    server.add_file("/atom.xml", "atom.xml")
    server.add_file("/ledger/cafe-levy", "en-cafe-cp1252.html", content_type="text/html")
    server.add_file("/ledger/paywalled", "paywalled.html")
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(
        (FIXTURES / "feeds.opml").read_bytes().replace(b"{base}", server.base.encode())
    )
    spec = classify(str(opml))
    assert spec.kind == "opml"
    loaded = load_web_source(spec, web_settings, sqlite_url)
    assert len(loaded.articles) == 4
    sources = {a.source for a in loaded.articles}
    assert sources == {"Kabar Kota", "The Daily Ledger"}
    assert {tuple(a.tags) for a in loaded.articles} == {("Indonesia",), ()}

    # A URL list: article pages in batches; pages already stored are not fetched again.
    lst = tmp_path / "urls.txt"
    lst.write_text(
        f"# my reading list\n{server.url('/berita/banjir-bekasi')}\n{server.url('/flaky')}\n",
        encoding="utf-8",
    )
    server.add_file("/flaky", "en-flaky.html")
    spec = classify(str(lst))
    assert spec.kind == "urls"
    with db_session(sqlite_url) as s:
        from storage import repo

        p = steps.prepare_articles(loaded)
        repo.store_articles(s, p.articles)
    server.reset_counts()
    loaded = load_web_source(spec, web_settings, sqlite_url)
    assert [a.url for a in loaded.articles] == [server.url("/flaky")]
    assert loaded.skipped == 1 and server.hits["/berita/banjir-bekasi"] == 0


def test_private_addresses_refused_without_the_setting(server, settings_env, sqlite_url):
    settings_env(ALLOW_PRIVATE_HOSTS="0", HTTP_TIMEOUT_SECONDS="0.5")
    reset_fetcher()
    from digest.settings import get_settings

    settings = get_settings()
    server.add_file("/page", "en-flaky.html")
    loaded = load_web_source(classify(server.url("/page")), settings, sqlite_url)
    assert [e.reason for e in loaded.errors] == [
        "refused: 127.0.0.1 is a loopback address (set NEWSDIGEST_ALLOW_PRIVATE_HOSTS=1 to allow)"
    ]
    assert server.hits["/page"] == 0 and server.hits["/robots.txt"] == 0
    for url, kind in [
        ("http://10.1.2.3/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://224.0.0.1/", "multicast"),
        ("http://localhost/", "loopback"),
    ]:
        with pytest.raises(FetchError, match=kind):
            check_url(url, allow_private=False)
    with pytest.raises(FetchError, match="only http and https"):
        check_url("file:///etc/passwd", allow_private=True)
    reset_fetcher()


def test_redirect_to_private_host_is_refused(server, settings_env, sqlite_url):
    """Each redirect hop is checked: a public URL cannot bounce the client to a private one."""
    import httpx

    settings_env(ALLOW_PRIVATE_HOSTS="0")
    from digest.settings import get_settings
    from flows.sources.fetch import Fetcher

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    fetcher = Fetcher(get_settings(), transport=httpx.MockTransport(handler))
    import flows.sources.fetch as fetch_mod

    original = fetch_mod.socket.getaddrinfo
    fetch_mod.socket.getaddrinfo = lambda host, port, *a, **k: [
        (2, 1, 6, "", ("93.184.216.34", port))
    ]
    try:
        with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
            fetcher.get("http://news.example/story")
    finally:
        fetch_mod.socket.getaddrinfo = original
        fetcher.close()


def test_retry_after_is_honoured(server, web_settings):
    import time

    server.add_file(
        "/busy", "en-flaky.html", fail_first=1, fail_status=429, fail_headers={"Retry-After": "0"}
    )
    server.add_file(
        "/later",
        "en-flaky.html",
        fail_first=5,
        fail_status=429,
        fail_headers={"Retry-After": "3600"},
    )
    fetcher = get_fetcher(web_settings)
    started = time.monotonic()
    assert fetcher.get(server.url("/busy")).status == 200 and server.hits["/busy"] == 2
    # Asked to come back in an hour: give up now, saying why (no hour-long sleep).
    with pytest.raises(FetchError, match=r"HTTP 429 Too Many Requests \(Retry-After 3600 s"):
        fetcher.get(server.url("/later"))
    assert server.hits["/later"] == 1 and time.monotonic() - started < 2


def test_per_host_delay_spaces_requests(server, settings_env):
    import time

    settings_env(**{**FAST, "PER_HOST_DELAY_SECONDS": "0.2", "PER_HOST_CONCURRENCY": "1"})
    reset_fetcher()
    from digest.settings import get_settings

    fetcher = get_fetcher(get_settings())
    server.add_file("/p", "en-flaky.html", conditional=False)
    started = time.monotonic()
    for _ in range(3):
        fetcher.get(server.url("/p"))
    # robots.txt + 3 pages, 0.2 s apart
    assert time.monotonic() - started >= 0.55
    reset_fetcher()


def test_sources_file(tmp_path):
    from flows.sources.config import SourcesFileError, load_sources_file

    (tmp_path / "list.txt").write_text("https://example.com/a\n", encoding="utf-8")
    cfg = tmp_path / "sources.toml"
    cfg.write_text(
        """
[defaults]
lang = "id"
tags = ["indonesia"]

[[source]]
url = "https://example.com/rss.xml"
name = "Example"
tags = ["wire"]

[[source]]
path = "list.txt"
lang = "en"
""",
        encoding="utf-8",
    )
    specs = load_sources_file(cfg)
    assert [(s.kind, s.name, s.lang, s.tags) for s in specs] == [
        ("url", "Example", "id", ["indonesia", "wire"]),
        ("urls", None, "en", ["indonesia"]),
    ]
    assert Path(specs[1].key) == (tmp_path / "list.txt").resolve()
    cfg.write_text('[[source]]\nurl = "https://x.org/f"\nfeed = "y"\n', encoding="utf-8")
    with pytest.raises(SourcesFileError, match="unknown key"):
        load_sources_file(cfg)


def test_raw_articles_are_raw(server, web_settings, sqlite_url):
    """A web source returns raw Articles; the pipeline prepares them (no id, no hash yet)."""
    loaded = load_web_source(classify(serve_news(server)), web_settings, sqlite_url)
    assert all(
        isinstance(a, Article) and a.id == "" and a.content_hash is None for a in loaded.articles
    )
    assert {a.origin for a in loaded.articles} >= {server.url("/berita/gempa-cianjur")}


# --- extraction details -------------------------------------------------------------------

_PARAGRAPHS = [
    "Die Stadtwerke haben am Montag angekündigt, das Fernwärmenetz im Norden der Stadt bis "
    "zum Jahr 2030 vollständig zu erneuern und dafür rund 40 Millionen Euro auszugeben.",
    "Nach Angaben des Unternehmens sind viele der Leitungen älter als fünfzig Jahre und "
    "verlieren zu viel Wärme, was die Kosten für alle Kunden in die Höhe treibt.",
    "Die Arbeiten sollen im Frühjahr beginnen und abschnittsweise erfolgen, damit die "
    "Versorgung der Haushalte während der Bauzeit zu keinem Zeitpunkt unterbrochen wird.",
]


def _script_rendered_page() -> bytes:
    """A page a JavaScript framework renders: the body is only in the script's JSON state."""
    import json

    body = "".join(f"<p>{p}</p>" for p in _PARAGRAPHS[:2])
    body += "$$ARTICLEAD$$" + f"<p>{_PARAGRAPHS[2]}</p>"
    state = json.dumps(["$", "div", None, {"dangerouslySetInnerHTML": {"__html": body}}])
    push = json.dumps([1, "5:" + state])
    html = (
        "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'>"
        "<title>Fernwärme wird erneuert | Stadtanzeiger</title>"
        "<meta property='og:site_name' content='Stadtanzeiger'>"
        "<meta property='article:published_time' content='2025-03-04T08:00:00+01:00'>"
        "</head><body><header><a href='/'>Start</a></header><div id='root'></div>"
        f"<script>self.__next_f.push({push})</script></body></html>"
    )
    return html.encode("utf-8")


def test_article_only_in_script_state_is_extracted(server, web_settings, sqlite_url):
    url = server.add("/nachrichten/fernwaerme", body=_script_rendered_page())
    loaded = load_web_urls(SourceSpec(key=url, kind="url"), [url], web_settings, sqlite_url)
    assert not loaded.errors and len(loaded.articles) == 1
    art = loaded.articles[0]
    assert art.source == "Stadtanzeiger"
    assert art.published is not None and art.published.day == 4
    assert art.text.split("\n\n") == _PARAGRAPHS  # the template slot is gone


def test_page_metadata_survives_broken_json_ld():
    import trafilatura

    from digest.extract import JSON_REPAIR_MAX_CHARS, extract_html, page_metadata

    ld = (
        '{"@context": "https://schema.org", "@type": "NewsArticle", '
        '"headline": "Fernw&auml;rme wird erneuert", "datePublished": "2025-03-04", '
        '"author": {"@type": "Person", "name": "Nina Magoley"}, '
        '"publisher": {"@type": "Organization", "name": "Stadtanzeiger"}}'
    )
    broken = '{"@type": "NewsArticle", "headline": "x' + "y" * JSON_REPAIR_MAX_CHARS
    html = (
        "<html><head><title>Start</title>"
        f"<script type='application/ld+json'>{broken}</script>"
        f"<script type='application/ld+json'>{ld}</script></head><body><article>"
        + "".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
        + "</article></body></html>"
    )
    meta = page_metadata(trafilatura.load_html(html), "https://example.org/a")
    assert meta.title == "Fernwärme wird erneuert"
    assert meta.author == "Nina Magoley"
    assert meta.sitename == "Stadtanzeiger"
    assert meta.date == "2025-03-04"
    ext = extract_html(html, "https://example.org/a")
    assert ext is not None and ext.text.split("\n\n") == _PARAGRAPHS


def test_validators_are_kept_per_job_and_sent_next_time(server, web_settings, sqlite_url):
    from sqlmodel import select

    from storage.models import FetchState

    urls = [server.add(f"/p{i}", body=_script_rendered_page()) for i in range(3)]
    spec = SourceSpec(key="list", kind="urls")
    first = load_web_urls(spec, urls, web_settings, sqlite_url)
    assert len(first.articles) == 3
    with db_session(sqlite_url) as s:
        states = {r.url: r for r in s.exec(select(FetchState)).all()}
    assert set(states) == set(urls) and all(r.etag for r in states.values())

    # Nothing was stored: the pages are asked again, conditionally, and are not modified.
    server.reset_counts()
    second = load_web_urls(spec, urls, web_settings, sqlite_url)
    assert second.articles == [] and second.skipped == 3 and not second.errors
    sent = [h for p, h in server.requests if p.startswith("/p")]
    assert len(sent) == 3 and all(h.get("If-None-Match") for h in sent)
