"""Pictures of the digest as readers see it: the HTML page and the email, rendered by headless
Chromium at desktop and phone width, from the test web of outlets (tests/outlet_web.py).

    python bench/screenshots.py [--out docs/]

Writes digest-desktop.png, digest-phone.png, email-desktop.png, email-phone.png and
updated-phone.png (the next digest: one updated story, its new sentence marked). Needs Debian's ``chromium``; `.ci/run`
runs this when it is installed. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (name, CSS width, height): a desktop window and a phone (iPhone 12-15 width).
SIZES = [("desktop", 1280, 1500), ("phone", 390, 1400)]
# The next day's digest, one updated story: a phone's first screen.
UPDATED_SIZE = ("phone", 390, 900)
# Stories in full in the pictured digest (the others are one-liners).
MAX_STORIES = 3


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _ingest(srv, urls: dict[str, str], db: str, settings) -> None:
    from flows import steps
    from flows.sources.spec import SourceSpec
    from flows.sources.web import load_web_source
    from storage.engine import session

    for key, url in urls.items():
        name, tags = SOURCES[key]
        spec = SourceSpec(key=url, kind="url", name=name, tags=tags)
        prepared = steps.prepare_articles(load_web_source(spec, settings, db), name)
        with session(db) as s:
            steps.store_loaded(s, url, "url", prepared, name=name, tags=tags)


def _digest(db: str, out: Path):
    from flows import steps
    from storage.engine import session

    with session(db) as s:
        steps.group_new_articles(s, 3)
        view, stories = steps.build_digest(
            s, since=None, max_words=90, max_sentences=3, max_stories=MAX_STORIES
        )
        md = steps.write_digest(view, out)
        steps.record_digest(s, view, stories, md)
    return view, md


# The sources of the pictured digest: name and tags of each way in of tests/outlet_web.py.
SOURCES = {
    "roundup": ("World press roundup", ["World"]),
    "courier": (None, ["World"]),
    "harian": (None, ["Indonesia"]),
    "morgenblatt": ("Berliner Morgenblatt", ["Europe"]),
}


def build_pages(work: Path) -> dict[str, Path]:
    """Ingest the outlet web and make a digest (the archive page and the email HTML); then
    one more report of the bridge story and the next digest (its page: an updated story)."""
    import json
    from datetime import UTC, datetime

    from digest.render import render_html
    from digest.settings import Settings
    from flows.sources.fetch import reset_fetcher
    from tests.outlet_web import BRIDGE, BRIDGE_EXTRA, Page, page_html
    from tests.web_server import FixtureServer, serve_outlets

    settings = Settings(allow_private_hosts=True, per_host_delay_seconds=0, http_retries=0)
    srv = FixtureServer().start()
    srv.add("/robots.txt", body=b"", content_type="text/plain")
    db = f"sqlite:///{work / 'screens.db'}"
    try:
        reset_fetcher()
        urls = serve_outlets(srv)
        _ingest(srv, urls, db, settings)
        view, md = _digest(db, work / "out")
        email = work / "email.html"
        email.write_text(render_html(view), encoding="utf-8")
        extra = Page(
            "/courier/bridge-pontoon",
            "Daily Courier",
            "Pontoon crossing approved after Riverton bridge collapse",
            [
                "The city council approved a temporary pontoon crossing over the Riverton "
                "canal on Wednesday, two days after the old steel bridge collapsed.",
                BRIDGE[1],
                BRIDGE_EXTRA[0],
            ],
            0.5,
        )
        srv.add(extra.path, body=page_html(extra, datetime.now(UTC)))
        feed = json.loads(srv.routes["/courier/feed.json"].body)
        link = srv.url(extra.path)
        feed["items"].insert(0, {"id": link, "url": link, "title": extra.title})
        srv.routes["/courier/feed.json"].body = json.dumps(feed).encode()
        _ingest(srv, {"courier": urls["courier"]}, db, settings)
        _, md2 = _digest(db, work / "out")
    finally:
        srv.stop()
        reset_fetcher()
    return {
        "digest": md.with_suffix(".html"),
        "email": email,
        "updated": md2.with_suffix(".html"),
    }


def shoot(browser: str, page: Path, png: Path, width: int, height: int) -> None:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def render_all(out: Path) -> list[Path]:
    browser = chromium()
    if browser is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="newsdigest-screens-") as tmp:
        pages = build_pages(Path(tmp))
        for kind, page in pages.items():
            for size, width, height in SIZES if kind != "updated" else [UPDATED_SIZE]:
                png = out / f"{kind}-{size}.png"
                shoot(browser, page, png, width, height)
                written.append(png)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    for png in render_all(args.out):
        print(png)


if __name__ == "__main__":
    main()
