"""robots.txt kept between runs: what is kept, for how long, and where (a store).

RFC 9309 section 2.4: a crawler may cache robots.txt with standard HTTP caching and should not
use a cached copy for more than 24 hours unless the file is unreachable. So a site's
robots.txt is used without asking while it is fresh (its ``Cache-Control: max-age``, else
``NEWSDIGEST_ROBOTS_MAX_AGE_SECONDS``, at most 24 hours), then asked for again with a
conditional GET (a 304 keeps the stored copy), and used stale when the site cannot be reached.
The client knows nothing of databases: the web sources give it a :class:`RobotsStore`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

MAX_AGE_CAP_SECONDS = 24 * 3600.0  # RFC 9309: not more than 24 hours
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.I)


@dataclass
class CachedRobots:
    """One site's robots.txt as last fetched (status 200), or its absence (a 4xx)."""

    status: int
    body: str
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    max_age_seconds: float

    def fresh(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        fetched = self.fetched_at
        if fetched.tzinfo is None:  # SQLite gives naive datetimes back
            fetched = fetched.replace(tzinfo=UTC)
        return now < fetched + timedelta(seconds=self.max_age_seconds)

    def conditional_headers(self) -> dict[str, str]:
        """The validators to ask with (a missing robots.txt has none: asked plainly)."""
        headers = {}
        if self.status == 200 and self.etag:
            headers["If-None-Match"] = self.etag
        if self.status == 200 and self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class RobotsStore(Protocol):
    """Where robots.txt is kept between runs (the database, for the web sources)."""

    def load(self, origin: str) -> CachedRobots | None: ...

    def save(self, origin: str, robots: CachedRobots) -> None: ...


def max_age_seconds(cache_control: str | None, default: float) -> float:
    """How long a response may be used without asking again: its max-age, 0 for no-cache
    or no-store, else ``default``; never more than 24 hours."""
    value = cache_control or ""
    if _NO_CACHE.search(value):
        return 0.0
    m = _MAX_AGE.search(value)
    age = float(m.group(1)) if m else default
    return max(0.0, min(age, MAX_AGE_CAP_SECONDS))
