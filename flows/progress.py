"""Progress of fetching: process-wide counters the web sources advance, and the rich
progress bar the command line draws from them (only on a terminal, only for long ingests)."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["PROGRESS_MIN_URLS", "Progress", "fetch_progress", "progress"]

log = logging.getLogger("newsdigest.web")

# Below this many URLs an ingest is quick: no bar.
PROGRESS_MIN_URLS = 10


class Progress:
    """Process-wide counters of URLs to fetch and fetched; listeners get (done, total, label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.done = 0
        self.listeners: list[Callable[[int, int, str], None]] = []

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n
            done, total = self.done, self.total
        self._notify(done, total, "")

    def advance(self, label: str = "") -> None:
        with self._lock:
            self.done += 1
            done, total = self.done, self.total
        self._notify(done, total, label)

    def _notify(self, done: int, total: int, label: str) -> None:
        for listener in list(self.listeners):
            try:
                listener(done, total, label)
            except Exception:  # a broken progress display must not break fetching
                log.debug("progress listener failed", exc_info=True)

    def reset(self) -> None:
        with self._lock:
            self.total = self.done = 0


progress = Progress()


@contextmanager
def fetch_progress(min_urls: int = PROGRESS_MIN_URLS) -> Iterator[None]:
    """A rich progress bar on stderr for long ingests (only on a terminal)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("", total=None, visible=False)
    started = threading.Event()

    def update(done: int, total: int, label: str) -> None:
        if total >= min_urls and not started.is_set():
            started.set()
            bar.start()
        if started.is_set():
            bar.update(task, completed=done, total=total, visible=True, description=label[-60:])

    progress.reset()
    progress.listeners.append(update)
    try:
        yield
    finally:
        progress.listeners.remove(update)
        if started.is_set():
            bar.stop()
