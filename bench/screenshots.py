"""Pictures of the digest as readers see it: the HTML page and the email, rendered by headless
Chromium at desktop and phone width, from the test web of outlets (tests/outlet_web.py).

    python bench/screenshots.py [--out docs/]

Writes digest-desktop.png, digest-phone.png, email-desktop.png and email-phone.png (and the
HTML they were made from into a temporary folder). Needs Debian's ``chromium``; `.ci/run`
runs this when it is installed. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (name, CSS width, height): a desktop window and a phone (iPhone 12-15 width).
SIZES = [("desktop", 1280, 1500), ("phone", 390, 1400)]
# Stories in full in the pictured digest (the others are one-liners).
MAX_STORIES = 3


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def build_pages(work: Path) -> dict[str, Path]:
    """Ingest the outlet web, make a digest; return the archive page and the email HTML."""
    from digest.render import render_html
    from digest.settings import Settings
    from flows import steps
    from flows.sources.fetch import reset_fetcher
    from flows.sources.spec import SourceSpec
    from flows.sources.web import load_web_source
    from storage.engine import session
    from tests.web_server import FixtureServer, serve_outlets

    settings = Settings(allow_private_hosts=True, per_host_delay_seconds=0, http_retries=0)
    srv = FixtureServer().start()
    srv.add("/robots.txt", body=b"", content_type="text/plain")
    db = f"sqlite:///{work / 'screens.db'}"
    sources = {
        "roundup": ("World press roundup", ["World"]),
        "courier": (None, ["World"]),
        "harian": (None, ["Indonesia"]),
        "morgenblatt": ("Berliner Morgenblatt", ["Europe"]),
    }
    try:
        reset_fetcher()
        for key, url in serve_outlets(srv).items():
            name, tags = sources[key]
            spec = SourceSpec(key=url, kind="url", name=name, tags=tags)
            prepared = steps.prepare_articles(load_web_source(spec, settings, db), name)
            with session(db) as s:
                steps.store_loaded(s, url, "url", prepared, name=name, tags=tags)
    finally:
        srv.stop()
        reset_fetcher()
    with session(db) as s:
        steps.group_new_articles(s, 3)
        view, _ = steps.build_digest(
            s, since=None, max_words=90, max_sentences=3, max_stories=MAX_STORIES
        )
    md = steps.write_digest(view, work / "out")
    email = work / "email.html"
    email.write_text(render_html(replace(view)), encoding="utf-8")
    return {"digest": md.with_suffix(".html"), "email": email}


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
            for size, width, height in SIZES:
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
