"""Hundreds of feeds in one OPML file: batched per task, every article stored (the 2,000-feed
run with its numbers is bench/feeds.py)."""

from __future__ import annotations

import math

import pytest

from flows.sources.fetch import reset_fetcher
from storage import repo
from storage.engine import session
from tests.feed_farm import count_task_runs, serve_feeds

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]
FEEDS = 300
PER_TASK = 20


def test_an_opml_of_300_feeds_makes_a_few_tasks_and_stores_everything(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    from flows.pipeline import ingest

    opml = serve_feeds(server, FEEDS, tmp_path)
    settings_env(
        ALLOW_PRIVATE_HOSTS="1",
        PER_HOST_DELAY_SECONDS="0",
        PER_HOST_CONCURRENCY="8",
        FEEDS_PER_TASK=str(PER_TASK),
    )
    reset_fetcher()
    state = ingest(sources=[str(opml)], db_url=sqlite_url, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert report.new == FEEDS and report.ok_sources == FEEDS and not report.failed_sources
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == FEEDS
    tasks = count_task_runs(state.state_details.flow_run_id)
    batches = math.ceil(FEEDS / PER_TASK)
    print(f"{FEEDS} feeds: {sum(tasks.values())} Prefect task runs {tasks}")
    # A web job stores its own articles batch by batch: no store task per batch.
    assert tasks.get("load-web") == batches and "store" not in tasks
    assert sum(tasks.values()) == batches + 1  # + the source-health task
    assert sum(tasks.values()) <= 2 * batches + 1
    reset_fetcher()
