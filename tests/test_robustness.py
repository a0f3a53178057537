"""One bad item never costs the good ones, and nothing hangs, leaks or disappears.

The bad-input corpus is tests/badinput/ (files) and the faults of tests/fault_server.py
(served pages). Each case asserts the item's own error, that the good items are stored, and
that the run finished.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from digest.settings import get_settings
from flows import steps
from flows.sources.fetch import DEADLINE_FACTOR, Fetcher, FetchError, decode_body, reset_fetcher
from flows.sources.local import load_local
from flows.sources.spec import SourceSpec
from flows.sources.web import load_web_urls
from storage.engine import session as db_session
from storage.models import ArticleRow
from tests import fault_server as fs
from tests.web_server import FIXTURES

BADINPUT = Path(__file__).parent / "badinput"
ROOT = Path(__file__).resolve().parent.parent

FAST = {
    "ALLOW_PRIVATE_HOSTS": "1",
    "HTTP_TIMEOUT_SECONDS": "0.5",
    "HTTP_RETRIES": "2",
    "HTTP_BACKOFF_SECONDS": "0.01",
    "HTTP_BACKOFF_MAX_SECONDS": "0.05",
    "PER_HOST_DELAY_SECONDS": "0",
    "PER_HOST_CONCURRENCY": "8",
    "HTTP_MAX_BYTES": str(1_000_000),
}

# What each bad file of tests/badinput/folder costs: its own error, nothing else.
FOLDER_ERRORS = {
    "bad-bom-stray.txt": "not valid UTF-8 after its byte order mark (offset 20): save the file as UTF-8",
    "bad-lang-list.json#record 1": '"lang" must be a string, not a list',
    "bad-published-number.json#record 1": '"published" must be a string, not a number',
    "bad-source-list.json#record 1": '"source" must be a string, not a list',
    "bad-text-number.json#record 1": '"text" must be a string, not a number',
    "bad-url-object.json#record 1": '"url" must be a string, not an object',
    "deep-ins.html": "HTML nested 403 levels deep, deeper than the 255 the parser follows: its text cannot be read",
    "records.jsonl#line 2": "malformed JSON: Expecting property name enclosed in double quotes",
    "records.jsonl#line 3": '"lang" must be a string, not an object',
    "records.jsonl#line 4": "not an article object",
}
# The good items of the folder (ids given by the files, or titles for files without ids).
FOLDER_GOOD_IDS = {
    "good-bridge",
    "controls",
    "year-0001",
    "year-9999",
    "jsonl-good-1",
    "jsonl-good-2",
}
FOLDER_GOOD_TITLES = {
    "Northport library to extend opening hours",
    "River walk plan approved",  # 300 nested <div>s: read flattened
}
FF_NAME = b"caf\xff-report.json"  # a file name that is not UTF-8


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    """tests/badinput/folder plus a good article whose file name holds byte 0xFF."""
    folder = tmp_path / "folder"
    shutil.copytree(BADINPUT / "folder", folder)
    record = json.loads((folder / "good-bridge.json").read_text(encoding="utf-8"))
    record.update(
        id="ff-name",
        url=None,
        title="Cafe owners welcome the new market hall",
        text=record["text"].replace("the old bridge", "the market hall"),
    )
    path = os.fsencode(folder) + b"/" + FF_NAME
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    return folder


def _error_map(errors, folder: Path) -> dict[str, str]:
    out = {}
    for e in errors:
        item = str(e.item) if hasattr(e, "item") else str(e).split(": ", 1)[0]
        reason = e.reason if hasattr(e, "reason") else str(e).split(": ", 1)[1]
        out[item.rsplit("/", 1)[-1]] = reason
    return out


def _stored(db_url: str) -> list[ArticleRow]:
    with db_session(db_url) as s:
        return list(s.exec(select(ArticleRow)).all())


def _check_folder_rows(rows: list[ArticleRow]) -> None:
    by_uid = {r.uid: r for r in rows}
    titles = {r.title for r in rows}
    assert FOLDER_GOOD_IDS | {"ff-name"} <= set(by_uid), sorted(by_uid)
    assert titles >= FOLDER_GOOD_TITLES
    assert len(rows) == len(FOLDER_GOOD_IDS) + len(FOLDER_GOOD_TITLES) + 3  # + ff, thai, zh
    # Dates out of range are dropped, the articles kept.
    assert by_uid["year-0001"].published is None and by_uid["year-9999"].published is None
    assert by_uid["good-bridge"].published is not None
    # Control and formatting characters gone; a javascript: url dropped; one-line fields.
    c = by_uid["controls"]
    assert c.title == "Council votes on the tram plan for real"
    assert "\x00" not in c.text and "\x07" not in c.text and "Tuesday" in c.text
    assert c.url is None and c.outlet == "Northport News"
    # The 0xFF file name is stored readable (U+FFFD for the byte).
    assert "caf\ufffd-report.json" in by_uid["ff-name"].origin
    # Scripts without spaces: the derived title is a title, not the body.
    for r in rows:
        assert len(r.title) <= 100, r.title


def test_bad_folder_costs_only_its_bad_files(bad_folder, sqlite_url, caplog):
    caplog.set_level(logging.WARNING, logger="newsdigest")
    loaded = load_local(bad_folder, 5_000_000)
    prepared = steps.prepare_articles(loaded)
    with db_session(sqlite_url) as s:
        report = steps.store_loaded(s, str(bad_folder), "local", prepared)
    assert _error_map(prepared.errors, bad_folder) == FOLDER_ERRORS
    assert report.failed == len(FOLDER_ERRORS)
    assert report.new == len(_stored(sqlite_url))
    _check_folder_rows(_stored(sqlite_url))
    # The dropped values are logged, one warning each.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("0001-01-01T00:00:00+07:00" in w and "out of range" in w for w in warnings)
    assert any("9999-12-31T23:59:59Z" in w for w in warnings)
    assert any("'javascript:alert(1)' is not an http(s) URL" in w for w in warnings)


def test_bad_folder_through_the_flows_then_digest(
    prefect_harness, bad_folder, sqlite_url, tmp_path
):
    """The whole pipeline: ingest finishes with the good items stored and every bad one
    counted; a stored date of year 0001 (from before dates were checked) blocks no digest."""
    from flows.pipeline import ingest, make_digest

    report = ingest(sources=[str(bad_folder)], db_url=sqlite_url)
    assert report.failed == len(FOLDER_ERRORS)
    assert report.new == len(_stored(sqlite_url))
    _check_folder_rows(_stored(sqlite_url))
    # An article stored with an extreme date by an older version, bypassing validation.
    with db_session(sqlite_url) as s:
        s.add(
            ArticleRow(
                uid="legacy-0001",
                content_hash="legacy",
                title="Legacy article with a placeholder date",
                text="A legacy article stored long ago with a placeholder date of year one. " * 5,
                published=datetime(1, 1, 1, tzinfo=UTC),
                lang="en",
            )
        )
        s.add(
            ArticleRow(
                uid="legacy-9999",
                content_hash="legacy-9999",
                title="Legacy article with a far future date",
                text="Another legacy article stored with a date in year 9999 by a broken feed. "
                * 5,
                published=datetime(9999, 12, 31, tzinfo=UTC),
                lang="en",
            )
        )
        s.commit()
    first = make_digest(db_url=sqlite_url, out_dir=str(tmp_path / "out"))
    assert first.groups["articles"] == len(_stored(sqlite_url))
    assert Path(first.path).exists() and first.stories >= 2
    # Every headline is a headline (Thai and Chinese bodies included).
    view = json.loads(Path(first.path).with_suffix(".json").read_text(encoding="utf-8"))
    for story in view["stories"]:
        assert 0 < len(story["headline"]) <= 200
    # And the next digest runs too (nothing left unassigned).
    again = make_digest(db_url=sqlite_url, out_dir=str(tmp_path / "out"))
    assert again.groups["articles"] == 0


def test_feed_dates_out_of_range_are_dropped(caplog):
    from flows.sources.feeds import parse_feed

    caplog.set_level(logging.WARNING, logger="newsdigest")
    items = "".join(
        f"<item><title>Item {n}</title><link>https://news.example/{n}</link>"
        f"<pubDate>{date}</pubDate></item>"
        for n, date in enumerate(
            [
                "Mon, 01 Jan 0001 00:00:00 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "Thu, 02 May 2024 08:00:00 GMT",
            ]
        )
    )
    feed = parse_feed(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode(),
        "https://news.example/feed.xml",
    )
    assert [e.published for e in feed.entries][:2] == [None, None]
    assert feed.entries[2].published == datetime(2024, 5, 2, 8, tzinfo=UTC)
    assert any(
        "9999" in r.getMessage() and "out of range" in r.getMessage() for r in caplog.records
    )


def test_parse_date_range_and_types():
    from digest.dates import parse_date

    assert parse_date("0001-01-01T00:00:00+07:00") is None  # would overflow in UTC
    assert parse_date("9999-12-31") is None
    assert parse_date("1899-12-31") is None
    assert parse_date(20240502) is None  # not a string: no crash
    assert parse_date(["2024-05-02"]) is None
    assert parse_date("2024-05-02") == datetime(2024, 5, 2, tzinfo=UTC)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert parse_date(tomorrow.strftime("%Y-%m-%d")) is not None  # time zones run ahead


# --- served pages: the fault-injecting server ------------------------------------------------


@pytest.fixture
def faults():
    srv = fs.FaultServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fast(settings_env):
    settings_env(**FAST)
    reset_fetcher()
    yield get_settings()
    reset_fetcher()


PAGE = (FIXTURES / "en-flaky.html").read_bytes()


def _page(title: str) -> bytes:
    """A distinct article page (the fixture with another title and first sentence)."""
    return PAGE.replace(b"Harbour bridge reopens", title.encode()).replace(
        b"The harbour bridge reopened", f"The {title} story began when the bridge reopened".encode()
    )


# (path, fault builder, expected reason, retryable)
def _fault_table(srv: fs.FaultServer):
    body = _page("Truncated")
    return [
        ("/reset", fs.reset, "connection failed: [Errno 104] Connection reset by peer", True),
        ("/reset-mid-body", fs.reset_mid_body(body, 100), "Connection reset by peer", True),
        (
            "/truncated",
            fs.truncate(body, 100),
            "broken response: peer closed connection without sending complete message body "
            f"(received 100 bytes, expected {len(body)})",
            True,
        ),
        ("/drip-headers", fs.drip_headers(srv, 0.3), "no complete response within 1 s", False),
        ("/drip-body", fs.drip_body(srv, body, 0.3), "no complete response within 1 s", False),
        ("/silent", fs.silent(srv), "timed out after 0.5 s", True),
        (
            "/to-javascript",
            fs.redirect("javascript:alert(1)"),
            "invalid URL or redirect target",
            False,
        ),
        (
            "/to-javascript-2",
            fs.redirect("javascript://%0aalert(1)"),
            "refused: only http and https URLs are fetched, not javascript:",
            False,
        ),
        (
            "/to-file",
            fs.redirect("file:///etc/passwd"),
            "only http and https URLs are fetched, not file:",
            False,
        ),
        (
            "/to-ftp",
            fs.redirect("ftp://ftp.example/x"),
            "only http and https URLs are fetched, not ftp:",
            False,
        ),
        (
            "/to-data",
            fs.redirect("data:text/html,<h1>x</h1>"),
            "invalid URL or redirect target",
            False,
        ),
        (
            "/to-control",
            fs.redirect("http://example.org/\x01x"),
            "redirect to an invalid URL",
            False,
        ),
        ("/burst-503", fs.burst(503, 9, fs.respond(body)), "HTTP 503 Service Unavailable", True),
        (
            "/unknown-encoding",
            fs.respond(body, headers={"Content-Encoding": "br"}),
            "unsupported content encoding br",
            False,
        ),
        (
            "/bad-gzip",
            fs.respond(b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"}),
            "body is not valid gzip data",
            False,
        ),
    ]


def test_each_fault_is_one_clear_error_within_the_deadline(faults, fast):
    faults.add("/robots.txt", fs.not_found)
    fetcher = Fetcher(fast)
    deadline = fast.http_timeout_seconds * DEADLINE_FACTOR
    try:
        for path, fault, reason, retryable in _fault_table(faults):
            faults.add(path, fault)
            started = time.monotonic()
            with pytest.raises(FetchError) as info:
                fetcher._request(
                    faults.url(path), accept=frozenset({"html"}), check_robots=False, retries=0
                )
            took = time.monotonic() - started
            assert reason in info.value.reason, (path, info.value.reason)
            assert info.value.retryable == retryable, path
            # Nothing hangs: every fault ends within the request's deadline (plus slack).
            assert took < deadline + 1.0, (path, took)
    finally:
        fetcher.close()


def test_bursts_and_lies_that_recover_or_are_read_right(faults, fast):
    faults.add("/robots.txt", fs.not_found)
    good = _page("Burst")
    faults.add("/burst-429", fs.burst(429, 2, fs.respond(good), retry_after="0"))
    faults.add("/burst-502", fs.burst(502, 1, fs.respond(good)))
    # Content-Length shorter than the body: what the length says is read, nothing hangs.
    faults.add("/short-length", fs.respond(good, length=len(good) - 10))
    # A charset that lies: the header says ISO-8859-1, the body is UTF-8.
    text = "Café owners said the new market hall – opened on Friday – brings more customers."
    faults.add(
        "/lying-charset",
        fs.respond(
            f"<html><body><p>{text}</p></body></html>".encode(), "text/html; charset=iso-8859-1"
        ),
    )
    faults.add(
        "/utf16-lie",
        fs.respond(b"<html><body><p>plain ascii</p></body></html>", "text/html; charset=utf-16"),
    )
    faults.add("/gzip", fs.gzipped(good))
    fetcher = Fetcher(fast)
    try:
        assert fetcher.get(faults.url("/burst-429")).content == good
        assert faults.hits["/burst-429"] == 3
        assert fetcher.get(faults.url("/burst-502")).content == good
        assert fetcher.get(faults.url("/short-length")).content == good[:-10]
        lying = fetcher.get(faults.url("/lying-charset"))
        assert text in decode_body(lying.content, lying.charset)[0]
        utf16 = fetcher.get(faults.url("/utf16-lie"))
        assert "plain ascii" in decode_body(utf16.content, utf16.charset)[0]
        assert fetcher.get(faults.url("/gzip")).content == good
    finally:
        fetcher.close()


def test_a_batch_of_pages_loses_only_its_bad_pages(faults, fast, sqlite_url):
    """A URL list: good pages next to resets, drips, truncation and redirects to other schemes
    (a javascript: redirect once lost the whole batch of 25)."""
    faults.add("/robots.txt", fs.not_found)
    goods = [faults.add(f"/good-{n}", fs.respond(_page(f"Good page {n}"))) for n in range(4)]
    bads = {}
    for path, fault, reason, _ in _fault_table(faults):
        if path in ("/silent", "/drip-body"):
            continue  # same as drip-headers, slower
        bads[faults.add(path, fault)] = reason
    spec = SourceSpec(key="pages.txt", kind="urls")
    loaded = load_web_urls(spec, goods + list(bads), fast, sqlite_url)
    prepared = steps.prepare_articles(loaded)
    with db_session(sqlite_url) as s:
        report = steps.store_loaded(s, spec.key, spec.kind, prepared)
    assert report.new == 4 and sorted(r.url for r in _stored(sqlite_url)) == sorted(goods)
    errors = {e.item: e.reason for e in loaded.errors}
    assert set(errors) == set(bads)
    for url, reason in bads.items():
        assert reason in errors[url], (url, errors[url])
    assert report.failed == len(bads)


def test_dns_rebinding_never_reaches_the_loopback_page(faults, settings_env, monkeypatch):
    """A name that answers a public address to the check and 127.0.0.1 to the connection."""
    settings_env(ALLOW_PRIVATE_HOSTS="0", HTTP_RETRIES="0", PER_HOST_DELAY_SECONDS="0")
    faults.add("/secret", fs.respond(b"<html><body><p>loopback only</p></body></html>"))
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        answers.append("93.184.216.34" if len(answers) % 2 == 0 else "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.test:{faults.port}/secret"
    origin = f"http://rebind.test:{faults.port}"

    fetcher = Fetcher(get_settings())
    fetcher._robots[origin] = None  # robots.txt allows all: only the page is requested
    try:
        with pytest.raises(
            FetchError, match=r"refused: rebind\.test resolves to 127\.0\.0\.1, a loopback"
        ):
            fetcher.get(url)
    finally:
        fetcher.close()
    assert answers == ["93.184.216.34", "127.0.0.1"]  # checked, then re-resolved at connect
    assert faults.hits["/secret"] == 0

    # The same resolver against a client that resolves again to connect (httpx's own
    # transport, as before) reaches the page: the case above is the fix, not luck.
    answers.clear()
    unguarded = Fetcher(get_settings(), transport=httpx.HTTPTransport())
    unguarded._robots[origin] = None
    try:
        assert b"loopback only" in unguarded.get(url).content
    finally:
        unguarded.close()
    assert faults.hits["/secret"] == 1


def _resolve_to_loopback(monkeypatch, name: str) -> None:
    """Make the resolver answer 127.0.0.1 for ``name`` (other names resolve as usual)."""
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            if host == name
            else real(host, port, *a, **k)
        ),
    )


def test_connection_goes_to_the_resolved_address_with_the_name_as_host(
    faults, settings_env, monkeypatch
):
    settings_env(ALLOW_PRIVATE_HOSTS="1", PER_HOST_DELAY_SECONDS="0")
    faults.add("/robots.txt", fs.not_found)
    faults.add("/page", fs.respond(_page("Pinned")))
    _resolve_to_loopback(monkeypatch, "pinned.test")
    fetcher = Fetcher(get_settings())
    try:
        res = fetcher.get(f"http://pinned.test:{faults.port}/page")
    finally:
        fetcher.close()
    assert res.status == 200
    assert faults.requests[-1].headers["host"] == f"pinned.test:{faults.port}"


def test_gzip_bomb_is_decoded_in_bounded_pieces(faults, fast):
    """A 200 MB gzip bomb (about 200 KB on the wire) against a 1 MB limit: the fetcher never
    holds more than the limit plus one piece; httpx's own decoding (measured here as the
    baseline) holds each decoded chunk whole."""
    bomb = fs.gzip_bomb(200)
    faults.add("/robots.txt", fs.not_found)
    faults.add("/bomb", fs.respond(bomb, headers={"Content-Encoding": "gzip"}))
    fetcher = Fetcher(fast)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="response over the 977 KB limit"):
            fetcher.get(faults.url("/bomb"))
        _, ours = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with httpx.Client() as client, client.stream("GET", faults.url("/bomb")) as resp:
            held = 0
            for chunk in resp.iter_bytes():
                held += len(chunk)
                if held > 1_000_000:
                    break
        _, baseline = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        fetcher.close()
    print(
        f"peak memory decoding a 200 MB gzip bomb: ours {ours / 1e6:.1f} MB, httpx iter_bytes {baseline / 1e6:.1f} MB"
    )
    assert ours < 4_000_000
    assert baseline > 2 * ours


def test_latest_and_digest_files_are_written_atomically(tmp_path, monkeypatch):
    from digest.render import DigestView

    out = tmp_path / "out"
    view = DigestView(generated_at=datetime(2024, 5, 2, 8, tzinfo=UTC), stories=[])
    first = steps.write_digest(view, out)
    before = (out / "latest.md").read_text(encoding="utf-8")
    assert before == first.read_text(encoding="utf-8")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    later = DigestView(generated_at=datetime(2024, 5, 3, 8, tzinfo=UTC), stories=[])
    with pytest.raises(OSError, match="No space left"):
        steps.write_digest(later, out)
    # The old latest.md is whole, no half-written file and no temporary file is left.
    assert (out / "latest.md").read_text(encoding="utf-8") == before
    names = [f"{first.stem}{suffix}" for suffix in (".md", ".html", ".txt", ".json")]
    archive = ["index.html", "feed.xml"]  # the archive of the first digest
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "latest.md", *archive])


def test_sigterm_stops_a_run_within_seconds(prefect_harness, faults, tmp_path):
    """A server dripping headers holds a request; SIGTERM ends the whole run in seconds, exit
    code 143, while the request's own deadline (120 s here) is far away."""
    from prefect.settings import PREFECT_API_URL

    faults.add("/robots.txt", fs.not_found)
    url = faults.add("/drip", fs.drip_headers(faults, 1.0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    env.update(
        PREFECT_API_URL=PREFECT_API_URL.value(),
        NEWSDIGEST_ALLOW_PRIVATE_HOSTS="1",
        NEWSDIGEST_HTTP_TIMEOUT_SECONDS="60",
        NEWSDIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flows.cli import main; main()", "ingest", "--source", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        while (
            faults.hits["/drip"] == 0 and proc.poll() is None and time.monotonic() - started < 120
        ):
            time.sleep(0.1)
        assert faults.hits["/drip"] == 1, (
            proc.stdout.read().decode() if proc.poll() is not None else ""
        )
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, out.decode()[-2000:]
    assert took < 10, took
    assert "Traceback" not in out.decode()


def test_an_article_the_database_refuses_costs_only_itself(db_url):
    """Past validation (or from a caller that skipped it): the batch falls back to one row at
    a time and the refused article is one error; SQLite and PostgreSQL."""
    from digest.models import Article
    from digest.prepare import content_hash
    from flows.sources.base import LoadResult

    texts = [
        f"Report number {n} about the harbour works, told at length for the test. " * 4
        for n in range(3)
    ]
    arts = [
        Article(id=f"ok-{n}", title=f"Report {n}", text=t, content_hash=content_hash(t))
        for n, t in enumerate(texts)
    ]
    # A lone surrogate (no UTF-8 form) and an id longer than the column: refused by both.
    bad_text = "Broken \ud800 text " * 10
    arts.insert(1, Article(id="x" * 100, title="Broken", text=bad_text, content_hash="bad-hash"))
    with db_session(db_url) as s:
        report = steps.store_loaded(s, "direct", "local", LoadResult(articles=arts))
    assert report.new == 3 and report.failed == 1
    assert report.errors[0].startswith("x" * 100 + ": cannot be stored: ")
    assert sorted(r.uid for r in _stored(db_url)) == ["ok-0", "ok-1", "ok-2"]


def test_hostile_feed_costs_only_its_bad_entries(faults, fast, sqlite_url, caplog):
    """tests/badinput/pages/hostile-feed.xml: good entries next to dates out of range, links
    to other schemes, no link, and entries whose pages redirect, drip, reset or nest too deep."""
    caplog.set_level(logging.WARNING, logger="newsdigest")
    faults.add("/robots.txt", fs.not_found)
    feed = (
        (BADINPUT / "pages" / "hostile-feed.xml")
        .read_bytes()
        .replace(b"{base}", faults.base.encode())
    )
    feed_url = faults.add("/feed.xml", fs.respond(feed, "application/rss+xml; charset=utf-8"))
    for n in range(1, 5):
        faults.add(f"/good-{n}", fs.respond(_page(f"Good entry {n}")))
    for path, fault, _, _ in _fault_table(faults):
        if path in ("/to-javascript", "/drip-headers", "/reset"):
            faults.add(path, fault)
    faults.add("/deep", fs.respond((BADINPUT / "pages" / "deep-ins.html").read_bytes()))
    spec = SourceSpec(key=feed_url, kind="url")
    loaded = load_web_urls(spec, [feed_url], fast, sqlite_url)
    prepared = steps.prepare_articles(loaded)
    with db_session(sqlite_url) as s:
        report = steps.store_loaded(s, spec.key, spec.kind, prepared)
    rows = {r.url.rsplit("/", 1)[-1]: r for r in _stored(sqlite_url)}
    assert sorted(rows) == ["good-1", "good-2", "good-3", "good-4"]
    assert rows["good-1"].published == datetime(2024, 5, 2, 8)  # stored naive UTC by SQLite
    assert rows["good-2"].published is None and rows["good-3"].published is None
    assert rows["good-4"].title == "Title with bidi and zero width"
    reasons = sorted(e.reason for e in loaded.errors)
    assert len(reasons) == 7 and report.failed == 7, reasons
    expected = [
        "entry link javascript:alert(document.cookie) is not http(s)",
        "entry link file://etc/passwd is not http(s)",  # as feedparser gives it
        "feed entry has no link",
        "invalid URL or redirect target",
        "no complete response within 1 s",
        "Connection reset by peer",
        "HTML nested 403 levels deep",
    ]
    for part in expected:
        assert any(part in r for r in reasons), (part, "\n".join(reasons))
    assert any(
        "9999" in r.getMessage() and "out of range" in r.getMessage() for r in caplog.records
    )


def _tls_files(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for ``name`` signed by it (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def cert(subject, issuer, key, signer, ca: bool, san: str | None):
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            b = b.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = cert("newsdigest test CA", "newsdigest test CA", ca_key, ca_key, True, None)
    leaf = cert(name, "newsdigest test CA", leaf_key, ca_key, False, name)
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


def test_https_to_the_checked_address_keeps_the_name_for_sni_and_certificate(
    settings_env, monkeypatch, tmp_path
):
    """The socket goes to the resolved address; TLS still sends the name (SNI) and verifies
    the certificate against the name, and the Host header is the name."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from flows.sources.fetch import guarded_transport

    settings_env(ALLOW_PRIVATE_HOSTS="1", PER_HOST_DELAY_SECONDS="0", HTTP_RETRIES="0")
    ca_file, cert_file, key_file = _tls_files(tmp_path, "secure.test")
    seen: dict[str, str] = {}
    page = _page("Secure")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen["host"] = self.headers["Host"]
            body = page if self.path == "/page" else b"no"
            self.send_response(200 if self.path == "/page" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)

    def remember_sni(sock, name, ctx) -> None:
        seen.setdefault("sni", name)

    server_ctx.sni_callback = remember_sni
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    _resolve_to_loopback(monkeypatch, "secure.test")
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    fetcher = Fetcher(
        get_settings(), transport=guarded_transport(get_settings(), verify=client_ctx)
    )
    try:
        res = fetcher.get(f"https://secure.test:{port}/page")
        assert res.status == 200 and res.content == page
        assert seen == {"sni": "secure.test", "host": f"secure.test:{port}"}
        # A certificate for another name is refused even though the address is the same.
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, p, *a, **k: [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))
            ],
        )
        with pytest.raises(FetchError, match="certificate verify failed"):
            fetcher.get(f"https://other.test:{port}/page")
    finally:
        fetcher.close()
        httpd.shutdown()
        httpd.server_close()
