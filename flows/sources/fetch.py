"""The one HTTP client every web source shares: safe, polite, bounded.

- only http and https; hosts that resolve to private, loopback, link-local, multicast or
  otherwise non-public addresses are refused (checked after DNS resolution and again on every
  redirect hop) unless ``NEWSDIGEST_ALLOW_PRIVATE_HOSTS=1``;
- redirects are followed by hand (each hop checked, at most ``http_max_redirects``, loops
  reported as such);
- a timeout on every request and a deadline for reading the body; bodies are streamed and
  cut at ``http_max_bytes``; the content type must be HTML or a feed;
- robots.txt is obeyed, its Crawl-delay too; at most ``per_host_concurrency`` requests per host
  at a time, ``per_host_delay_seconds`` apart, and ``max_concurrency`` in all;
- timeouts, connection errors, 429 and 5xx are retried with exponential backoff and jitter
  (Retry-After honoured); other 4xx never are.

Every failure is a :class:`FetchError` whose message is one line a user can act on.
"""

from __future__ import annotations

import codecs
import email.utils
import ipaddress
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from digest.errors import SourceError
from digest.settings import Settings

log = logging.getLogger("newsdigest.fetch")

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/feed+json",
    }
)
# Served for anything by misconfigured servers: the body decides.
SNIFF_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512 * 1024
MAX_CRAWL_DELAY_SECONDS = 30.0
META_SNIFF_BYTES = 4096
PRIVATE_HINT = "set NEWSDIGEST_ALLOW_PRIVATE_HOSTS=1 to allow"

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.I)


class FetchError(SourceError):
    """A URL that could not be fetched; ``str()`` is the one-line reason."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


@dataclass
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 or 304
    content: bytes = b""
    content_type: str = ""  # the MIME type, lower case, no parameters
    charset: str | None = None  # from the Content-Type header
    kind: str = ""  # "html" or "feed"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# --- safety ------------------------------------------------------------------------------


def _address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address must not be fetched from, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "non-public"
    return None


def check_url(url: str, allow_private: bool) -> None:
    """Raise FetchError unless ``url`` is http(s) to a host with only public addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"refused: only http and https URLs are fetched, not {scheme or 'none'}:")
    host = parts.hostname
    if not host:
        raise FetchError("invalid URL: no host name")
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        kind = _address_kind(literal)
        if kind:
            raise FetchError(f"refused: {host} is a {kind} address ({PRIVATE_HINT})")
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FetchError(f"cannot resolve host {host}: {reason}") from None
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        kind = _address_kind(addr)
        if kind:
            raise FetchError(
                f"refused: {host} resolves to {addr}, a {kind} address ({PRIVATE_HINT})"
            )


# --- decoding ----------------------------------------------------------------------------


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def meta_charset(content: bytes) -> str | None:
    """The encoding a page's ``<meta charset>`` declares, if any."""
    m = _META_CHARSET.search(content[:META_SNIFF_BYTES])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else None


def decode_body(
    content: bytes, header_charset: str | None, *, html: bool = True
) -> tuple[str, str]:
    """Text and the encoding used: BOM, then the header's charset, then ``<meta charset>``,
    then UTF-8, then a detected encoding; never raises."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if content.startswith(bom):
            return content.decode(enc, errors="replace"), enc
    candidates: list[str] = []
    declared = _codec(header_charset)
    if declared:
        candidates.append(declared)
    if html:
        meta = meta_charset(content)
        if meta and meta not in candidates:
            candidates.append(meta)
    if "utf-8" not in candidates:
        candidates.append("utf-8")
    for enc in candidates:
        try:
            return content.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(content[:200_000]).best()
        if best is not None and best.encoding:
            return content.decode(best.encoding, errors="replace"), best.encoding
    except ImportError:  # pragma: no cover - trafilatura depends on it
        pass
    return content.decode("windows-1252", errors="replace"), "windows-1252"


def sniff_kind(content: bytes) -> str | None:
    """'feed', 'html' or None from the first bytes of a body."""
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        if re.search(rb"<html[\s>]", head):
            return "html"
        return "feed"
    if re.match(rb"<(rss|feed|rdf:rdf)[\s>]", head):
        return "feed"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "html"
    if head.startswith(b"{") and b'"version"' in head and b"jsonfeed" in head:
        return "feed"
    return None


def classify_type(content_type: str) -> str | None:
    if content_type in HTML_TYPES:
        return "html"
    if content_type in FEED_TYPES or content_type.endswith(("+xml", "/xml")):
        return "feed"
    return None


# --- politeness --------------------------------------------------------------------------


class _HostState:
    def __init__(self, limit: int) -> None:
        self.slots = threading.BoundedSemaphore(max(1, limit))
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.delay: float | None = None  # from robots.txt, once known


class HostLimiter:
    """At most ``limit`` requests per host at a time, starting at least ``delay`` s apart."""

    def __init__(self, limit: int, delay: float) -> None:
        self.limit, self.delay = limit, delay
        self._hosts: dict[str, _HostState] = {}
        self._lock = threading.Lock()

    def _state(self, host: str) -> _HostState:
        with self._lock:
            st = self._hosts.get(host)
            if st is None:
                st = self._hosts[host] = _HostState(self.limit)
            return st

    def set_delay(self, host: str, delay: float) -> None:
        self._state(host).delay = delay

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        st = self._state(host)
        st.slots.acquire()
        try:
            delay = max(self.delay, st.delay or 0.0)
            with st.lock:
                now = time.monotonic()
                start = max(now, st.next_at)
                st.next_at = start + delay
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            st.slots.release()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def user_agent(settings: Settings) -> str:
    ua = settings.user_agent.strip()
    if settings.contact.strip():
        ua = f"{ua} (contact: {settings.contact.strip()})"
    return ua


def robots_token(settings: Settings) -> str:
    """The product token robots.txt groups are matched against ("newsdigest")."""
    return re.split(r"[/\s]", settings.user_agent.strip(), maxsplit=1)[0] or "newsdigest"


# --- the client --------------------------------------------------------------------------


class Fetcher:
    """Thread-safe: one per process, shared by every task (see :func:`get_fetcher`)."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        headers = {
            "User-Agent": user_agent(settings),
            "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
            "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5",
        }
        if "@" in settings.contact:
            headers["From"] = settings.contact.strip()
        self.client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.http_timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max(1, settings.max_concurrency),
                max_keepalive_connections=max(1, settings.max_concurrency),
            ),
            transport=transport,
        )
        self.hosts = HostLimiter(settings.per_host_concurrency, settings.per_host_delay_seconds)
        self._all = threading.BoundedSemaphore(max(1, settings.max_concurrency))
        self._robots: dict[str, Protego | None] = {}
        self._robots_errors: dict[str, str] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._robots_lock = threading.Lock()
        self._ua_token = robots_token(settings)

    def close(self) -> None:
        self.client.close()

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
        network failure) allows nothing for this run."""
        try:
            res = self._request(
                origin + "/robots.txt",
                accept=None,
                check_robots=False,
                max_bytes=ROBOTS_MAX_BYTES,
                retries=1,
            )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return None, None
            return None, f"robots.txt unavailable ({exc.reason}): not fetching from this site"
        text, _ = decode_body(res.content, res.charset, html=False)
        try:
            return Protego.parse(text), None
        except Exception:  # a robots.txt we cannot parse says nothing we can follow
            return None, None

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
                time.sleep(delay)
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
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                code = resp.status_code
                if code in REDIRECT_CODES:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {code} redirect without a Location header")
                    return urljoin(url, location.strip())
                if code == 304:
                    return self._result(url, resp, b"", "", "")
                if code == 429 or code >= 500:
                    raise FetchError(
                        f"HTTP {code} {resp.reason_phrase}".strip(),
                        retryable=True,
                        status=code,
                        retry_after=_retry_after_seconds(resp.headers.get("retry-after")),
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
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"response over the {_mb(limit)} limit")
                    if time.monotonic() - started > s.http_timeout_seconds * 2:
                        raise FetchError(
                            f"timed out after {s.http_timeout_seconds * 2:g} s reading the body",
                            retryable=True,
                        )
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
        except httpx.TransportError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FetchError(f"connection failed: {reason}", retryable=True) from None

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
            headers={"content-type": resp.headers.get("content-type", "")},
        )


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
            _fetcher, _fetcher_key = Fetcher(settings), key
        return _fetcher


def reset_fetcher() -> None:
    """Forget the shared client (and its robots.txt cache); tests call this between cases."""
    global _fetcher, _fetcher_key
    with _fetcher_lock:
        if _fetcher is not None:
            _fetcher.close()
        _fetcher, _fetcher_key = None, None
