"""The client: redirects, robots.txt, limits and retries around one request; one per process."""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from digest.settings import Settings
from flows.sources.fetch.address import URL_CONTROLS, check_url
from flows.sources.fetch.body import (
    ACCEPT_ENCODING,
    SNIFF_TYPES,
    BodyDecoder,
    classify_type,
    decode_body,
    sniff_kind,
)
from flows.sources.fetch.deadline import (
    DEADLINE_FACTOR,
    DeadlineExceeded,
    RequestStopped,
    request_deadline,
    resume_fetching,
    stop_wait,
)
from flows.sources.fetch.errors import FetchError, FetchResult
from flows.sources.fetch.politeness import (
    MAX_CRAWL_DELAY_SECONDS,
    ROBOTS_MAX_BYTES,
    HostLimiter,
    HostSlots,
    retry_after_seconds,
    robots_token,
    user_agent,
)
from flows.sources.fetch.robots import CachedRobots, RobotsStore, max_age_seconds
from flows.sources.fetch.transport import guarded_transport, proxy_mounts

log = logging.getLogger("newsdigest.fetch")

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class Fetcher:
    """Thread-safe: one per process, shared by every task (see :func:`get_fetcher`)."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        limiter: HostSlots | None = None,
    ) -> None:
        """``limiter``: where the per-host limits are held (default: this process's own
        :class:`HostLimiter`; :func:`get_fetcher` may give Prefect-wide limits)."""
        self.settings = settings
        headers = {
            "User-Agent": user_agent(settings),
            "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
            "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5",
        }
        if "@" in settings.contact:
            headers["From"] = settings.contact.strip()
        # Only what BodyDecoder can decode in bounded pieces (httpx would add br and zstd).
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        self.client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.http_timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max(1, settings.max_concurrency),
                max_keepalive_connections=max(1, settings.max_concurrency),
            ),
            transport=transport or guarded_transport(settings),
            mounts=proxy_mounts(settings) if transport is None else None,
        )
        self.hosts: HostSlots = limiter or HostLimiter(
            settings.per_host_concurrency, settings.per_host_delay_seconds
        )
        self._all = threading.BoundedSemaphore(max(1, settings.max_concurrency))
        self._robots: dict[str, Protego | None] = {}
        self._robots_errors: dict[str, str] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._robots_lock = threading.Lock()
        self._ua_token = robots_token(settings)
        # Where robots.txt is kept between runs (set by the web sources); None: this run only.
        self.robots_store: RobotsStore | None = None

    def close(self) -> None:
        self.client.close()
        close_limits = getattr(self.hosts, "close", None)
        if close_limits is not None:
            close_limits()

    # robots.txt ----------------------------------------------------------------------

    def _robots_for(self, url: str) -> tuple[Protego | None, str | None]:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        with self._robots_lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin in self._robots or origin in self._robots_errors:
                return self._robots.get(origin), self._robots_errors.get(origin)
            rules, error = self._load_robots(origin)
            if error:
                self._robots_errors[origin] = error
            else:
                self._robots[origin] = rules
                if rules is not None:
                    delay = rules.crawl_delay(self._ua_token)
                    if delay:
                        self.hosts.set_delay(
                            parts.netloc.lower(), min(float(delay), MAX_CRAWL_DELAY_SECONDS)
                        )
            return rules, error

    def _load_robots(self, origin: str) -> tuple[Protego | None, str | None]:
        """RFC 9309: a missing robots.txt (4xx) allows everything; an unreachable one (5xx,
        network failure) allows nothing for this run, unless a copy kept from an earlier run
        exists. A kept copy is used while fresh, then asked for conditionally (robots.py)."""
        cached = self._stored_robots(origin)
        if cached is not None and cached.fresh():
            return _parse_robots(cached), None
        try:
            res = self._request(
                origin + "/robots.txt",
                accept=None,
                headers=cached.conditional_headers() if cached else None,
                check_robots=False,
                max_bytes=ROBOTS_MAX_BYTES,
                retries=1,
            )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._keep_robots(origin, exc.status, "", None, None, None)
                return None, None
            if cached is not None:
                log.info("%s/robots.txt unavailable (%s): using the copy kept", origin, exc.reason)
                return _parse_robots(cached), None
            return None, f"robots.txt unavailable ({exc.reason}): not fetching from this site"
        cache_control = res.headers.get("cache-control")
        if res.not_modified and cached is not None:
            text = cached.body
            etag, modified = res.etag or cached.etag, res.last_modified or cached.last_modified
        else:
            text, _ = decode_body(res.content, res.charset, html=False)
            etag, modified = res.etag, res.last_modified
        kept = self._keep_robots(origin, 200, text, etag, modified, cache_control)
        return _parse_robots(kept), None

    def _stored_robots(self, origin: str) -> CachedRobots | None:
        if self.robots_store is None:
            return None
        try:
            return self.robots_store.load(origin)
        except Exception as exc:  # the kept copy is an optimisation: fetch it instead
            log.warning("could not read the kept robots.txt of %s: %s", origin, _first_line(exc))
            return None

    def _keep_robots(
        self,
        origin: str,
        status: int,
        body: str,
        etag: str | None,
        modified: str | None,
        cache_control: str | None,
    ) -> CachedRobots:
        kept = CachedRobots(
            status=status,
            body=body,
            etag=etag,
            last_modified=modified,
            fetched_at=datetime.now(UTC),
            max_age_seconds=max_age_seconds(cache_control, self.settings.robots_max_age_seconds),
        )
        if self.robots_store is not None:
            try:
                self.robots_store.save(origin, kept)
            except Exception as exc:
                log.warning("could not keep the robots.txt of %s: %s", origin, _first_line(exc))
        return kept

    def allowed(self, url: str) -> None:
        rules, error = self._robots_for(url)
        if error:
            raise FetchError(error)
        if rules is not None and not rules.can_fetch(url, self._ua_token):
            raise FetchError("disallowed by robots.txt")

    # requests ------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: frozenset[str] | None = frozenset({"html", "feed"}),
    ) -> FetchResult:
        """GET with redirects, robots, limits and retries; raises FetchError."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._request(url, accept=accept, headers=headers, check_robots=True)

    def _request(
        self,
        url: str,
        *,
        accept: frozenset[str] | None,
        headers: dict[str, str] | None = None,
        check_robots: bool,
        max_bytes: int | None = None,
        retries: int | None = None,
    ) -> FetchResult:
        s = self.settings
        tries = (s.http_retries if retries is None else retries) + 1
        for attempt in range(tries):
            try:
                return self._follow(url, accept, headers or {}, check_robots, max_bytes)
            except FetchError as exc:
                if not exc.retryable or attempt == tries - 1:
                    raise
                delay = min(s.http_backoff_max_seconds, s.http_backoff_seconds * 2**attempt)
                delay *= random.uniform(0.5, 1.0)  # jitter: workers do not retry in lockstep
                if exc.retry_after is not None:
                    if exc.retry_after > s.http_backoff_max_seconds:
                        raise FetchError(
                            f"{exc.reason} (Retry-After {exc.retry_after:.0f} s is over the "
                            f"{s.http_backoff_max_seconds:.0f} s limit)",
                            status=exc.status,
                        ) from None
                    delay = max(delay, exc.retry_after)
                log.info("retrying %s in %.1f s: %s", url, delay, exc.reason)
                if stop_wait(delay):
                    raise RequestStopped() from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(
        self,
        url: str,
        accept: frozenset[str] | None,
        headers: dict[str, str],
        check_robots: bool,
        max_bytes: int | None,
    ) -> FetchResult:
        s = self.settings
        seen = {url}
        current = url
        for hop in range(s.http_max_redirects + 1):
            check_url(current, s.allow_private_hosts)
            if check_robots:
                self.allowed(current)
            host = urlsplit(current).netloc.lower()
            with self.hosts.slot(host), self._all:
                result = self._send(current, accept, headers, max_bytes)
            if isinstance(result, FetchResult):
                result.url = url
                return result
            target = result
            if target in seen:
                raise FetchError(f"redirect loop ({current} redirects back to {target})")
            if hop == s.http_max_redirects:
                raise FetchError(f"too many redirects (more than {s.http_max_redirects})")
            seen.add(target)
            current = target
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        url: str,
        accept: frozenset[str] | None,
        headers: dict[str, str],
        max_bytes: int | None,
    ) -> FetchResult | str:
        """One request: a result, or the absolute URL a redirect points to."""
        s = self.settings
        limit = max_bytes or s.http_max_bytes
        started = time.monotonic()
        total = s.http_timeout_seconds * DEADLINE_FACTOR
        try:
            with request_deadline(total), self.client.stream("GET", url, headers=headers) as resp:
                code = resp.status_code
                if code in REDIRECT_CODES:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {code} redirect without a Location header")
                    if URL_CONTROLS.search(location.strip()):
                        raise FetchError(
                            f"HTTP {code} redirect to a URL with control characters: refused"
                        )
                    return urljoin(url, location.strip().replace(" ", "%20"))
                if code == 304:
                    return self._result(url, resp, b"", "", "")
                if code == 429 or code >= 500:
                    raise FetchError(
                        f"HTTP {code} {resp.reason_phrase}".strip(),
                        retryable=True,
                        status=code,
                        retry_after=retry_after_seconds(resp.headers.get("retry-after")),
                    )
                if code >= 400:
                    raise FetchError(f"HTTP {code} {resp.reason_phrase}".strip(), status=code)
                if code != 200:
                    raise FetchError(
                        f"HTTP {code} {resp.reason_phrase}: no content to read".strip()
                    )
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                kind = classify_type(ctype) if accept is not None else "text"
                if accept is not None and kind is None and ctype not in SNIFF_TYPES:
                    raise FetchError(f"content type {ctype} is not HTML or a feed")
                length = resp.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise FetchError(f"response over the {_mb(limit)} limit ({_mb(int(length))})")
                decoder = BodyDecoder(resp.headers.get("content-encoding", ""))
                body = bytearray()
                for chunk in resp.iter_raw():
                    for piece in decoder.feed(chunk):
                        body += piece
                        if len(body) > limit:
                            raise FetchError(f"response over the {_mb(limit)} limit")
                    if time.monotonic() - started > total:
                        raise DeadlineExceeded(
                            f"no complete response within {total:g} s (the deadline of one request)"
                        )
                body += decoder.flush()
                if len(body) > limit:
                    raise FetchError(f"response over the {_mb(limit)} limit")
                content = bytes(body)
                if accept is not None:
                    if kind is None:
                        kind = sniff_kind(content)
                        if kind is None:
                            raise FetchError(
                                f"content type {ctype or 'unknown'} is not HTML or a feed"
                            )
                    if kind not in accept:
                        raise FetchError(f"content type {ctype} is not {_kinds(accept)}")
                return self._result(url, resp, content, ctype, kind or "")
        except httpx.TimeoutException:
            raise FetchError(
                f"timed out after {s.http_timeout_seconds:g} s", retryable=True
            ) from None
        except httpx.RemoteProtocolError as exc:
            if "location header" in str(exc).lower():
                raise FetchError(f"redirect to an invalid URL: {_first_line(exc)}") from None
            # A truncated body (fewer bytes than Content-Length), a malformed status line or
            # header: the server is broken, maybe briefly.
            raise FetchError(f"broken response: {_first_line(exc)}", retryable=True) from None
        except httpx.TransportError as exc:
            raise FetchError(f"connection failed: {_first_line(exc)}", retryable=True) from None
        except httpx.InvalidURL as exc:  # the URL, or where a redirect points
            raise FetchError(f"invalid URL or redirect target: {_first_line(exc)}") from None
        except httpx.HTTPError as exc:  # decoding and other errors of one response
            raise FetchError(f"{type(exc).__name__}: {_first_line(exc)}") from None

    @staticmethod
    def _result(url: str, resp: httpx.Response, content: bytes, ctype: str, kind: str):
        charset = None
        m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", resp.headers.get("content-type", ""), re.I)
        if m:
            charset = m.group(1)
        return FetchResult(
            url=url,
            final_url=url,
            status=resp.status_code,
            content=content,
            content_type=ctype,
            charset=charset,
            kind=kind,
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
            headers={
                "content-type": resp.headers.get("content-type", ""),
                "cache-control": resp.headers.get("cache-control", ""),
            },
        )


def _parse_robots(kept: CachedRobots) -> Protego | None:
    if kept.status != 200:
        return None  # no robots.txt: everything allowed
    try:
        return Protego.parse(kept.body)
    except Exception:  # a robots.txt we cannot parse says nothing we can follow
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _mb(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def _kinds(accept: frozenset[str]) -> str:
    return " or ".join({"html": "HTML", "feed": "a feed"}.get(k, k) for k in sorted(accept))


# --- one client per process --------------------------------------------------------------

_fetcher: Fetcher | None = None
_fetcher_key: tuple | None = None
_fetcher_lock = threading.Lock()


def _settings_key(settings: Settings) -> tuple:
    return tuple(
        getattr(settings, name)
        for name in (
            "allow_private_hosts",
            "user_agent",
            "contact",
            "http_timeout_seconds",
            "http_max_bytes",
            "http_max_redirects",
            "http_retries",
            "http_backoff_seconds",
            "http_backoff_max_seconds",
            "per_host_concurrency",
            "per_host_delay_seconds",
            "max_concurrency",
            "host_limits",
            "task_runner",
            "robots_max_age_seconds",
        )
    )


def get_fetcher(settings: Settings) -> Fetcher:
    """The process's shared client (a new one when the fetch settings changed)."""
    global _fetcher, _fetcher_key
    key = _settings_key(settings)
    with _fetcher_lock:
        if _fetcher is None or _fetcher_key != key:
            if _fetcher is not None:
                _fetcher.close()
            from flows.sources.fetch.global_limits import make_host_limiter

            _fetcher = Fetcher(settings, limiter=make_host_limiter(settings))
            _fetcher_key = key
        return _fetcher


def reset_fetcher() -> None:
    """Forget the shared client (and its robots.txt cache); tests call this between cases."""
    global _fetcher, _fetcher_key
    with _fetcher_lock:
        if _fetcher is not None:
            _fetcher.close()
        _fetcher, _fetcher_key = None, None
    resume_fetching()
