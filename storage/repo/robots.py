"""robots.txt kept between runs: read one site's, save one site's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import RobotsTxt


def load_robots(session: Session, origin: str) -> RobotsTxt | None:
    """The stored robots.txt of ``origin`` (scheme://host[:port]), or None."""
    return session.exec(select(RobotsTxt).where(RobotsTxt.origin == origin)).first()


def save_robots(
    session: Session,
    origin: str,
    *,
    status: int,
    body: str,
    etag: str | None,
    last_modified: str | None,
    fetched_at: datetime,
    max_age_seconds: float,
) -> None:
    """Store (or replace) the robots.txt of ``origin``; a concurrent writer of the same site
    wins (both fetched the same file)."""
    for _ in range(2):
        row = load_robots(session, origin) or RobotsTxt(
            origin=origin, status=status, fetched_at=fetched_at
        )
        row.status, row.body = status, body
        row.etag, row.last_modified = etag, last_modified
        row.fetched_at, row.max_age_seconds = fetched_at, max_age_seconds
        session.add(row)
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
