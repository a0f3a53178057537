"""What the repo modules share: chunked IN lists and turning stored rows into articles."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from digest.models import Article
from digest.validate import sane_date
from storage.engine import as_utc
from storage.models import (
    ArticleRow,
)

# IN (...) lists are cut to this size: SQLite allows 32,766 variables, PostgreSQL 65,535.
IN_CHUNK = 500


def _chunks(items: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def row_to_article(row: ArticleRow) -> Article:
    return Article(
        id=row.uid,
        title=row.title,
        text=row.text,
        url=row.url,
        source=row.outlet,
        published=sane_date(as_utc(row.published)),
        lang=row.lang,
        origin=row.origin,
        content_hash=row.content_hash,
    )


def article_time(row: ArticleRow) -> datetime:
    """When the article happened for windows: its publication date, else when we stored it.

    A stored date out of range (year 0001 or 9999, written before dates were checked on the
    way in) counts as absent: window arithmetic on it would overflow."""
    return sane_date(as_utc(row.published)) or as_utc(row.ingested_at)
