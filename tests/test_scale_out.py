"""Scaling out: the fetch tasks on Dask workers (prefect-dask), and two ingests at once
against one PostgreSQL database storing every article exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.sources.fetch import reset_fetcher
from storage import repo
from storage.engine import session
from tests.feed_farm import serve_feeds

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(900)


def test_fetch_tasks_run_on_dask_workers(
    prefect_harness, server, settings_env, sqlite_url, tmp_path, dask_cluster
):
    from distributed import Client, get_task_stream

    from flows.pipeline import ingest
    from flows.runners import make_task_runner

    opml = serve_feeds(server, 40, tmp_path)
    settings_env(
        ALLOW_PRIVATE_HOSTS="1",
        PER_HOST_DELAY_SECONDS="0",
        FEEDS_PER_TASK="5",
        TASK_RUNNER="dask",
        DASK_ADDRESS=dask_cluster.scheduler_address,
    )
    from digest.settings import get_settings

    runner = make_task_runner(get_settings())
    assert type(runner).__name__ == "DaskTaskRunner"
    reset_fetcher()
    with Client(dask_cluster.scheduler_address) as client, get_task_stream(client) as stream:
        report = ingest.with_options(task_runner=runner)(sources=[str(opml)], db_url=sqlite_url)
    assert report.new == 40 and report.ok_sources == 40
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == 40
    # 40 feeds, 5 a task: 8 load tasks, each run on a worker of the cluster.
    assert len(stream.data) >= 8, [t["key"] for t in stream.data]
    workers = {t["worker"] for t in stream.data}
    assert workers and workers <= set(dask_cluster.scheduler_info["workers"])
    reset_fetcher()


def test_two_ingests_at_once_on_postgres_store_each_article_once(
    prefect_harness, server, postgres_url, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    opml = serve_feeds(server, 60, tmp_path)
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "NEWSDIGEST_ALLOW_PRIVATE_HOSTS": "1",
        "NEWSDIGEST_PER_HOST_DELAY_SECONDS": "0",
        "NEWSDIGEST_FEEDS_PER_TASK": "7",
    }
    cmd = [
        sys.executable,
        "-c",
        "from flows.cli import main; main()",
        "ingest",
        "--source",
        str(opml),
        "--db",
        postgres_url,
    ]
    procs = [
        subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
    new = [int(re.search(r"ingested: new (\d+)", out).group(1)) for out, _ in outputs]
    with session(postgres_url) as s:
        assert repo.count_articles(s) == 60
    assert sum(new) == 60, new  # each article counted new by exactly one of the two runs
