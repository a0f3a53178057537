"""The same ingest workload with the default task runner (threads in the flow's process) and
with a local Dask cluster of 2 worker processes (NEWSDIGEST_TASK_RUNNER=dask): N small feeds
(one article page each) served on 127.0.0.1, fetched, extracted and stored into a fresh SQLite
file each time. Prints both wall times.

    .venv/bin/python bench/parallel.py              # 400 feeds
    .venv/bin/python bench/parallel.py --feeds 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def run_once(opml: Path, runner_name: str, workdir: Path) -> tuple[float, int, str]:
    from digest.settings import get_settings
    from flows.pipeline import ingest
    from flows.runners import make_task_runner
    from flows.sources.fetch import reset_fetcher
    from storage import repo
    from storage.engine import session

    os.environ["NEWSDIGEST_TASK_RUNNER"] = runner_name
    get_settings.cache_clear()
    reset_fetcher()
    db = f"sqlite:///{workdir / f'parallel-{runner_name}.db'}"
    runner = make_task_runner(get_settings())
    started = time.perf_counter()
    state = ingest.with_options(task_runner=runner)(
        sources=[str(opml)], db_url=db, return_state=True
    )
    elapsed = time.perf_counter() - started
    with session(db) as s:
        stored = repo.count_articles(s)
    return elapsed, stored, state.type.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=400)
    args = parser.parse_args()

    from tests.feed_farm import serve_feeds
    from tests.web_server import FixtureServer

    os.environ.update(
        NEWSDIGEST_ALLOW_PRIVATE_HOSTS="1",
        NEWSDIGEST_PER_HOST_DELAY_SECONDS="0",
        NEWSDIGEST_PER_HOST_CONCURRENCY="8",
        NEWSDIGEST_DASK_WORKERS="2",
        NEWSDIGEST_FEEDS_PER_TASK="20",
    )
    with tempfile.TemporaryDirectory(prefix="newsdigest-parallel-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        server = FixtureServer().start()
        try:
            opml = serve_feeds(server, args.feeds, Path(tmp))
            for name, label in (
                ("default", "default task runner (threads)"),
                ("dask", "Dask LocalCluster, 2 workers"),
            ):
                seconds, stored, state = run_once(opml, name, Path(tmp))
                print(
                    f"{args.feeds} feeds, {label}: {state} in {seconds:.1f} s, "
                    f"{stored} articles stored",
                    flush=True,
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
