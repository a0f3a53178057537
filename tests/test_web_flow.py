"""The web sources through the Prefect ``ingest`` flow (tasks per feed, stored per source)."""

from __future__ import annotations

from flows.sources.fetch import reset_fetcher
from tests.test_web_sources import FAST, FIXTURES, serve_news, stored


def test_ingest_flow_with_opml_and_sources_file(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    settings_env(**FAST)
    reset_fetcher()
    serve_news(server)
    server.add_file("/atom.xml", "atom.xml")
    server.add_file("/ledger/cafe-levy", "en-cafe-cp1252.html", content_type="text/html")
    server.add_file("/ledger/paywalled", "paywalled.html")
    server.add("/gone.xml", status=404, body=b"gone")
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(
        (FIXTURES / "feeds.opml").read_bytes().replace(b"{base}", server.base.encode())
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\npath = "feeds.opml"\n\n[[source]]\nurl = "{server.url("/gone.xml")}"\n'
        'name = "Gone"\n',
        encoding="utf-8",
    )
    settings_env(**FAST, SOURCES_FILE=str(sources))

    from flows.pipeline import ingest

    report = ingest(db_url=sqlite_url)
    assert report.new == 4, report.errors
    assert report.failed == 2  # the entry without a link, and the 404 feed
    assert any("gone.xml: HTTP 404 Not Found" in e for e in report.errors)
    # Per-source counts: each feed of the OPML file is a source of its own.
    assert report.per_source[server.url("/feed.xml")]["new"] == 2
    assert report.per_source[server.url("/atom.xml")]["new"] == 2
    assert len(stored(sqlite_url)) == 4

    again = ingest(db_url=sqlite_url)
    assert again.new == 0 and again.skipped == 2  # both feeds answered 304
    reset_fetcher()
