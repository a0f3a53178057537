"""The queries the flows need: idempotent upserts, open stories, digests, exports.

Plain functions over a SQLModel ``Session``; no Prefect here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from digest.formats import (
    StoryRecord,
    SummaryItem,
    article_record,
    dump_summary,
    load_summary,
    story_record,
)
from digest.models import Article
from digest.validate import sane_date
from storage.engine import as_utc
from storage.models import (
    ArticleRow,
    DigestItem,
    DigestRow,
    FetchState,
    Source,
    StoryArticle,
    StoryRow,
    utcnow,
)

# IN (...) lists are cut to this size: SQLite allows 32,766 variables, PostgreSQL 65,535.
IN_CHUNK = 500


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


# --- sources and fetch state -------------------------------------------------------------


def upsert_source(
    session: Session, key: str, kind: str, name: str | None = None, lang: str | None = None
) -> int:
    """The id of the source with this key, created if new."""
    row = session.exec(select(Source).where(Source.key == key)).first()
    if row is None:
        row = Source(key=key, kind=kind, name=name, lang=lang)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another worker created it first
            session.rollback()
            row = session.exec(select(Source).where(Source.key == key)).one()
    elif (name and row.name != name) or (lang and row.lang != lang):
        row.name, row.lang = name or row.name, lang or row.lang
        session.add(row)
        session.commit()
    return row.id


def get_fetch_state(session: Session, url: str) -> FetchState | None:
    return session.exec(select(FetchState).where(FetchState.url == url)).first()


def save_fetch_state(
    session: Session, url: str, etag: str | None, last_modified: str | None, status: int
) -> None:
    row = get_fetch_state(session, url) or FetchState(url=url)
    row.etag, row.last_modified, row.status, row.fetched_at = etag, last_modified, status, utcnow()
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def fetch_validators(
    session: Session, urls: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """(ETag, Last-Modified) of each of ``urls`` fetched before, in a few queries."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for chunk in _chunks(list(dict.fromkeys(urls))):
        for row in session.exec(select(FetchState).where(FetchState.url.in_(chunk))).all():
            found[row.url] = (row.etag, row.last_modified)
    return found


def save_fetch_states(
    session: Session, states: dict[str, tuple[str | None, str | None, int]]
) -> None:
    """Store (etag, last_modified, status) per URL in one transaction; when another worker
    stored one of these URLs meanwhile, fall back to one URL at a time."""
    if not states:
        return
    urls = list(states)
    rows: dict[str, FetchState] = {}
    for chunk in _chunks(urls):
        rows.update(
            (r.url, r) for r in session.exec(select(FetchState).where(FetchState.url.in_(chunk)))
        )
    now = utcnow()
    for url, (etag, modified, status) in states.items():
        row = rows.get(url) or FetchState(url=url)
        row.etag, row.last_modified, row.status, row.fetched_at = etag, modified, status, now
        session.add(row)
    try:
        session.commit()
        return
    except IntegrityError:
        session.rollback()
    for url, (etag, modified, status) in states.items():
        save_fetch_state(session, url, etag, modified, status)


def known_urls(session: Session, urls: Iterable[str]) -> set[str]:
    """Which of ``urls`` are stored already (so they need not be fetched again)."""
    urls = list(dict.fromkeys(u for u in urls if u))
    found: set[str] = set()
    for chunk in _chunks(urls):
        found.update(session.exec(select(ArticleRow.url).where(ArticleRow.url.in_(chunk))).all())
    return found


# --- articles ----------------------------------------------------------------------------


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
            session.add(_new_row(a, source_id))
            counts.new += 1
            counts.new_ids.append(a.id)
        try:
            session.commit()
        except IntegrityError:
            # A concurrent worker stored some of these first: redo the chunk one by one.
            session.rollback()
            redo = _store_one_by_one(session, chunk, source_id)
            counts.new -= sum(1 for a in chunk if a.id in counts.new_ids)
            counts.new_ids = [i for i in counts.new_ids if i not in {a.id for a in chunk}]
            counts.add(redo)
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


# --- stories -----------------------------------------------------------------------------


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
    """Create stories and memberships; returns counts of new and extended stories."""
    if not placements:
        return {"new_stories": 0, "extended_stories": 0}
    now = utcnow()
    story_uids = list({p.story_uid for p in placements})
    stories: dict[str, StoryRow] = {}
    for chunk in _chunks(story_uids):
        for s in session.exec(select(StoryRow).where(StoryRow.uid.in_(chunk))).all():
            stories[s.uid] = s
    extended = set(stories)
    article_rows: dict[str, ArticleRow] = {}
    for chunk in _chunks([p.article_uid for p in placements]):
        for r in session.exec(select(ArticleRow).where(ArticleRow.uid.in_(chunk))).all():
            article_rows[r.uid] = r
    created = 0
    for p in placements:
        row = article_rows[p.article_uid]
        story = stories.get(p.story_uid)
        if story is None:
            story = StoryRow(
                uid=p.story_uid, first_seen=now, last_updated=now, last_article_at=article_time(row)
            )
            session.add(story)
            session.flush()
            stories[p.story_uid] = story
            created += 1
        story.last_updated = now
        story.last_article_at = max(as_utc(story.last_article_at), article_time(row))
        story.closed = False
        session.add(story)
        session.add(StoryArticle(story_id=story.id, article_id=row.id, score=p.score))
        if p.near_duplicate_of:
            row.near_duplicate_of = p.near_duplicate_of
            session.add(row)
    session.commit()
    return {"new_stories": created, "extended_stories": len(extended & set(story_uids))}


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


# --- exports (formats A and S of DESIGN.md, written by digest.formats) -------------------


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
