"""Articles: idempotent upserts of a batch, unassigned articles, counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from digest.models import Article
from storage.models import (
    ArticleRow,
    StoryArticle,
    utcnow,
)
from storage.repo._common import _chunks, article_time


@dataclass
class StoreCounts:
    """What storing a batch did: the counts a run reports."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0
    new_ids: list[str] = field(default_factory=list)

    def add(self, other: StoreCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.duplicate += other.duplicate
        self.new_ids.extend(other.new_ids)


def store_articles(
    session: Session, articles: Sequence[Article], source_id: int | None = None
) -> StoreCounts:
    """Insert new articles, update changed ones, count the rest as duplicates.

    Identity, in order: the URL; then the cleaned text's hash; then, for local files without a
    URL, the file they came from (an edited file updates its article).
    """
    counts = StoreCounts()
    if not articles:
        return counts
    seen_in_batch: set[str] = set()
    unique: list[Article] = []
    for a in articles:
        keys = {f"h:{a.content_hash}"} | ({f"u:{a.url}"} if a.url else set())
        if keys & seen_in_batch:
            counts.duplicate += 1
            continue
        seen_in_batch |= keys
        unique.append(a)

    table = ArticleRow.__table__
    for chunk in _chunks(unique):
        urls = [a.url for a in chunk if a.url]
        hashes = [a.content_hash for a in chunk]
        origins = [a.origin for a in chunk if a.origin and not a.url]
        conds = [ArticleRow.content_hash.in_(hashes)]
        if urls:
            conds.append(ArticleRow.url.in_(urls))
        if origins:
            conds.append(ArticleRow.origin.in_(origins) & ArticleRow.url.is_(None))
        existing = session.exec(select(ArticleRow).where(or_(*conds))).all()
        by_url = {r.url: r for r in existing if r.url}
        by_hash = {r.content_hash: r for r in existing}
        by_origin = {r.origin: r for r in existing if r.origin and not r.url}
        fresh: list[dict] = []
        now = utcnow()
        for a in chunk:
            row = by_url.get(a.url) if a.url else None
            if row is None and a.content_hash in by_hash:
                counts.duplicate += 1
                continue
            if row is None and not a.url and a.origin:
                row = by_origin.get(a.origin)
            if row is not None:
                if row.content_hash == a.content_hash:
                    counts.duplicate += 1
                    continue
                _update_row(row, a)
                session.add(row)
                counts.updated += 1
                continue
            fresh.append(_new_values(a, source_id, now))
        try:
            if fresh:  # one multi-row INSERT per chunk (Core: no ORM objects per article)
                session.execute(table.insert(), fresh)
            session.commit()
        except IntegrityError:
            # A concurrent worker stored some of these first: redo the chunk one by one.
            session.rollback()
            counts.add(_store_one_by_one(session, chunk, source_id))
            continue
        counts.new += len(fresh)
        counts.new_ids.extend(v["uid"] for v in fresh)
    return counts


def _store_one_by_one(session: Session, chunk: Sequence[Article], source_id: int | None):
    counts = StoreCounts()
    for a in chunk:
        conds = [ArticleRow.content_hash == a.content_hash]
        if a.url:
            conds.append(ArticleRow.url == a.url)
        if session.exec(select(ArticleRow.id).where(or_(*conds))).first() is not None:
            counts.duplicate += 1
            continue
        session.add(_new_row(a, source_id))
        try:
            session.commit()
            counts.new += 1
            counts.new_ids.append(a.id)
        except IntegrityError:
            session.rollback()
            counts.duplicate += 1
    return counts


def _new_row(a: Article, source_id: int | None) -> ArticleRow:
    return ArticleRow(
        uid=a.id,
        url=a.url,
        content_hash=a.content_hash,
        origin=a.origin,
        title=a.title,
        text=a.text,
        outlet=a.source,
        lang=a.lang,
        published=a.published,
        source_id=source_id,
    )


def _new_values(a: Article, source_id: int | None, now: datetime) -> dict:
    """The column values of a new article row, for a Core INSERT."""
    return {
        "uid": a.id,
        "url": a.url,
        "content_hash": a.content_hash,
        "origin": a.origin,
        "title": a.title,
        "text": a.text,
        "outlet": a.source,
        "lang": a.lang,
        "published": a.published,
        "ingested_at": now,
        "source_id": source_id,
    }


def _update_row(row: ArticleRow, a: Article) -> None:
    row.title, row.text, row.content_hash = a.title, a.text, a.content_hash
    row.outlet = a.source or row.outlet
    row.lang = a.lang or row.lang
    row.published = a.published or row.published
    row.updated_at = utcnow()


def unassigned_articles(session: Session) -> list[ArticleRow]:
    """Stored articles in no story yet, oldest first (the order the grouper sees them)."""
    member = select(StoryArticle.article_id)
    rows = session.exec(select(ArticleRow).where(ArticleRow.id.not_in(member))).all()
    return sorted(rows, key=lambda r: (article_time(r), r.uid))


def count_articles(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ArticleRow)).one()
