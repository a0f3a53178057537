"""The feed farm shared by bench/feeds.py and bench/parallel.py: N small feeds (one article
page each, tests/feed_farm.py) served on 127.0.0.1, a private PREFECT_HOME, fetch settings
for a local farm, and a fresh SQLite file per run."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.web_server import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

# Fetching a local farm: private addresses allowed, no delay between requests to the one host.
FARM_ENV = {
    "NEWSDIGEST_ALLOW_PRIVATE_HOSTS": "1",
    "NEWSDIGEST_PER_HOST_DELAY_SECONDS": "0",
    "NEWSDIGEST_PER_HOST_CONCURRENCY": "8",
}


@contextmanager
def feed_farm(n: int, prefix: str, **env: str) -> Iterator[tuple[Path, Path, FixtureServer]]:
    """Serve ``n`` feeds; yields (OPML file, a temporary folder, the server).
    ``env``: NEWSDIGEST_* values for every run, on top of :data:`FARM_ENV`."""
    from tests.feed_farm import serve_feeds
    from tests.web_server import FixtureServer

    os.environ.update({**FARM_ENV, **env})
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        server = FixtureServer().start()
        try:
            opml = serve_feeds(server, n, Path(tmp))
            yield opml, Path(tmp), server
        finally:
            server.stop()


def fresh_run(workdir: Path, name: str, **env: str) -> str:
    """Set NEWSDIGEST_* ``env`` for the next run, forget cached settings and the shared HTTP
    client; returns the URL of a new SQLite file for the run."""
    from digest.settings import get_settings
    from flows.sources.fetch import reset_fetcher

    os.environ.update(env)
    get_settings.cache_clear()
    reset_fetcher()
    return f"sqlite:///{workdir / f'{name}.db'}"


def count_articles(db_url: str) -> int:
    from storage import repo
    from storage.engine import session

    with session(db_url) as s:
        return repo.count_articles(s)


@contextmanager
def prefect_server() -> Iterator[str]:
    """A Prefect server of its own (a subprocess on a free port, its own database under
    PREFECT_HOME) set as PREFECT_API_URL while the context lasts, as a deployment has: every
    process of a run, Dask workers too, talks to it. Yields its API URL."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=120)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        server.stop()
