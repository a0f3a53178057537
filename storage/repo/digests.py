"""Digests: which stories were shown, the last digest, recording one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, select

from storage.models import (
    DigestItem,
    DigestRow,
    StoryRow,
)
from storage.repo._common import _chunks


def shown_story_ids(session: Session, story_ids: Sequence[int]) -> set[int]:
    """The stories (of ``story_ids``) that some earlier digest already contained."""
    found: set[int] = set()
    for chunk in _chunks(list(story_ids)):
        found.update(
            session.exec(
                select(DigestItem.story_id).where(DigestItem.story_id.in_(chunk)).distinct()
            ).all()
        )
    return found


def last_digest(session: Session) -> DigestRow | None:
    return session.exec(select(DigestRow).order_by(DigestRow.created_at.desc())).first()


def record_digest(
    session: Session,
    stories: Sequence[StoryRow],
    window_start: datetime | None,
    window_end: datetime,
    path: str | None,
) -> DigestRow:
    row = DigestRow(
        window_start=window_start, window_end=window_end, story_count=len(stories), path=path
    )
    session.add(row)
    session.flush()
    for rank, s in enumerate(stories):
        session.add(
            DigestItem(digest_id=row.id, story_id=s.id, story_version=s.last_updated, rank=rank)
        )
    session.commit()
    return row
