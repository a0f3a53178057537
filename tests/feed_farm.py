"""Many small feeds on one local server (scale tests and bench/feeds.py): feed i has one
entry whose page carries an article of its own (distinct words, so nothing deduplicates)."""

from __future__ import annotations

import time
from pathlib import Path
from xml.sax.saxutils import escape

from tests.web_server import FixtureServer

_WORDS = [
    "harbour",
    "council",
    "budget",
    "river",
    "school",
    "festival",
    "market",
    "railway",
    "bridge",
    "hospital",
    "library",
    "harvest",
    "museum",
    "election",
    "stadium",
    "airport",
    "factory",
    "garden",
    "theatre",
    "village",
    "forest",
    "coast",
]


def _article(i: int) -> tuple[str, str]:
    a, b, c = _WORDS[i % 21], _WORDS[(i // 21) % 21], _WORDS[(i // 441) % 21]
    title = f"Report {i}: the {a} {b} plan of district {i}"
    sentences = [
        f"Officials in district {i} presented a new {a} plan on Monday, number {i * 7}.",
        f"The {b} project will cost {i * 13 + 100} thousand and take {i % 11 + 2} months.",
        f"Residents of the {c} quarter said the {a} plan for district {i} came late.",
        f"A spokesperson said work on the {b} begins after the {c} review number {i}.",
        f"Critics of plan {i} asked why the {a} budget grew by {i % 40 + 3} percent.",
    ]
    return title, " ".join(sentences)


def serve_page(server: FixtureServer, i: int) -> tuple[str, str, str]:
    """Serve article ``i``'s page at ``/p/i``; returns (title, text, url)."""
    title, text = _article(i)
    url = server.add(
        f"/p/{i}",
        body=(
            f"<html><head><title>{escape(title)}</title></head><body><article>"
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p><p>{escape(text)}</p>"
            "</article></body></html>"
        ).encode(),
    )
    return title, text, url


def serve_feeds(server: FixtureServer, n: int, folder: Path) -> Path:
    """Serve ``n`` feeds and their pages; write and return an OPML file listing them."""
    outlines = []
    for i in range(n):
        title, text, page = serve_page(server, i)
        feed = server.add(
            f"/f/{i}.xml",
            content_type="application/rss+xml; charset=utf-8",
            body=(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Feed {i}</title><link>{server.base}/</link>"
                f"<item><title>{escape(title)}</title><link>{page}</link><guid>{page}</guid>"
                "<pubDate>Tue, 05 Mar 2024 01:30:00 GMT</pubDate>"
                f"<description>{escape(text)}</description></item></channel></rss>"
            ).encode(),
        )
        outlines.append(f'<outline type="rss" text="Feed {i}" xmlUrl="{escape(feed)}"/>')
    opml = folder / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>farm</title></head><body>'
        + "".join(outlines)
        + "</body></opml>",
        encoding="utf-8",
    )
    return opml


def count_task_runs(flow_run_id) -> dict[str, int]:
    """Task runs of the flow run, by task name (waits until the server has recorded them)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    last, stable = None, 0
    with get_client(sync_client=True) as client:
        for _ in range(180):
            runs, offset = [], 0
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    limit=200,
                    offset=offset,
                )
                runs += page
                offset += len(page)
                if len(page) < 200:
                    break
            counts: dict[str, int] = {}
            for r in runs:
                name = r.name.rsplit("-", 1)[0]
                counts[name] = counts.get(name, 0) + 1
            if counts == last:
                stable += 1
                if stable >= 5:
                    return counts
            else:
                stable = 0
            last = counts
            time.sleep(1)
    return last or {}
