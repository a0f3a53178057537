"""Stories: open stories, placements, moves, closing, members, summaries and headlines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, or_
from sqlmodel import Session, select

from digest.formats import (
    SummaryItem,
    dump_summary,
)
from digest.models import Article
from storage.engine import as_utc
from storage.models import (
    ArticleRow,
    DigestItem,
    StoryArticle,
    StoryRow,
    utcnow,
)
from storage.repo._common import _chunks, article_time, row_to_article


def _members(session: Session, story_ids: list[int]) -> Iterator[tuple[int, ArticleRow]]:
    """(story id, article row) of every article of the given stories."""
    for chunk in _chunks(story_ids):
        yield from session.exec(
            select(StoryArticle.story_id, ArticleRow)
            .join(ArticleRow, ArticleRow.id == StoryArticle.article_id)
            .where(StoryArticle.story_id.in_(chunk))
        ).all()


def open_stories(session: Session, since: datetime) -> dict[str, list[Article]]:
    """Stories whose last article is at or after ``since``, with their articles."""
    stories = session.exec(select(StoryRow).where(StoryRow.last_article_at >= since)).all()
    if not stories:
        return {}
    by_id = {s.id: s.uid for s in stories}
    out: dict[str, list[Article]] = {s.uid: [] for s in stories}
    for story_id, row in _members(session, list(by_id)):
        out[by_id[story_id]].append(row_to_article(row))
    for arts in out.values():
        arts.sort(key=lambda a: (a.published or datetime.min.replace(tzinfo=UTC), a.id))
    return {uid: arts for uid, arts in out.items() if arts}  # emptied stories have none


@dataclass
class Placement:
    """Where the grouper put one article."""

    article_uid: str
    story_uid: str
    score: float = 0.0
    near_duplicate_of: str | None = None


def save_placements(session: Session, placements: Sequence[Placement]) -> dict[str, int]:
    """Create stories and memberships; returns counts of new and extended stories.

    Batched: the new stories, the memberships and the near-duplicate marks are each one
    multi-row statement per chunk, not one ORM object and flush per row.
    """
    if not placements:
        return {"new_stories": 0, "extended_stories": 0}
    now = utcnow()
    story_uids = list(dict.fromkeys(p.story_uid for p in placements))
    stories: dict[str, StoryRow] = {}
    for chunk in _chunks(story_uids):
        for s in session.exec(select(StoryRow).where(StoryRow.uid.in_(chunk))).all():
            stories[s.uid] = s
    extended = set(stories)
    article_rows: dict[str, tuple[int, datetime]] = {}
    for chunk in _chunks([p.article_uid for p in placements]):
        for uid, aid, published, ingested in session.exec(
            select(
                ArticleRow.uid, ArticleRow.id, ArticleRow.published, ArticleRow.ingested_at
            ).where(ArticleRow.uid.in_(chunk))
        ).all():
            article_rows[uid] = (aid, as_utc(published) or as_utc(ingested))
    # Each story's latest article time over its new members.
    latest: dict[str, datetime] = {}
    for p in placements:
        when = article_rows[p.article_uid][1]
        latest[p.story_uid] = max(latest.get(p.story_uid, when), when)
    new_uids = [uid for uid in story_uids if uid not in stories]
    story_ids = {uid: s.id for uid, s in stories.items()}
    for chunk in _chunks(new_uids):
        session.execute(
            StoryRow.__table__.insert(),
            [
                {
                    "uid": uid,
                    "headline": "",
                    "summary_json": "[]",
                    "first_seen": now,
                    "last_updated": now,
                    "last_article_at": latest[uid],
                    "closed": False,
                }
                for uid in chunk
            ],
        )
        story_ids.update(
            session.exec(select(StoryRow.uid, StoryRow.id).where(StoryRow.uid.in_(chunk))).all()
        )
    for uid, story in stories.items():
        story.last_updated = now
        story.last_article_at = max(as_utc(story.last_article_at), latest[uid])
        story.closed = False
        session.add(story)
    session.flush()
    links = [
        {
            "story_id": story_ids[p.story_uid],
            "article_id": article_rows[p.article_uid][0],
            "score": p.score,
            "added_at": now,
        }
        for p in placements
    ]
    for chunk in _chunks(links):
        session.execute(StoryArticle.__table__.insert(), list(chunk))
    marks = [
        {"b_id": article_rows[p.article_uid][0], "b_dup": p.near_duplicate_of}
        for p in placements
        if p.near_duplicate_of
    ]
    if marks:
        table = ArticleRow.__table__
        session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(near_duplicate_of=bindparam("b_dup")),
            marks,
        )
    session.commit()
    return {"new_stories": len(new_uids), "extended_stories": len(extended & set(story_uids))}


def placement_ranks(session: Session, article_uids: Sequence[str]) -> dict[str, int]:
    """Order in which stored articles were placed in their stories (higher: later)."""
    out: dict[str, int] = {}
    for chunk in _chunks(list(article_uids)):
        rows = session.exec(
            select(ArticleRow.uid, StoryArticle.id)
            .join(StoryArticle, StoryArticle.article_id == ArticleRow.id)
            .where(ArticleRow.uid.in_(chunk))
        ).all()
        out.update({uid: rank for uid, rank in rows})
    return out


def move_articles(session: Session, moves: Sequence[tuple[str, str, str]]) -> int:
    """Apply the grouper's moves (article uid, from story uid, to story uid) in order.

    A target story missing from the database is created; a story left without articles is
    closed (its digest history stays). Returns the number of articles moved.
    """
    if not moves:
        return 0
    now = utcnow()
    articles: dict[str, ArticleRow] = {}
    for chunk in _chunks(list({m[0] for m in moves})):
        articles.update(
            (r.uid, r) for r in session.exec(select(ArticleRow).where(ArticleRow.uid.in_(chunk)))
        )
    links: dict[int, StoryArticle] = {}
    for chunk in _chunks([r.id for r in articles.values()]):
        links.update(
            (link.article_id, link)
            for link in session.exec(select(StoryArticle).where(StoryArticle.article_id.in_(chunk)))
        )
    stories: dict[str, StoryRow] = {}
    for chunk in _chunks(list({m[2] for m in moves})):
        stories.update(
            (r.uid, r) for r in session.exec(select(StoryRow).where(StoryRow.uid.in_(chunk)))
        )
    touched: set[int] = set()
    moved = 0
    for article_uid, _, to_uid in moves:
        article = articles.get(article_uid)
        if article is None:
            continue
        target = stories.get(to_uid)
        if target is None:
            target = stories[to_uid] = StoryRow(uid=to_uid, first_seen=now, last_updated=now)
            session.add(target)
            session.flush()
        touched.add(target.id)
        link = links.get(article.id)
        if link is None or link.story_id == target.id:
            continue
        touched.add(link.story_id)
        link.story_id = target.id
        session.add(link)
        moved += 1
    session.flush()
    times: dict[int, list[datetime]] = {sid: [] for sid in touched}
    for story_id, row in _members(session, list(touched)):
        times[story_id].append(article_time(row))
    for chunk in _chunks(list(touched)):
        for row in session.exec(select(StoryRow).where(StoryRow.id.in_(chunk))):
            row.last_updated = now
            if times[row.id]:
                row.last_article_at = max(times[row.id])
                row.closed = False
            else:
                row.closed = True  # emptied: its articles now belong to other stories
            session.add(row)
    session.commit()
    return moved


def close_quiet_stories(session: Session, before: datetime) -> int:
    """Mark stories whose last article is older than ``before`` as closed."""
    rows = session.exec(
        select(StoryRow).where(StoryRow.closed == False, StoryRow.last_article_at < before)  # noqa: E712
    ).all()
    for r in rows:
        r.closed = True
        session.add(r)
    session.commit()
    return len(rows)


def story_articles(session: Session, story: StoryRow) -> list[ArticleRow]:
    rows = session.exec(
        select(ArticleRow)
        .join(StoryArticle, StoryArticle.article_id == ArticleRow.id)
        .where(StoryArticle.story_id == story.id)
    ).all()
    return sorted(rows, key=lambda r: (article_time(r), r.uid))


def stories_articles(session: Session, story_ids: Sequence[int]) -> dict[int, list[ArticleRow]]:
    """:func:`story_articles` of many stories in a few queries (not one per story)."""
    out: dict[int, list[ArticleRow]] = {sid: [] for sid in story_ids}
    for story_id, row in _members(session, list(out)):
        out[story_id].append(row)
    for rows in out.values():
        rows.sort(key=lambda r: (article_time(r), r.uid))
    return out


def story_outlet_counts(session: Session, story_ids: Sequence[int]) -> dict[int, int]:
    """How many different outlets (no outlet counts as one) tell each of the given stories."""
    outlet = func.coalesce(ArticleRow.outlet, "Unknown outlet")  # as the digest shows it
    out: dict[int, int] = {}
    for chunk in _chunks(list(story_ids)):
        out.update(
            session.exec(
                select(StoryArticle.story_id, func.count(func.distinct(outlet)))
                .join(ArticleRow, ArticleRow.id == StoryArticle.article_id)
                .where(StoryArticle.story_id.in_(chunk))
                .group_by(StoryArticle.story_id)
            ).all()
        )
    return out


def stories_to_digest(
    session: Session, since: datetime | None = None, limit: int | None = None
) -> list[StoryRow]:
    """Stories new or updated since they were last in a digest (or since ``since``)."""
    if since is not None:
        q = select(StoryRow).where(StoryRow.last_updated >= since)
    else:
        last_seen = (
            select(DigestItem.story_id, func.max(DigestItem.story_version).label("v"))
            .group_by(DigestItem.story_id)
            .subquery()
        )
        q = (
            select(StoryRow)
            .outerjoin(last_seen, last_seen.c.story_id == StoryRow.id)
            .where(or_(last_seen.c.v.is_(None), StoryRow.last_updated > last_seen.c.v))
        )
    has_articles = select(StoryArticle.id).where(StoryArticle.story_id == StoryRow.id).exists()
    rows = list(session.exec(q.where(has_articles)).all())
    rows.sort(key=lambda s: as_utc(s.last_updated), reverse=True)
    return rows[:limit] if limit else rows


def save_story_summary(
    session: Session, story: StoryRow, headline: str, summary: Sequence[SummaryItem]
) -> None:
    story.headline = headline
    story.summary_json = dump_summary(summary)
    story.summarized_at = utcnow()
    session.add(story)
    session.commit()


def save_story_headline(
    session: Session, story: StoryRow, headline: str, *, commit: bool = True
) -> None:
    """A headline without a summary (``summarized_at`` stays unset, so the summary is written
    when the story is next shown in full); ``commit=False``: the caller commits."""
    story.headline = headline
    session.add(story)
    if commit:
        session.commit()
