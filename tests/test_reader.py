"""The digest a reader opens, end to end on a web of several outlets served on 127.0.0.1
(tests/outlet_web.py): complete and ranked, credited right, scannable, and published where
readers are (archive, Atom feed, email, chat webhook); then each piece on its own."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from sqlmodel import select

from digest.rank import RankInput, rank
from flows.sources.fetch import reset_fetcher
from storage.engine import session as db_session
from storage.models import ArticleRow, Source
from tests.outlet_web import BRIDGE, BRIDGE_EXTRA, page_html
from tests.outlet_web import Page as OutletPage
from tests.test_web_sources import FAST
from tests.web_server import serve_outlets

ROOT = Path(__file__).resolve().parent.parent
NEWSDIGEST = Path(sys.executable).parent / "newsdigest"


class Webhook:
    """A local chat webhook (what apprise's json:// posts to): keeps every JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(n) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


def _sources_file(tmp_path: Path, urls: dict[str, str]) -> Path:
    opml = tmp_path / "europe.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Europe"><outline type="rss" text="Berliner Morgenblatt" '
        f'language="en" xmlUrl="{urls["morgenblatt"]}"/></outline></body></opml>',
        encoding="utf-8",
    )
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[[source]]\nurl = "{urls["roundup"]}"\nname = "World press roundup"\n'
        'tags = ["World"]\n\n'
        f'[[source]]\nurl = "{urls["courier"]}"\ntags = ["World"]\n\n'
        f'[[source]]\nurl = "{urls["harian"]}"\ntags = ["Indonesia"]\n\n'
        '[[source]]\npath = "europe.opml"\n',
        encoding="utf-8",
    )
    return path


def _stored(db_url: str) -> dict[str, ArticleRow]:
    with db_session(db_url) as s:
        return {
            r.url.rsplit("/", 2)[-2] + "/" + r.url.rsplit("/", 1)[-1]: r
            for r in s.exec(select(ArticleRow)).all()
        }


def test_a_day_of_outlets_reaches_readers_complete_ranked_and_credited(
    prefect_harness, server, settings_env, sqlite_url, tmp_path, smtp_sink, webhook
):
    sink, smtp_port = smtp_sink
    urls = serve_outlets(server)
    out = tmp_path / "out"
    env = dict(
        FAST,
        SOURCES_FILE=str(_sources_file(tmp_path, urls)),
        DATABASE_URL=sqlite_url,
        DIGEST_MAX_STORIES="3",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        EMAIL_FROM="Digest <digest@example.org>",
        EMAIL_TO="reader@example.org",
        EMAIL_RETRY_DELAYS="[]",
        NOTIFY_URLS=webhook.url,
        PUBLIC_URL="https://news.example.org/digests/",
    )
    settings_env(**env)
    reset_fetcher()
    from flows.pipeline import daily_digest

    result = daily_digest(out_dir=str(out))
    assert result["ingest"]["new"] == 11, result["ingest"]["errors"]
    assert result["ingest"]["failed"] == 0, result["ingest"]["errors"]

    # Credited right: each page's own publisher, not the aggregator; the configured name
    # only for the page that names none; languages from the text, not from the feeds.
    rows = _stored(sqlite_url)
    assert rows["coastal/bridge"].outlet == "Coastal Herald"
    assert rows["ledger/bridge"].outlet == "Morning Ledger"
    assert rows["warta/mu"].outlet == "Warta Bola"
    assert rows["anon/chips"].outlet == "World press roundup"
    assert rows["matin/lyon"].lang == "fr"  # an "en" feed, an "en" page: French text
    assert rows["morgenblatt/streik"].lang == "de"  # the feed and the OPML outline say "en"
    assert rows["courier/museum"].outlet == "Daily Courier"  # from the JSON Feed
    assert "harian/mu" in rows, "the home page's feed was read"
    assert all(r.url != urls["harian"] for r in rows.values()), "the home page is no article"
    with db_session(sqlite_url) as s:
        tags = {r.key: json.loads(r.tags or "[]") for r in s.exec(select(Source)).all()}
    assert tags[urls["roundup"]] == ["World"] and tags[urls["morgenblatt"]] == ["Europe"]

    # Complete and ranked: all 8 stories; the one three outlets tell first, although the
    # single-outlet stories are newer; 3 in full, 5 in one line each; all new.
    md_path = Path(result["digest"]["path"])
    md = md_path.read_text(encoding="utf-8")
    assert result["digest"]["stories"] == 8
    data = json.loads(md_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(data["stories"]) == 3 and len(data["brief"]) == 5
    assert "Riverton" in data["stories"][0]["headline"]
    assert len({src["outlet"] for src in data["stories"][0]["sources"]}) == 3
    scores = [s["score"] for s in data["stories"] + data["brief"]]
    assert scores == sorted(scores, reverse=True)
    assert all(s["is_new"] for s in data["stories"] + data["brief"])
    headlines = [s["headline"] for s in data["stories"] + data["brief"]]
    assert any(h in {"MU Ditekuk Newcastle", "Newcastle Tekuk MU"} for h in headlines), headlines
    for h in headlines:
        assert h in md
    assert "8 stories (8 new, 0 updated) from 11 articles by 8 outlets" in md
    assert "the top 3 in full, 5 more in one line each" in md
    # Scannable: contents, sections by the sources file's tags and the OPML folder.
    assert "**Contents**" in md
    for section in ("## World", "## Indonesia", "## Europe"):
        assert f"\n{section}\n" in md
    assert md.index("## World") < md.index("## Indonesia")

    # Published: archive index <-> page, Atom feed, email, chat.
    page = md_path.with_suffix(".html")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{page.name}"' in index
    assert 'href="index.html"' in page.read_text(encoding="utf-8")
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert feed.version == "atom10" and len(feed.entries) == 1
    assert feed.entries[0].link == "https://news.example.org/digests/" + page.name
    assert "Riverton" in feed.entries[0].content[0].value

    assert len(sink.messages) == 1
    msg = email.message_from_bytes(sink.messages[0].content, policy=email.policy.default)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] == "<mailto:digest@example.org?subject=unsubscribe>"
    html = msg.get_body(("html",)).get_content()
    assert '<html lang="en">' in html
    assert 'href="#s' not in html and f'href="{server.url("/coastal/bridge")}"' in html
    assert "index.html" not in html, "the email has no archive-relative links"

    assert len(webhook.bodies) == 1
    note = webhook.bodies[0]
    assert "8 stories" in note["title"] and "Riverton" in note["message"]
    assert "and 3 more" in note["message"]
    assert "https://news.example.org/digests/" + page.name in note["message"]

    # The next day: one more report of the bridge story. Only that story is in the digest,
    # updated, its new sentences marked; nothing else is shown again.
    extra = OutletPage(
        "/courier/bridge-pontoon",
        "Daily Courier",
        "Pontoon crossing approved after Riverton bridge collapse",
        [
            "The city council approved a temporary pontoon crossing over the Riverton canal "
            "on Wednesday, two days after the old steel bridge collapsed.",
            BRIDGE[1],
            BRIDGE_EXTRA[0],
            "The Riverton pontoon crossing will open to pedestrians and cyclists next week "
            "and to cars once divers have cleared the wreckage of the bridge from the canal.",
        ],
        0.5,
    )
    server.add(extra.path, body=page_html(extra, datetime.now(UTC)))
    items = json.loads(server.routes["/courier/feed.json"].body)
    items["items"].insert(
        0, {"id": server.url(extra.path), "url": server.url(extra.path), "title": extra.title}
    )
    server.routes["/courier/feed.json"].body = json.dumps(items).encode()

    second = daily_digest(out_dir=str(out))
    assert second["ingest"]["new"] == 1, second["ingest"]
    data2 = json.loads(Path(second["digest"]["path"]).with_suffix(".json").read_text("utf-8"))
    stories2 = data2["stories"] + data2["brief"]
    assert len(stories2) == 1 and "Riverton" in stories2[0]["headline"]
    assert stories2[0]["is_new"] is False and stories2[0]["new_articles"] == 1
    new_id = next(s["article_id"] for s in stories2[0]["sources"] if "pontoon" in s["url"])
    marked = [s for s in stories2[0]["sentences"] if s["is_new"]]
    assert marked, "the summary quotes the new report, and says so"
    assert all(s["article_id"] == new_id for s in marked)
    assert marked == [s for s in stories2[0]["sentences"] if s["article_id"] == new_id]
    md2 = Path(second["digest"]["path"]).read_text(encoding="utf-8")
    assert "*Updated story* (1 new article)" in md2
    assert md2.count("**New:**") == len(marked)
    # The archive lists both digests, newest first; the feed has two entries.
    index = (out / "index.html").read_text(encoding="utf-8")
    first_page, second_page = page.name, Path(second["digest"]["path"]).with_suffix(".html").name
    assert index.index(second_page) < index.index(first_page)
    assert len(feedparser.parse((out / "feed.xml").read_bytes()).entries) == 2

    # Nothing new: no digest email, unless asked for.
    third = daily_digest(out_dir=str(out))
    assert third["digest"]["stories"] == 0 and len(sink.messages) == 2
    settings_env(**env, EMAIL_EMPTY="1")
    daily_digest(out_dir=str(out))
    assert len(sink.messages) == 3
    assert len(webhook.bodies) == 2, "no chat message about nothing"

    # The sources as OPML: the feeds (the home page's source included), tags as folders.
    from flows.sources.feeds import parse_opml

    exported = subprocess.run(
        [str(NEWSDIGEST), "sources", "export", "--db", sqlite_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NEWSDIGEST_ALLOW_PRIVATE_HOSTS": "1"},
    )
    assert exported.returncode == 0, exported.stderr
    feeds = {f.url: f for f in parse_opml(exported.stdout)}
    assert set(feeds) == set(urls.values())
    assert feeds[urls["morgenblatt"]].tags == ["Europe"]
    assert feeds[urls["roundup"]].tags == ["World"]
    assert feeds[urls["roundup"]].title == "World press roundup"
    reset_fetcher()


# --- ranking -------------------------------------------------------------------------------


def test_more_outlets_rank_first_then_articles_recency_growth():
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    items = [
        RankInput(outlets=1, articles=1, latest=now),  # newest, one outlet
        RankInput(outlets=3, articles=3, latest=now - timedelta(hours=30)),
        RankInput(outlets=2, articles=2, latest=now - timedelta(hours=2)),
        RankInput(outlets=1, articles=4, latest=now - timedelta(hours=1)),
        RankInput(outlets=1, articles=1, latest=now - timedelta(hours=1), new_articles=1),
        RankInput(outlets=1, articles=1, latest=now - timedelta(hours=1)),
    ]
    order = [i for i, _ in rank(items, now)]
    assert order[:3] == [1, 2, 3], "outlets first, then articles"
    assert order.index(4) < order.index(5), "growth breaks the tie"
    assert order.index(0) < order.index(5), "then recency"


def test_a_story_never_shown_is_new_even_when_it_began_before_the_last_digest(
    sqlite_url, seeds_dir
):
    from flows import steps
    from flows.sources.local import load_local

    with db_session(sqlite_url) as s:
        steps.store_loaded(
            s,
            str(seeds_dir),
            "local",
            steps.prepare_articles(load_local(seeds_dir, 5 * 1024 * 1024)),
        )
        steps.group_new_articles(s, quiet_days=3)
        later = datetime.now(UTC) + timedelta(hours=1)
        from storage import repo

        repo.record_digest(s, [], None, later, None)  # a digest that did not show it
        view, stories = steps.build_digest(
            s,
            since=None,
            max_words=60,
            max_sentences=2,
            max_stories=5,
            now=later + timedelta(hours=1),
        )
        assert len(view.stories) == 1 and view.stories[0].is_new
        assert not any(x.is_new for x in view.stories[0].sentences), "nothing to mark"
        steps.record_digest(s, view, stories, None)
        assert repo.shown_story_ids(s, [stories[0].id]) == {stories[0].id}


# --- sources: JSON Feed, home pages, crediting, short titles ---------------------------------


def test_json_feed_1_0_and_1_1():
    from flows.sources.feeds import FeedError, parse_feed

    v10 = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Old style",
            "home_page_url": "https://old.example/",
            "items": [
                {
                    "id": "1",
                    "url": "/posts/1",
                    "title": "First <em>post</em>",
                    "content_html": "<p>One.</p><p>Two.</p>",
                    "date_published": "2024-03-05T08:30:00+07:00",
                    "author": {"name": "Ann"},
                },
                {"id": "2", "external_url": "https://elsewhere.example/x", "content_text": "T"},
                {"id": "3", "url": "javascript:alert(1)"},
                {"id": "4"},
                "not an object",
            ],
        }
    ).encode()
    feed = parse_feed(v10, "https://old.example/feed.json", "application/json")
    assert feed.title == "Old style" and feed.link == "https://old.example/"
    first, second = feed.entries
    assert (first.link, first.title, first.author) == (
        "https://old.example/posts/1",
        "First post",
        "Ann",
    )
    assert first.text == "One.\n\nTwo." and first.published == datetime(
        2024, 3, 5, 1, 30, tzinfo=UTC
    )
    assert second.link == "https://elsewhere.example/x" and second.text == "T"
    assert [e.reason for e in feed.errors] == [
        "entry link javascript:alert(1) is not http(s)",
        "feed entry has no link",
        "JSON Feed item is not an object",
    ]
    with pytest.raises(FeedError, match="invalid JSON Feed"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "u")


def test_home_pages_declare_their_feeds_articles_are_read_as_pages():
    from flows.sources.feeds import home_page_feeds

    head = (
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        '<link rel="alternate" type="application/feed+json" href="https://cdn.example/f.json">'
        '<link rel="alternate" hreflang="de" href="/de/">'
    )
    home = f"<html><head>{head}</head><body><a href='/a'>A</a></body></html>"
    assert home_page_feeds(home, "https://site.example/") == [
        "https://site.example/rss.xml",
        "https://cdn.example/f.json",
    ]
    website = f'<html><head><meta property="og:type" content="website">{head}</head></html>'
    assert home_page_feeds(website, "https://site.example/news/")[0].endswith("/rss.xml")
    article = f'<html><head><meta property="og:type" content="article">{head}</head></html>'
    assert home_page_feeds(article, "https://site.example/news/2024/story") is None
    assert home_page_feeds(f"<html><head>{head}</head></html>", "https://s.example/x/y") is None
    assert home_page_feeds("<html><body>hi</body></html>", "https://site.example/") == []


def test_outlet_is_the_pages_publisher_unless_the_source_forces_its_name(tmp_path):
    from digest.extract import extract_html
    from flows.sources.config import SourcesFileError, load_sources_file
    from flows.sources.spec import SourceSpec
    from flows.sources.web import credit_outlet
    from tests.outlet_web import MUSEUM, Page, page_html

    now = datetime.now(UTC)
    named = extract_html(
        page_html(Page("/x", "Harbour Times", "T", MUSEUM, 1), now).decode(), "http://h.example/x"
    )
    anonymous = extract_html(
        page_html(Page("/x", None, "T", MUSEUM, 1), now).decode(), "http://h.example/x"
    )
    assert named.publisher == "Harbour Times" and anonymous.publisher is None
    spec = SourceSpec("u", "url", name="Roundup")
    assert credit_outlet(spec, named, "Feed title") == "Harbour Times"
    assert credit_outlet(spec, anonymous, "Feed title") == "Roundup"
    assert (
        credit_outlet(
            SourceSpec("u", "url"), anonymous, "Feed", "http://h.example/", "http://h.example/x"
        )
        == "Feed"
    )
    assert (
        credit_outlet(
            SourceSpec("u", "url"),
            anonymous,
            "Aggregator",
            "http://agg.example/",
            "http://h.example/x",
        )
        is None
    ), "an aggregator's title is no outlet"
    forced = SourceSpec("u", "url", name="Wire", force_name=True)
    assert credit_outlet(forced, named) == "Wire"

    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nurl = "https://w.example/rss"\nname = "Wire"\nforce_name = true\n')
    assert load_sources_file(path)[0].force_name is True
    path.write_text('[[source]]\nurl = "https://w.example/rss"\nforce_name = true\n')
    with pytest.raises(SourcesFileError, match="force_name = true needs a name"):
        load_sources_file(path)


def test_real_short_titles_are_headlines():
    from digest.models import Doc
    from digest.summarize import choose_headline
    from tests.outlet_web import BOLA

    text = "\n\n".join(BOLA)
    docs = [
        Doc(title="MU Ditekuk Newcastle", text=text, lang="id"),
        Doc(title="Newcastle Tekuk MU - Harian Pagi", text=text, lang="id"),
    ]
    assert choose_headline(docs, "id") in {"MU Ditekuk Newcastle", "Newcastle Tekuk MU"}
    one_word = [Doc(title="Sepakbola", text=text, lang="id")]
    assert choose_headline(one_word, "id") != "Sepakbola", "one word is a section, not a title"


@pytest.mark.chromium
@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
def test_screenshots_of_the_digest_and_the_email(tmp_path):
    import struct

    sys.path.insert(0, str(ROOT / "bench"))
    from screenshots import SIZES, UPDATED_SIZE, render_all

    written = render_all(tmp_path)
    expected = {
        f"{kind}-{size}.png": (w, h) for kind in ("digest", "email") for size, w, h in SIZES
    }
    expected[f"updated-{UPDATED_SIZE[0]}.png"] = UPDATED_SIZE[1:]
    assert sorted(p.name for p in written) == sorted(expected)
    for png in written:
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", head[16:24]) == expected[png.name]
        assert png.stat().st_size > 20_000, "a page, not a blank window"
