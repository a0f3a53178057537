"""SQLModel tables. Unique constraints are what make re-runs idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw) -> Column:
    return Column(DateTime(timezone=True), **kw)


class Source(SQLModel, table=True):
    """Where articles come from: a folder, a file, a feed or a page URL."""

    __tablename__ = "source"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column_kwargs={"unique": True}, max_length=2048)
    kind: str = Field(max_length=16)  # dir, file, feed, page, opml, list
    name: str | None = Field(default=None, max_length=256)
    lang: str | None = Field(default=None, max_length=16)
    # JSON list of the tags of the sources file and the OPML folders (digest sections).
    tags: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_run_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # Health (storage/health.py): the last success, the failures since, when to try again.
    last_success_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    consecutive_failures: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class FetchState(SQLModel, table=True):
    """Conditional-GET validators per fetched URL (feeds and pages)."""

    __tablename__ = "fetch_state"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column_kwargs={"unique": True}, max_length=2048)
    etag: str | None = Field(default=None, max_length=512)
    last_modified: str | None = Field(default=None, max_length=128)
    status: int | None = None
    fetched_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ArticleRow(SQLModel, table=True):
    """One stored article. Same URL or same cleaned text: stored once."""

    __tablename__ = "article"
    __table_args__ = (Index("ix_article_ingested_at", "ingested_at"),)
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column_kwargs={"unique": True}, max_length=64)
    url: str | None = Field(default=None, sa_column_kwargs={"unique": True}, max_length=2048)
    content_hash: str = Field(sa_column_kwargs={"unique": True}, max_length=64)
    origin: str | None = Field(default=None, index=True, max_length=2048)
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    outlet: str | None = Field(default=None, max_length=256)
    lang: str | None = Field(default=None, max_length=16)
    published: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ingested_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    source_id: int | None = Field(default=None, foreign_key="source.id")
    near_duplicate_of: str | None = Field(default=None, max_length=64)


class StoryRow(SQLModel, table=True):
    """One real-world event, told by one or more articles, across runs."""

    __tablename__ = "story"
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column_kwargs={"unique": True}, max_length=64)
    headline: str = Field(default="", sa_column=Column(Text, nullable=False))
    summary_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    first_seen: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_updated: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_article_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    summarized_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    closed: bool = Field(default=False, index=True)


class StoryArticle(SQLModel, table=True):
    """Membership: an article belongs to at most one story."""

    __tablename__ = "story_article"
    __table_args__ = (UniqueConstraint("article_id", name="uq_story_article_article"),)
    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    article_id: int = Field(foreign_key="article.id")
    score: float = 0.0
    added_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class DigestRow(SQLModel, table=True):
    """One published digest."""

    __tablename__ = "digest"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    window_start: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    window_end: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    story_count: int = 0
    path: str | None = Field(default=None, max_length=2048)
    # Email delivery: "pending" (the message is kept in email_message until it is sent),
    # "sent", or None when no email was asked for.
    email_status: str | None = Field(default=None, max_length=16, index=True)
    email_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    email_attempts: int = Field(default=0)
    email_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    emailed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class DigestItem(SQLModel, table=True):
    """What a digest contained: a story as it stood then."""

    __tablename__ = "digest_item"
    __table_args__ = (UniqueConstraint("digest_id", "story_id", name="uq_digest_item"),)
    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    story_id: int = Field(foreign_key="story.id", index=True)
    story_version: datetime = Field(sa_column=_ts(nullable=False))  # story.last_updated then
    rank: int = 0


class RobotsTxt(SQLModel, table=True):
    """A site's robots.txt as last fetched, so a later run uses it while fresh and then asks
    again conditionally (ETag / Last-Modified) instead of fetching it anew."""

    __tablename__ = "robots_txt"
    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(sa_column_kwargs={"unique": True}, max_length=512)  # scheme://host:port
    status: int  # 200, or the 4xx that means "no robots.txt: everything allowed"
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    etag: str | None = Field(default=None, max_length=512)
    last_modified: str | None = Field(default=None, max_length=128)
    fetched_at: datetime = Field(sa_column=_ts(nullable=False))  # last fetched or revalidated
    max_age_seconds: float = 0.0  # how long it may be used without asking
