"""Politeness: per-host limits and delays, Retry-After, the user agent and robots.txt token."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Protocol

from digest.settings import Settings

ROBOTS_MAX_BYTES = 512 * 1024
MAX_CRAWL_DELAY_SECONDS = 30.0


class _HostState:
    def __init__(self, limit: int) -> None:
        self.slots = threading.BoundedSemaphore(max(1, limit))
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.delay: float | None = None  # from robots.txt, once known


class HostSlots(Protocol):
    """Where per-host limits are held: :class:`HostLimiter` (this process) or
    :class:`~flows.sources.fetch.global_limits.PrefectHostLimits` (every process)."""

    def slot(self, host: str) -> AbstractContextManager[None]: ...

    def set_delay(self, host: str, delay: float) -> None: ...


class HostLimiter:
    """At most ``limit`` requests per host at a time, starting at least ``delay`` s apart."""

    def __init__(self, limit: int, delay: float) -> None:
        self.limit, self.delay = limit, delay
        self._hosts: dict[str, _HostState] = {}
        self._lock = threading.Lock()

    def _state(self, host: str) -> _HostState:
        with self._lock:
            st = self._hosts.get(host)
            if st is None:
                st = self._hosts[host] = _HostState(self.limit)
            return st

    def set_delay(self, host: str, delay: float) -> None:
        self._state(host).delay = delay

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        st = self._state(host)
        st.slots.acquire()
        try:
            delay = max(self.delay, st.delay or 0.0)
            with st.lock:
                now = time.monotonic()
                start = max(now, st.next_at)
                st.next_at = start + delay
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            st.slots.release()


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def user_agent(settings: Settings) -> str:
    ua = settings.user_agent.strip()
    if settings.contact.strip():
        ua = f"{ua} (contact: {settings.contact.strip()})"
    return ua


def robots_token(settings: Settings) -> str:
    """The product token robots.txt groups are matched against ("newsdigest")."""
    return re.split(r"[/\s]", settings.user_agent.strip(), maxsplit=1)[0] or "newsdigest"
