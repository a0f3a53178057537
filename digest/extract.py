"""HTML to article text with trafilatura (pure: no network)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import trafilatura

from digest.dates import parse_date
from digest.lang import normalize_lang


@dataclass
class Extracted:
    title: str
    text: str
    published: datetime | None
    author: str | None
    sitename: str | None
    lang: str | None
    url: str | None


def extract_html(html: str, url: str | None = None) -> Extracted | None:
    """Main text and metadata of an article page, or None when there is no article in it."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=False,
    )
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    if not text:
        return None
    # trafilatura separates paragraphs with single newlines; we use blank lines.
    text = "\n\n".join(p.strip() for p in text.split("\n") if p.strip())
    return Extracted(
        title=(data.get("title") or "").strip(),
        text=text,
        published=parse_date(data.get("date")),
        author=data.get("author"),
        sitename=data.get("sitename"),
        lang=normalize_lang(data.get("language")),
        url=data.get("url") or url,
    )
