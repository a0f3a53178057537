"""Per-host politeness across processes: Prefect global concurrency limits per host.

The HTTP server records when each request starts and ends; politeness means that, for one
host, at most ``per_host_concurrency`` requests overlap and (with a delay) starts are at least
``per_host_delay_seconds`` apart, whichever process sends them.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time

import pytest

from digest.settings import Settings
from flows.sources.fetch import Fetcher, HostLimiter, reset_fetcher
from flows.sources.fetch.global_limits import (
    API_RETRY_PAUSES,
    PrefectHostLimits,
    limit_names,
    make_host_limiter,
)
from storage import repo
from storage.engine import session
from tests.feed_farm import serve_feeds
from tests.web_server import FixtureServer

pytestmark = pytest.mark.timeout(600)

# Seconds a request to the test server takes, the delay asked between two starts, and what
# a start may lose to the latency of the Prefect API's answer (the server grants the rate
# slots DELAY apart; the request starts when the grant arrives).
REQUEST_SECONDS = 0.25
DELAY = 0.6
LATENCY_TOLERANCE = 0.15


def max_overlap(timeline: list[tuple[str, float, float]]) -> int:
    """The most requests in flight at one moment."""
    events = sorted([(s, 1) for _, s, _ in timeline] + [(e, -1) for _, _, e in timeline])
    now = best = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def start_gaps(timeline: list[tuple[str, float, float]]) -> list[float]:
    starts = sorted(s for _, s, _ in timeline)
    return [b - a for a, b in itertools.pairwise(starts)]


def _settings(**kw) -> Settings:
    base = dict(
        allow_private_hosts=True,
        per_host_concurrency=1,
        per_host_delay_seconds=0.0,
        http_retries=0,
        http_timeout_seconds=10.0,
    )
    return Settings(**{**base, **kw})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pages(srv: FixtureServer, n: int) -> list[str]:
    srv.add("/robots.txt", body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    return [
        srv.add(f"/page/{i}", body=f"<html><body><p>page {i}</p></body></html>".encode())
        for i in range(n)
    ]


def _fetch_all(fetchers: list[Fetcher], urls: list[str]) -> list[BaseException]:
    """Each fetcher (a process of its own, as far as its limits know) fetches its share of
    the URLs from two threads at once."""
    errors: list[BaseException] = []

    def run(fetcher: Fetcher, mine: list[str]) -> None:
        for url in mine:
            try:
                fetcher.get(url)
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)

    threads = []
    per = len(fetchers) * 2
    for i, fetcher in enumerate(fetchers):
        for j in range(2):
            share = urls[(i * 2 + j) :: per]
            threads.append(threading.Thread(target=run, args=(fetcher, share)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_the_default_runner_keeps_local_limits_dask_or_prefect_take_global_ones():
    assert isinstance(make_host_limiter(_settings()), HostLimiter)
    assert isinstance(make_host_limiter(_settings(task_runner="dask")), PrefectHostLimits)
    assert isinstance(make_host_limiter(_settings(host_limits="prefect")), PrefectHostLimits)
    local = make_host_limiter(_settings(task_runner="dask", host_limits="local"))
    assert isinstance(local, HostLimiter)
    assert limit_names("User@News.Example:8080") == (
        "newsdigest-host:news.example:8080",
        "newsdigest-host-rate:news.example:8080",
    )


@pytest.mark.parametrize("api", ["closed port", "answers errors", "never answers"])
def test_an_unusable_prefect_api_degrades_to_local_limits_with_one_warning(api, monkeypatch):
    """The API down (nothing listening), broken (404 to everything) or hung (connections
    accepted, never answered): every request is still fetched, one warning says so, the API
    is not asked again for each request, and the process's own limits still hold (no overlap
    with concurrency 1)."""
    from flows.sources.fetch import global_limits

    monkeypatch.setattr(global_limits, "API_TIMEOUT_SECONDS", 1.0)
    srv = FixtureServer().start()
    broken = FixtureServer().start() if api == "answers errors" else None
    hung = socket.socket() if api == "never answers" else None
    if hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)  # the kernel accepts; nobody reads or answers
    try:
        urls = _pages(srv, 6)
        for path in list(srv.routes):
            if path.startswith("/page/"):
                srv.routes[path].delay = 0.05
        if broken:
            api_url = f"{broken.base}/api"
        elif hung:
            api_url = f"http://127.0.0.1:{hung.getsockname()[1]}/api"
        else:
            api_url = f"http://127.0.0.1:{_closed_port()}/api"
        settings = _settings(host_limits="prefect")
        limits = PrefectHostLimits(settings, api_url=api_url)
        fetcher = Fetcher(settings, limiter=limits)
        records: list[logging.LogRecord] = []
        handler = logging.Handler(logging.INFO)
        handler.emit = records.append
        logger = logging.getLogger("newsdigest.fetch")  # Prefect's logging: no propagation
        logger.addHandler(handler)
        started = time.monotonic()
        try:
            errors = _fetch_all([fetcher], urls)
        finally:
            logger.removeHandler(handler)
        elapsed = time.monotonic() - started
        fetcher.close()
    finally:
        srv.stop()
        if broken:
            broken.stop()
        if hung:
            hung.close()
    assert errors == []
    assert {p for p, _, _ in srv.timeline} >= {f"/page/{i}" for i in range(6)}
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "own limits" in warnings[0].getMessage() and api_url in warnings[0].getMessage()
    # One call (robots.txt's request, with its retries), not one per request.
    assert limits.api_calls <= len(API_RETRY_PAUSES) + 1
    assert elapsed < 10
    assert max_overlap(srv.timeline) == 1


def test_two_limiters_share_one_hosts_limits_on_a_prefect_server(prefect_harness):
    """Two fetchers with limits of their own (as two processes have) against one Prefect
    server: one request at a time to the host in all, starts DELAY apart; the limits exist on
    the server with the settings' values. The counter-test: the same two fetchers with local
    limits only overlap and start closer than DELAY."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    settings = _settings(host_limits="prefect", per_host_delay_seconds=DELAY)

    def run(global_limits: bool) -> list[tuple[str, float, float]]:
        srv = FixtureServer().start()
        try:
            urls = _pages(srv, 8)
            for path in list(srv.routes):
                srv.routes[path].delay = REQUEST_SECONDS
            fetchers = [
                Fetcher(
                    settings,
                    limiter=PrefectHostLimits(settings, api_url=api_url)
                    if global_limits
                    else HostLimiter(1, DELAY),
                )
                for _ in range(2)
            ]
            assert _fetch_all(fetchers, urls) == []
            for f in fetchers:
                f.close()
            host = srv.base.removeprefix("http://")
            return list(srv.timeline), host
        finally:
            srv.stop()

    timeline, host = run(global_limits=True)
    assert len(timeline) == 10  # 8 pages + robots.txt fetched by each fetcher
    assert max_overlap(timeline) == 1
    assert min(start_gaps(timeline)) >= DELAY - LATENCY_TOLERANCE, start_gaps(timeline)
    conc, rate = limit_names(host)
    with get_client(sync_client=True) as client:
        c = client.read_global_concurrency_limit_by_name(conc)
        r = client.read_global_concurrency_limit_by_name(rate)
    assert (c.limit, c.slot_decay_per_second) == (1, 0.0)
    assert (r.limit, r.slot_decay_per_second) == (1, pytest.approx(1 / DELAY))
    assert c.active_slots == 0  # every lease released

    local, _ = run(global_limits=False)
    assert max_overlap(local) == 2 or min(start_gaps(local)) < DELAY - LATENCY_TOLERANCE


@pytest.mark.e2e  # ~40 s: a Dask cluster and two ingest runs
def test_dask_workers_share_each_hosts_limits(
    prefect_harness, settings_env, tmp_path, dask_cluster
):
    """The ingest flow on a Dask cluster of 2 worker processes (NEWSDIGEST_TASK_RUNNER=dask),
    8 feeds of one host split 2 per task: with the Prefect limits (the default for dask) the
    host never sees two requests at once and the starts are DELAY apart, every article
    stored. Counter-test, same cluster and feeds: with NEWSDIGEST_HOST_LIMITS=local each
    worker keeps only its own limits, and the two workers' requests overlap or start closer
    than DELAY (what the global limits prevent)."""
    from distributed import Client, get_task_stream

    from digest.settings import get_settings
    from flows.pipeline import ingest
    from flows.runners import make_task_runner

    srv = FixtureServer().start()
    try:
        srv.add("/robots.txt", body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
        opml = serve_feeds(srv, 8, tmp_path)
        for route in srv.routes.values():
            route.delay = REQUEST_SECONDS

        def run(host_limits: str):
            settings_env(
                ALLOW_PRIVATE_HOSTS="1",
                PER_HOST_CONCURRENCY="1",
                PER_HOST_DELAY_SECONDS=str(DELAY),
                HTTP_RETRIES="0",
                FEEDS_PER_TASK="2",
                TASK_RUNNER="dask",
                DASK_ADDRESS=dask_cluster.scheduler_address,
                HOST_LIMITS=host_limits,
            )
            srv.reset_counts()
            reset_fetcher()
            db = f"sqlite:///{tmp_path / f'{host_limits}.db'}"
            runner = make_task_runner(get_settings())
            with Client(dask_cluster.scheduler_address) as c, get_task_stream(c) as stream:
                report = ingest.with_options(task_runner=runner)(sources=[str(opml)], db_url=db)
            with session(db) as s:
                stored = repo.count_articles(s)
            workers = {t["worker"] for t in stream.data}
            return report, stored, workers, list(srv.timeline)

        report, stored, workers, timeline = run("auto")
        assert (report.new, report.ok_sources, stored) == (8, 8, 8)
        assert len(workers) == 2  # the tasks ran on both worker processes
        assert len(timeline) >= 17  # 8 feeds + 8 pages + robots.txt (once per worker)
        assert max_overlap(timeline) == 1
        assert min(start_gaps(timeline)) >= DELAY - LATENCY_TOLERANCE, start_gaps(timeline)

        report, stored, workers, local = run("local")
        assert stored == 8 and len(workers) == 2
        assert max_overlap(local) >= 2 or min(start_gaps(local)) < DELAY - LATENCY_TOLERANCE, (
            start_gaps(local)
        )
    finally:
        srv.stop()
        reset_fetcher()


def test_a_stricter_limit_on_the_server_is_kept_a_looser_one_tightened(prefect_harness):
    """An operator's `prefect gcl update` that makes a host stricter survives the next run;
    a limit looser than the settings is tightened to them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_API_URL

    srv = FixtureServer().start()
    try:
        urls = _pages(srv, 2)
        conc, rate = limit_names(srv.base.removeprefix("http://"))
        with get_client(sync_client=True) as client:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=conc, limit=5))
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=rate, limit=1, slot_decay_per_second=0.5)
            )
        settings = _settings(
            host_limits="prefect", per_host_concurrency=2, per_host_delay_seconds=0.1
        )
        fetcher = Fetcher(settings, limiter=PrefectHostLimits(settings, PREFECT_API_URL.value()))
        for url in urls:
            fetcher.get(url)
        fetcher.close()
        with get_client(sync_client=True) as client:
            c = client.read_global_concurrency_limit_by_name(conc)
            r = client.read_global_concurrency_limit_by_name(rate)
    finally:
        srv.stop()
    assert c.limit == 2  # 5 was looser than the settings' 2
    assert r.slot_decay_per_second == pytest.approx(0.5)  # 2 s apart: stricter than 0.1 s
    # the stricter delay was obeyed: robots.txt and two pages, 2 s apart
    gaps = start_gaps(srv.timeline)
    assert len(gaps) == 2 and min(gaps) >= 2 - LATENCY_TOLERANCE, gaps
