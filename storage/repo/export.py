"""Exports (formats A and S of DESIGN.md, written by digest.formats)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session, select

from digest.formats import (
    StoryRecord,
    article_record,
    load_summary,
    story_record,
)
from storage.engine import as_utc
from storage.models import (
    ArticleRow,
    StoryRow,
)
from storage.repo._common import row_to_article
from storage.repo.stories import story_articles


def export_articles(session: Session) -> Iterator[dict]:
    for row in session.exec(select(ArticleRow).order_by(ArticleRow.id)).yield_per(500):
        yield article_record(row_to_article(row), near_duplicate_of=row.near_duplicate_of)


def export_stories(session: Session) -> Iterator[dict]:
    stories = session.exec(select(StoryRow).order_by(StoryRow.id)).all()
    for s in stories:
        arts = story_articles(session, s)
        if not arts:  # emptied by moves: its articles are exported with their new story
            continue
        yield story_record(
            StoryRecord(
                id=s.uid,
                headline=s.headline,
                articles=[a.uid for a in arts],
                summary=load_summary(s.summary_json),
                first_seen=as_utc(s.first_seen),
                last_updated=as_utc(s.last_updated),
                closed=s.closed,
            )
        )
