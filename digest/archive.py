"""The output folder as a browsable archive: ``index.html`` (every digest, newest first,
each page linking back) and ``feed.xml``, an Atom feed of the digests (feedgen).

The entries are read from the ``digest-*.json`` files the pipeline writes, so the archive is
rebuilt from the folder alone (delete a digest's files and it leaves the index).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from digest.files import atomic_write_text
from digest.render import link_url, render_template

log = logging.getLogger("newsdigest")

INDEX_NAME = "index.html"
FEED_NAME = "feed.xml"
# Headlines quoted in an index line and in a feed entry's summary.
HEADLINES_PER_ENTRY = 10


@dataclass
class ArchiveEntry:
    page: str  # the digest's HTML file name, relative to the folder
    generated_at: datetime
    title: str
    stories: int
    new: int
    articles: int
    outlets: int
    headlines: list[tuple[str, str | None]]  # (headline, link of its first article)


def _entry(path: Path) -> ArchiveEntry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stories = [*data.get("stories", []), *data.get("brief", [])]
        when = datetime.fromisoformat(data["generated_at"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("archive: %s skipped (%s)", path.name, exc)
        return None
    page = path.with_suffix(".html")
    if not page.exists():
        return None
    headlines = []
    for s in stories[:HEADLINES_PER_ENTRY]:
        link = next((link_url(src.get("url")) for src in s.get("sources", [])), "") or None
        headlines.append((str(s.get("headline") or ""), link))
    return ArchiveEntry(
        page=page.name,
        generated_at=when if when.tzinfo else when.replace(tzinfo=UTC),
        title=str(data.get("title") or "News digest"),
        stories=len(stories),
        new=sum(1 for s in stories if s.get("is_new")),
        articles=sum(len(s.get("sources", [])) for s in stories),
        outlets=len({src.get("outlet") for s in stories for src in s.get("sources", [])}),
        headlines=headlines,
    )


def archive_entries(out_dir: Path) -> list[ArchiveEntry]:
    """The digests in the folder, newest first."""
    entries = [e for p in out_dir.glob("digest-*.json") if (e := _entry(p)) is not None]
    entries.sort(key=lambda e: (e.generated_at, e.page), reverse=True)
    return entries


def render_index(entries: list[ArchiveEntry], title: str) -> str:
    return render_template("index.html.j2", entries=entries, title=title, feed=FEED_NAME)


def render_feed(
    entries: list[ArchiveEntry], title: str, public_url: str | None, max_entries: int
) -> bytes:
    """An Atom feed of the newest digests; links absolute under ``public_url`` when given."""
    from feedgen.feed import FeedGenerator

    base = (public_url.rstrip("/") + "/") if public_url else ""
    fg = FeedGenerator()
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", title).strip("-").lower() or "digest"
    fg.id(urljoin(base, FEED_NAME) if base else f"urn:newsdigest:{slug}")
    fg.title(title)
    fg.author({"name": "newsdigest"})
    fg.link(href=urljoin(base, INDEX_NAME) if base else INDEX_NAME, rel="alternate")
    if base:
        fg.link(href=urljoin(base, FEED_NAME), rel="self")
    fg.updated(entries[0].generated_at if entries else datetime.now(UTC))
    for e in reversed(entries[:max_entries]):  # feedgen lists the last added first
        fe = fg.add_entry()
        href = urljoin(base, e.page) if base else e.page
        fe.id(href if base else f"urn:newsdigest:{e.page}")
        fe.title(f"{e.title} {e.generated_at:%Y-%m-%d %H:%M} UTC: {e.stories} stories")
        fe.link(href=href, rel="alternate")
        fe.updated(e.generated_at)
        fe.published(e.generated_at)
        items = "".join(
            f'<li><a href="{_attr(link)}">{_text(h)}</a></li>' if link else f"<li>{_text(h)}</li>"
            for h, link in e.headlines
        )
        more = e.stories - len(e.headlines)
        fe.content(
            f"<p>{e.stories} stories ({e.new} new) from {e.articles} articles by "
            f"{e.outlets} outlets.</p><ul>{items}</ul>"
            + (f'<p><a href="{_attr(href)}">{more} more</a></p>' if more > 0 else ""),
            type="html",
        )
    return fg.atom_str(pretty=True)


def _text(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))


def _attr(value: str) -> str:
    return _text(value)


def write_archive(
    out_dir: Path, title: str, public_url: str | None = None, max_entries: int = 30
) -> tuple[Path, Path]:
    """(Re)write index.html and feed.xml in ``out_dir`` (atomically); return their paths."""
    entries = archive_entries(out_dir)
    atomic_write_text(out_dir / INDEX_NAME, render_index(entries, title))
    feed = render_feed(entries, title, public_url, max_entries).decode("utf-8")
    atomic_write_text(out_dir / FEED_NAME, feed)
    return out_dir / INDEX_NAME, out_dir / FEED_NAME
