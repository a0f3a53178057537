"""Per-host politeness across processes: Prefect global concurrency limits.

:class:`~flows.sources.fetch.politeness.HostLimiter` holds the per-host limits inside one
process. When fetching runs on several processes (Dask workers, two ingests at once), each
request to host H also takes, from the Prefect server every process talks to:

- a slot of the concurrency limit ``newsdigest-host:H`` (limit ``per_host_concurrency``),
  held with a lease while the request runs and released after it: at most that many
  requests to H at a time, over every process;
- when a delay applies (``per_host_delay_seconds``, or a larger robots.txt Crawl-delay), a
  slot of the rate limit ``newsdigest-host-rate:H`` (limit 1, ``slot_decay_per_second`` =
  1 / delay): the server grants one such slot per delay, so the requests to H start at least
  the delay apart, over every process.

The limits are created by the first process that needs them, with the settings' values; an
existing limit stricter than the settings (an operator's ``prefect gcl update``) is kept, a
looser one is tightened to the settings (see ``prefect gcl ls``).

The process's own :class:`HostLimiter` stays in front (a request waits for it first), so
nothing is looser than before. When the Prefect API cannot be reached or answers an error,
the process warns once and goes on with its own limits, asking the API again after
``API_RETRY_SECONDS``; a request never fails or hangs because of the API (each call is cut
at ``API_TIMEOUT_SECONDS``, transient errors tried again after ``API_RETRY_PAUSES``).

The Prefect API used is the one of the task that fetches (:func:`bind_api`, called by the
load task in its run context: Dask workers receive the flow's settings with the task, and the
fetch threads have no run context of their own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from digest.settings import Settings
from flows.sources.fetch.deadline import DEADLINE_FACTOR, RequestStopped, stop_wait
from flows.sources.fetch.politeness import HostLimiter

log = logging.getLogger("newsdigest.fetch")

CONCURRENCY_PREFIX = "newsdigest-host:"
RATE_PREFIX = "newsdigest-host-rate:"
API_TIMEOUT_SECONDS = 10.0
# A busy server answers 503 (e.g. its SQLite database locked), 502/504 through a proxy, or
# drops a connection: each call is tried again after these pauses before giving up.
API_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# After the API failed, this process uses its own limits only for this long.
API_RETRY_SECONDS = 60.0
# Prefect's lease bounds (a lease outlives a request: requests end at their deadline).
MIN_LEASE_SECONDS = 60.0
LEASE_MARGIN_SECONDS = 30.0
# Waiting for a full limit (HTTP 423): the server's Retry-After, within bounds. Its value
# for a concurrency limit follows the slots' average occupancy (2 s until learnt, far longer
# than a request), so a full host limit is asked again at least every CONCURRENCY_POLL_SECONDS
# (one thread per host and process asks). A rate limit is never asked sooner than its delay:
# a denied attempt restarts the server's decay clock.
MIN_WAIT_SECONDS = 0.05
CONCURRENCY_POLL_SECONDS = 0.25
MAX_WAIT_SECONDS = 5.0

_bound_api: str | None = None
_warned_unbound = False


def bind_api(url: str | None = None) -> str | None:
    """Remember the Prefect API of the current run context for this process's host limits
    (the load task calls this; fetch threads read it). Returns the URL bound."""
    global _bound_api
    if url is None:
        try:
            from prefect.settings import get_current_settings

            url = get_current_settings().api.url
            if not url:
                # No server configured: Prefect's temporary server of this process, if
                # one runs (its database is PREFECT_HOME's, shared by the processes).
                from prefect.server.api.server import SubprocessASGIServer

                temporary = SubprocessASGIServer._instances.get(None)
                if temporary is not None and temporary.running:
                    url = temporary.api_url
        except Exception:  # no Prefect settings: local limits only
            url = None
    _bound_api = url or None
    if _bound_api is None:
        global _warned_unbound
        if not _warned_unbound:
            _warned_unbound = True
            _warn(
                "per-host limits hold per process only: no Prefect server is configured "
                "(PREFECT_API_URL) for the limits across processes (NEWSDIGEST_HOST_LIMITS)"
            )
    return _bound_api


def bound_api() -> str | None:
    return _bound_api


def wants_global(settings: Settings) -> bool:
    """Whether ``host_limits`` asks for Prefect limits (they apply when an API is bound)."""
    mode = settings.host_limits
    return mode == "prefect" or (mode == "auto" and settings.task_runner == "dask")


def limit_names(host: str) -> tuple[str, str]:
    """The concurrency and rate limit names of a host (``host[:port]``, lower case)."""
    host = host.rsplit("@", 1)[-1].lower()
    for ch in "/%&><":  # characters Prefect refuses in names
        host = host.replace(ch, "_")
    return CONCURRENCY_PREFIX + host, RATE_PREFIX + host


def make_host_limiter(settings: Settings):
    """The per-host limiter of a fetcher: Prefect-wide or this process's own."""
    if wants_global(settings):
        return PrefectHostLimits(settings)
    return HostLimiter(settings.per_host_concurrency, settings.per_host_delay_seconds)


class _ApiDown(Exception):
    """The API failed a moment ago (this process uses its own limits for a while)."""


class PrefectHostLimits:
    """Per-host limits held across processes by Prefect global concurrency limits, in front
    of this process's :class:`HostLimiter` (same ``slot`` / ``set_delay`` interface)."""

    def __init__(self, settings: Settings, api_url: str | None = None) -> None:
        self.local = HostLimiter(settings.per_host_concurrency, settings.per_host_delay_seconds)
        self.limit = max(1, settings.per_host_concurrency)
        self.delay = max(0.0, settings.per_host_delay_seconds)
        self.lease_seconds = max(
            MIN_LEASE_SECONDS,
            settings.http_timeout_seconds * DEADLINE_FACTOR + LEASE_MARGIN_SECONDS,
        )
        self._api_url = api_url  # fixed (tests); else the one bound by the load task
        self._delays: dict[str, float] = {}
        self._ensured: dict[tuple[str, str], float] = {}  # (api, host) -> delay ensured
        self._clients: dict[str, tuple[Any, Any]] = {}  # api -> (client, settings context)
        self._lock = threading.Lock()
        # One acquisition in flight per host in this process (as Prefect's own concurrency
        # service does): the others wait here, not in the server's queue.
        self._host_locks: dict[str, threading.Lock] = {}
        # One API call at a time from this process: a server on SQLite answers concurrent
        # writes slowly, then 503 (measured: 8 threads at once, 0.7 s a call instead of 20 ms).
        self._api_lock = threading.Lock()
        self._connected = False
        self._down_until = 0.0
        self._warned = False
        self.api_calls = 0  # for tests and the bench

    # the HostLimiter interface -----------------------------------------------------------

    def set_delay(self, host: str, delay: float) -> None:
        self.local.set_delay(host, delay)
        with self._lock:
            self._delays[host] = delay

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self.local.slot(host):
            lease = self._acquire(host)
            try:
                yield
            finally:
                if lease is not None:
                    self._release(*lease)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client, _ in clients:
            with suppress(Exception):
                client.__exit__(None, None, None)

    # the Prefect side ------------------------------------------------------------------

    def api_url(self) -> str | None:
        return self._api_url or _bound_api

    def _client(self, api: str):
        with self._lock:
            found = self._clients.get(api)
        if found:
            return found
        import httpx
        from prefect.client.orchestration import get_client
        from prefect.context import SettingsContext, get_settings_context
        from prefect.settings import (
            PREFECT_API_REQUEST_TIMEOUT,
            PREFECT_API_URL,
            PREFECT_CLIENT_MAX_RETRIES,
        )

        base = get_settings_context()
        settings = base.settings.copy_with_update(
            updates={
                PREFECT_API_URL: api,
                PREFECT_CLIENT_MAX_RETRIES: 0,  # retried here, with short pauses
                PREFECT_API_REQUEST_TIMEOUT: API_TIMEOUT_SECONDS,
            }
        )

        def context():
            return SettingsContext(profile=base.profile, settings=settings)

        with context():
            client = get_client(
                httpx_settings={"timeout": httpx.Timeout(API_TIMEOUT_SECONDS)}, sync_client=True
            )
            client.__enter__()
        with self._lock:
            self._clients.setdefault(api, (client, context))
            return self._clients[api]

    def _acquire(self, host: str) -> tuple[str, Any, str] | None:
        """Take the host's Prefect slots: (api, lease id, host), or None (local limits only)."""
        api = self.api_url()
        if api is None or time.monotonic() < self._down_until:
            return None
        conc, rate = limit_names(host)
        lease_id = None
        with self._lock:
            host_lock = self._host_locks.setdefault(host, threading.Lock())
        try:
            client, context = self._client(api)
            with host_lock, context():
                delay = self._ensure(client, api, host)
                response = self._take(
                    lambda: client.increment_concurrency_slots_with_lease(
                        names=[conc],
                        slots=1,
                        mode="concurrency",
                        lease_duration=self.lease_seconds,
                    ),
                    MIN_WAIT_SECONDS,
                    CONCURRENCY_POLL_SECONDS,
                )
                data = response.json()
                lease_id = data.get("lease_id") if data.get("limits") else None
                if delay > 0:
                    self._take(
                        lambda: client.increment_concurrency_slots(
                            names=[rate], slots=1, mode="rate_limit"
                        ),
                        delay,
                        max(MAX_WAIT_SECONDS, 2 * delay),
                    )
            return (api, lease_id, host) if lease_id else None
        except RequestStopped:
            if lease_id:
                self._release(api, lease_id, host)
            raise
        except _ApiDown:
            return None
        except Exception as exc:
            if lease_id:
                self._release(api, lease_id, host)
            self._degrade(api, exc)
            return None

    def _call(self, call):
        """One API call, tried again after a transient error (see ``API_RETRY_PAUSES``)."""
        import httpx
        from prefect.exceptions import PrefectHTTPStatusError

        for pause in (*API_RETRY_PAUSES, None):
            try:
                with self._api_lock:
                    if time.monotonic() < self._down_until:
                        raise _ApiDown()  # another thread just found the API failing
                    self.api_calls += 1
                    result = call()
                self._connected = True
                return result
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code not in TRANSIENT_STATUSES or pause is None:
                    raise
            except httpx.TimeoutException:
                raise  # no answer within API_TIMEOUT_SECONDS: not worth waiting again
            except httpx.TransportError as exc:
                # Nothing listening where it never answered: a wrong URL, not a restart.
                never = isinstance(exc, httpx.ConnectError) and not self._connected
                if pause is None or never:
                    raise
            if stop_wait(pause):
                raise RequestStopped() from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, call, low: float, high: float):
        """One acquisition, waiting while the limit is full (HTTP 423 + Retry-After, kept
        within ``low`` and ``high`` seconds)."""
        from prefect.exceptions import PrefectHTTPStatusError

        while True:
            try:
                return self._call(call)
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != 423:
                    raise
                try:
                    wait = float(exc.response.headers.get("Retry-After", "1"))
                except ValueError:
                    wait = 1.0
                if stop_wait(min(high, max(low, wait))):
                    raise RequestStopped() from None

    def _release(self, api: str, lease_id: str, host: str) -> None:
        try:
            client, context = self._client(api)
            with context():
                self._call(lambda: client.release_concurrency_slots_with_lease(lease_id))
        except _ApiDown:
            pass  # the lease expires on the server by itself
        except Exception as exc:
            self._degrade(api, exc)

    def _ensure(self, client, api: str, host: str) -> float:
        """Create (or tighten) the host's limits once per process; returns the delay."""
        with self._lock:
            delay = max(self.delay, self._delays.get(host, 0.0))
            if self._ensured.get((api, host)) == delay:
                return delay
        conc, rate = limit_names(host)
        self._upsert(client, conc, self.limit, 0.0)
        if delay > 0:
            self._upsert(client, rate, 1, 1.0 / delay)
        with self._lock:
            self._ensured[(api, host)] = delay
        return delay

    def _upsert(self, client, name: str, limit: int, decay: float) -> None:
        from prefect.client.schemas.actions import (
            GlobalConcurrencyLimitCreate,
            GlobalConcurrencyLimitUpdate,
        )
        from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

        try:
            have = self._call(lambda: client.read_global_concurrency_limit_by_name(name))
        except ObjectNotFound:
            create = GlobalConcurrencyLimitCreate(
                name=name, limit=limit, slot_decay_per_second=decay
            )
            try:
                self._call(lambda: client.create_global_concurrency_limit(create))
                return
            except ObjectAlreadyExists:  # another process created it just now
                have = self._call(lambda: client.read_global_concurrency_limit_by_name(name))
        update: dict[str, Any] = {}
        if have.limit > limit:
            update["limit"] = limit
        if decay > 0 and not 0 < have.slot_decay_per_second <= decay:
            update["slot_decay_per_second"] = decay
        if update:
            change = GlobalConcurrencyLimitUpdate(**update)
            self._call(lambda: client.update_global_concurrency_limit(name, change))

    def _degrade(self, api: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + API_RETRY_SECONDS
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        with self._lock:
            first, self._warned = not self._warned, True
            found = self._clients.pop(api, None)
        if found:
            with suppress(Exception):
                found[0].__exit__(None, None, None)
        if first:
            _warn(
                f"per-host limits: the Prefect API at {api} failed ({reason}); fetching goes "
                f"on with this process's own limits (asking the API again every "
                f"{API_RETRY_SECONDS:.0f} s)"
            )
        else:
            log.info("per-host limits: the Prefect API failed again (%s)", reason)


def _warn(message: str) -> None:
    try:
        from prefect import get_run_logger

        get_run_logger().warning(message)
    except Exception:
        log.warning(message)
