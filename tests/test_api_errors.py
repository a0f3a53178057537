"""A transient Prefect API error is retried, not fatal: the ingest flow against a real Prefect
server behind a loopback proxy (tests/api_proxy.py) that answers 503 to chosen requests.

Which requests an ingest run makes (seen through the proxy, Prefect 3.8.8): the flow and flow
run are created, the run's state set twice, logs and the sources artifact posted. Task runs
make none: Prefect 3.8 creates them in the client and reports them as events (a WebSocket
opened once per process), so there is no "POST /api/task_runs/" to fail.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from flows.sources.fetch import reset_fetcher
from storage import repo
from storage.engine import session
from tests.api_proxy import FlakyApiProxy, Rule
from tests.feed_farm import serve_feeds

pytestmark = pytest.mark.timeout(600)

FEEDS = 30


def _ingest_through(proxy: FlakyApiProxy, server, settings_env, db_url, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.pipeline import ingest

    opml = serve_feeds(server, FEEDS, tmp_path)
    settings_env(ALLOW_PRIVATE_HOSTS="1", PER_HOST_DELAY_SECONDS="0", FEEDS_PER_TASK="5")
    reset_fetcher()
    _drain_prefect_workers()
    try:
        with temporary_settings(updates={PREFECT_API_URL: proxy.api_url}):
            try:
                return ingest(sources=[str(opml)], db_url=db_url, return_state=True)
            finally:
                _drain_prefect_workers()
    finally:
        proxy.stop()


def _drain_prefect_workers() -> None:
    """Prefect's events and API log workers are one per process, bound to the API URL of the
    moment they start: stop them before and after the run through the proxy, so the run's
    own go through the proxy and later tests get new ones bound to the test server (a worker
    left bound to the stopped proxy lost every later test's task-run events)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        worker.drain_all(timeout=30)


def _proxy(rules: list[Rule]) -> FlakyApiProxy:
    from prefect.settings import PREFECT_API_URL

    up = urlsplit(PREFECT_API_URL.value())
    return FlakyApiProxy((up.hostname, up.port), rules).start()


def test_503s_from_the_api_are_retried_and_the_run_stores_everything(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    """Two 503s in a row for each write the run makes (flow run creation, both state
    changes, logs, the artifact): the run completes, every article stored, the artifact
    there; the proxy did answer each of those 503s."""
    from prefect.client.orchestration import get_client

    rules = [
        Rule("POST", re.compile(r"^/api/flow_runs/$"), 2),
        Rule("POST", re.compile(r"^/api/flow_runs/[^/]+/set_state$"), 4),
        Rule("POST", re.compile(r"^/api/artifacts/$"), 2),
        Rule("POST", re.compile(r"^/api/logs/$"), 2),
    ]
    proxy = _proxy(rules)
    state = _ingest_through(proxy, server, settings_env, sqlite_url, tmp_path)
    assert state.is_completed(), state.message
    assert state.result().new == FEEDS
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == FEEDS
    injected = proxy.injected()
    assert len(injected) == 10 and all(r.failures == 0 for r in rules), injected
    with get_client(sync_client=True) as client:  # straight to the server
        run = client.read_flow_run(state.state_details.flow_run_id)
        assert run.state.is_completed()
        arts = client.read_artifacts()
    assert any(a.flow_run_id == run.id and a.key == "newsdigest-sources" for a in arts)


def test_an_api_error_beyond_prefects_retries_costs_only_the_artifact(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    """The artifact's request refused more times than Prefect's client retries (5): the
    artifact is lost with a warning, the run still completes with every article stored."""
    rules = [Rule("POST", re.compile(r"^/api/artifacts/$"), 50)]
    proxy = _proxy(rules)
    state = _ingest_through(proxy, server, settings_env, sqlite_url, tmp_path)
    assert state.is_completed(), state.message
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == FEEDS
    assert 2 <= len(proxy.injected()) <= 10  # retried by the client, then given up
