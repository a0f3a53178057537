"""Thousands of feeds through the ``ingest`` flow: one OPML file of N small feeds (each with
one article page) served on 127.0.0.1, ingested under a temporary Prefect server as the CLI
does. Prints the wall time, the articles stored and the Prefect task runs the flow made, for
feeds batched per task (NEWSDIGEST_FEEDS_PER_TASK, default 20) and, as the baseline in the
same run, one feed per task (the layout before batching).

    .venv/bin/python bench/feeds.py            # 2,000 feeds
    .venv/bin/python bench/feeds.py --feeds 500 --no-baseline
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


def run_once(opml: Path, feeds_per_task: int, workdir: Path) -> dict:
    from digest.settings import get_settings
    from flows.pipeline import ingest
    from flows.sources.fetch import reset_fetcher
    from storage import repo
    from storage.engine import session
    from tests.feed_farm import count_task_runs

    os.environ["NEWSDIGEST_FEEDS_PER_TASK"] = str(feeds_per_task)
    get_settings.cache_clear()
    reset_fetcher()
    db = f"sqlite:///{workdir / f'feeds-{feeds_per_task}.db'}"
    started = time.perf_counter()
    state = ingest(sources=[str(opml)], db_url=db, return_state=True)
    elapsed = time.perf_counter() - started
    report = state.result(raise_on_failure=False)
    tasks = count_task_runs(state.state_details.flow_run_id)
    with session(db) as s:
        stored = repo.count_articles(s)
    return {
        "state": state.type.value,
        "seconds": elapsed,
        "stored": stored,
        "failed sources": len(report.failed_sources) if hasattr(report, "failed_sources") else "?",
        "task runs": sum(tasks.values()),
        "by task": tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=20)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    from tests.feed_farm import serve_feeds
    from tests.web_server import FixtureServer

    os.environ.update(
        NEWSDIGEST_ALLOW_PRIVATE_HOSTS="1",
        NEWSDIGEST_PER_HOST_DELAY_SECONDS="0",
        NEWSDIGEST_PER_HOST_CONCURRENCY="8",
        NEWSDIGEST_HTTP_RETRIES="1",
    )
    with tempfile.TemporaryDirectory(prefix="newsdigest-feeds-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        server = FixtureServer().start()
        try:
            opml = serve_feeds(server, args.feeds, Path(tmp))
            layouts = [args.per_task] + ([] if args.no_baseline else [1])
            for per_task in layouts:
                r = run_once(opml, per_task, Path(tmp))
                label = f"{per_task} feed{'s' if per_task > 1 else ''} per task"
                print(
                    f"{args.feeds} feeds, {label}: {r['state']} in {r['seconds']:.0f} s, "
                    f"{r['stored']} articles stored, {r['failed sources']} sources failed, "
                    f"{r['task runs']} Prefect task runs {r['by task']}",
                    flush=True,
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
