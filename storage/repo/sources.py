"""Sources and fetch state: upserts, tags, feed sources, conditional-GET validators."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import (
    ArticleRow,
    FetchState,
    Source,
    utcnow,
)
from storage.repo._common import _chunks


def upsert_source(
    session: Session,
    key: str,
    kind: str,
    name: str | None = None,
    lang: str | None = None,
    tags: Sequence[str] | None = None,
) -> int:
    """The id of the source with this key, created if new (name, language and tags updated)."""
    tags_json = json.dumps(list(tags), ensure_ascii=False) if tags else None
    row = session.exec(select(Source).where(Source.key == key)).first()
    if row is None:
        row = Source(key=key, kind=kind, name=name, lang=lang, tags=tags_json)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another worker created it first
            session.rollback()
            row = session.exec(select(Source).where(Source.key == key)).one()
    elif (
        (name and row.name != name)
        or (lang and row.lang != lang)
        or (tags is not None and row.tags != tags_json)
    ):
        row.name, row.lang = name or row.name, lang or row.lang
        if tags is not None:
            row.tags = tags_json
        session.add(row)
        session.commit()
    return row.id


def source_tags(row: Source) -> list[str]:
    try:
        value = json.loads(row.tags) if row.tags else []
    except ValueError:
        return []
    return [str(t) for t in value] if isinstance(value, list) else []


def tags_of_sources(session: Session, source_ids: Iterable[int | None]) -> dict[int, list[str]]:
    """The stored tags of each source id."""
    ids = sorted({i for i in source_ids if i is not None})
    out: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        for row in session.exec(select(Source).where(Source.id.in_(chunk))).all():
            out[row.id] = source_tags(row)
    return out


def all_sources(session: Session) -> list[Source]:
    return list(session.exec(select(Source).order_by(Source.id)).all())


@dataclass
class FeedSource:
    url: str
    name: str | None
    lang: str | None
    tags: list[str]


def feed_sources(session: Session) -> list[FeedSource]:
    """The web sources that are feeds: their articles come from other URLs than the source's
    own (a page given as a source is its only article's origin)."""
    out = []
    for row in all_sources(session):
        if row.kind != "url" or not row.key.lower().startswith(("http://", "https://")):
            continue
        origins = session.exec(
            select(ArticleRow.origin).where(ArticleRow.source_id == row.id).limit(50)
        ).all()
        if origins and all(o == row.key for o in origins):
            continue  # an article page
        out.append(FeedSource(row.key, row.name, row.lang, source_tags(row)))
    return out


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
    fresh = []  # new URLs: one multi-row INSERT, not an ORM object each
    for url, (etag, modified, status) in states.items():
        row = rows.get(url)
        if row is None:
            fresh.append(
                {"url": url, "etag": etag, "last_modified": modified, "status": status}
                | {"fetched_at": now}
            )
            continue
        row.etag, row.last_modified, row.status, row.fetched_at = etag, modified, status, now
        session.add(row)
    try:
        if fresh:
            session.execute(FetchState.__table__.insert(), fresh)
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
