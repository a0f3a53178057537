"""The deadline of one request and the stop of the whole run (SIGTERM), as every network
operation sees them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flows.sources.fetch.errors import FetchError

# One request (connect, TLS, headers and body, redirects excluded) gets this many times
# ``http_timeout_seconds`` in all; each single network operation keeps ``http_timeout_seconds``.
DEADLINE_FACTOR = 2.0
# How often a blocked read looks whether the run is stopping.
STOP_POLL_SECONDS = 0.25

_stopping = threading.Event()
_request = threading.local()


class RequestStopped(FetchError):
    """The run is stopping (SIGTERM): requests in flight end now."""

    def __init__(self) -> None:
        super().__init__("stopped: the run is shutting down")


class DeadlineExceeded(FetchError):
    pass


def stop_fetching() -> None:
    """Make every request in flight, and every later one, end at once (SIGTERM)."""
    _stopping.set()


def resume_fetching() -> None:
    """Undo :func:`stop_fetching` (tests, and a process that goes on after a stop)."""
    _stopping.clear()


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread ends by ``seconds`` from now."""
    previous = getattr(_request, "deadline", None)
    _request.deadline = (time.monotonic() + seconds, seconds)
    try:
        yield
    finally:
        _request.deadline = previous


def operation_budget(timeout: float | None) -> float | None:
    """The time one network operation may take now: its own timeout, cut to what is left of
    the request's deadline; raises when the run stops or the deadline has passed."""
    if _stopping.is_set():
        raise RequestStopped()
    deadline = getattr(_request, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline[0] - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded(
            f"no complete response within {deadline[1]:g} s (the deadline of one request)"
        )
    return left if timeout is None else min(timeout, left)


def stop_wait(seconds: float) -> bool:
    """Wait ``seconds``, or less when the run stops meanwhile; True when it stopped."""
    return _stopping.wait(seconds)
