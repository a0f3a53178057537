"""Per-source health across runs, as Miniflux keeps it for feeds.

Each run records, per source it tried, whether the source worked: a success clears the
failure count; a failure counts one more, keeps the error (secrets removed) and sets the next
attempt after an exponential backoff (``base * 2**(failures - 1)``, capped). A source that
failed ``max_failures`` times in a row is suspended: runs skip it, with a warning, until
``newsdigest sources enable NAME`` clears its failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from storage.engine import as_utc
from storage.models import Source, utcnow

# Keys are read and written this many per query (thousands of feeds).
CHUNK = 500
ERROR_MAX_CHARS = 500

# user:password@ in URLs, and secret-looking query parameters or assignments.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")
_SECRET_PARAM = re.compile(
    r"(?i)\b(password|passwd|pwd|token|access_token|api_key|apikey|key|secret|auth)=([^&\s;,]+)"
)


def redact(text: str) -> str:
    """Text safe to store and show: no URL credentials, no secret-looking parameters."""
    text = _USERINFO.sub(r"\1***@", text)
    return _SECRET_PARAM.sub(r"\1=***", text)


@dataclass
class Outcome:
    """What one source did in one run."""

    key: str
    kind: str
    name: str | None = None
    error: str | None = None  # None: the source worked

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Health:
    key: str
    kind: str
    name: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    next_attempt_at: datetime | None

    def status(self, max_failures: int, now: datetime | None = None) -> str:
        """ok, new, failing, backing off, or suspended."""
        now = now or utcnow()
        if self.consecutive_failures >= max_failures > 0:
            return "suspended"
        if self.next_attempt_at and self.next_attempt_at > now:
            return "backing off"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.last_run_at else "new"


def backoff(failures: int, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to wait after the ``failures``-th failure in a row."""
    if failures <= 0 or base_seconds <= 0:
        return timedelta(0)
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** min(failures - 1, 30)))


def _rows(session: Session, keys: Sequence[str]) -> dict[str, Source]:
    out: dict[str, Source] = {}
    keys = list(dict.fromkeys(keys))
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        out.update((r.key, r) for r in session.exec(select(Source).where(Source.key.in_(chunk))))
    return out


def _health(row: Source) -> Health:
    return Health(
        key=row.key,
        kind=row.kind,
        name=row.name,
        last_run_at=as_utc(row.last_run_at),
        last_success_at=as_utc(row.last_success_at),
        consecutive_failures=row.consecutive_failures or 0,
        last_error=row.last_error,
        next_attempt_at=as_utc(row.next_attempt_at),
    )


def held_back(
    session: Session, keys: Sequence[str], max_failures: int, now: datetime | None = None
) -> dict[str, str]:
    """The sources among ``keys`` not to try in this run, each with the reason (one line)."""
    now = now or utcnow()
    out = {}
    for key, row in _rows(session, keys).items():
        h = _health(row)
        status = h.status(max_failures, now)
        if status == "suspended":
            out[key] = (
                f"suspended after {h.consecutive_failures} failures in a row "
                f"(last: {h.last_error or 'unknown'}); fix it, then run "
                f"`newsdigest sources enable {key}`"
            )
        elif status == "backing off":
            out[key] = (
                f"backing off after {h.consecutive_failures} failure"
                f"{'s' if h.consecutive_failures > 1 else ''} in a row, next attempt "
                f"{h.next_attempt_at:%Y-%m-%d %H:%M} UTC (last: {h.last_error or 'unknown'})"
            )
    return out


def record(
    session: Session,
    outcomes: Iterable[Outcome],
    *,
    backoff_seconds: float,
    backoff_max_seconds: float,
    now: datetime | None = None,
) -> None:
    """Store each source's outcome of this run (creating sources never seen before)."""
    now = now or utcnow()
    outcomes = list({o.key: o for o in outcomes}.values())
    rows = _rows(session, [o.key for o in outcomes])
    for o in outcomes:
        row = rows.get(o.key)
        if row is None:
            row = Source(key=o.key, kind=o.kind, name=o.name)
            rows[o.key] = row
        row.last_run_at = now
        if o.ok:
            row.last_success_at = now
            row.consecutive_failures = 0
            row.last_error = None
            row.next_attempt_at = None
        else:
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.last_error = redact(o.error or "failed")[:ERROR_MAX_CHARS]
            row.next_attempt_at = now + backoff(
                row.consecutive_failures, backoff_seconds, backoff_max_seconds
            )
        session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent run created one of these sources: once more
        session.rollback()
        record(
            session,
            outcomes,
            backoff_seconds=backoff_seconds,
            backoff_max_seconds=backoff_max_seconds,
            now=now,
        )


def list_health(session: Session) -> list[Health]:
    return [_health(r) for r in session.exec(select(Source).order_by(Source.key))]


def enable(session: Session, name: str | None, everything: bool = False) -> list[str]:
    """Clear the failures of the sources whose key or name is ``name`` (or of every failing
    source); returns their keys."""
    query = select(Source).where(Source.consecutive_failures > 0)
    if not everything:
        query = select(Source).where(or_(Source.key == name, Source.name == name))
    rows = list(session.exec(query))
    for row in rows:
        row.consecutive_failures = 0
        row.next_attempt_at = None
        session.add(row)
    session.commit()
    return [r.key for r in rows]
