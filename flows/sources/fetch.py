"""The one HTTP client every web source shares: safe, polite, bounded.

- only http and https; hosts that resolve to private, loopback, link-local, multicast or
  otherwise non-public addresses are refused (checked after DNS resolution and again on every
  redirect hop) unless ``NEWSDIGEST_ALLOW_PRIVATE_HOSTS=1``;
- redirects are followed by hand (each hop checked, at most ``http_max_redirects``, loops
  reported as such);
- the address connected to is the address checked: the name is resolved once, at connect
  time, every address it gives is checked, and the socket connects to a checked address
  (the Host header and TLS server name stay the name), so a name that answers a public
  address to the check and 127.0.0.1 to the connection (DNS rebinding) gets nowhere;
- a timeout on every network operation and one total deadline per request
  (``DEADLINE_FACTOR`` x ``http_timeout_seconds``) covering connect, TLS, headers and body, so
  a server dripping its headers a byte at a time is cut at the deadline; :func:`stop_fetching`
  (SIGTERM) ends every request in flight within ``STOP_POLL_SECONDS``;
- bodies are streamed, decompressed in bounded pieces (a gzip bomb never decodes more than
  ``http_max_bytes`` plus one piece) and cut at ``http_max_bytes``; the content type must be
  HTML or a feed;
- robots.txt is obeyed, its Crawl-delay too; at most ``per_host_concurrency`` requests per host
  at a time, ``per_host_delay_seconds`` apart, and ``max_concurrency`` in all;
- timeouts, connection errors, 429 and 5xx are retried with exponential backoff and jitter
  (Retry-After honoured); other 4xx never are.

Every failure is a :class:`FetchError` whose message is one line a user can act on.
"""

from __future__ import annotations

import codecs
import email.utils
import errno
import ipaddress
import logging
import os
import random
import re
import select
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncStream
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

# One request (connect, TLS, headers and body, redirects excluded) gets this many times
# ``http_timeout_seconds`` in all; each single network operation keeps ``http_timeout_seconds``.
DEADLINE_FACTOR = 2.0
# How often a blocked read looks whether the run is stopping.
STOP_POLL_SECONDS = 0.25
# Compressed bodies are decoded at most this many bytes at a time.
DECODE_PIECE_BYTES = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"
_URL_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")

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
    """Raise FetchError unless ``url`` is http(s) to a host with only public addresses.

    This is the early check (one clear message before anything is sent); the connection
    itself is checked again, on the address it uses (see :class:`GuardedBackend`)."""
    if _URL_CONTROLS.search(url):
        raise FetchError("invalid URL: it holds control characters")
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
    resolve_checked(host, port or (443 if scheme == "https" else 80), allow_private=False)


def resolve_checked(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to (one lookup); FetchError when any of them is not
    public and private hosts are not allowed, or when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FetchError(f"cannot resolve host {host}: {reason}", retryable=True) from None
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        addr = ipaddress.ip_address(text.split("%", 1)[0])
        kind = None if allow_private else _address_kind(addr)
        if kind:
            raise FetchError(
                f"refused: {host} resolves to {addr}, a {kind} address ({PRIVATE_HINT})"
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise FetchError(f"cannot resolve host {host}: no addresses", retryable=True)
    return addresses


# --- deadlines, stopping, and connecting to the checked address ---------------------------

_stopping = threading.Event()
_request = threading.local()


class RequestStopped(FetchError):
    """The run is stopping (SIGTERM): requests in flight end now."""

    def __init__(self) -> None:
        super().__init__("stopped: the run is shutting down")


class DeadlineExceeded(FetchError):
    pass


def stop_fetching() -> None:
    """Make every request in flight, and every later one, end at once (SIGTERM)."""
    _stopping.set()


def resume_fetching() -> None:
    """Undo :func:`stop_fetching` (tests, and a process that goes on after a stop)."""
    _stopping.clear()


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread ends by ``seconds`` from now."""
    previous = getattr(_request, "deadline", None)
    _request.deadline = (time.monotonic() + seconds, seconds)
    try:
        yield
    finally:
        _request.deadline = previous


def _budget(timeout: float | None) -> float | None:
    """The time one network operation may take now: its own timeout, cut to what is left of
    the request's deadline; raises when the run stops or the deadline has passed."""
    if _stopping.is_set():
        raise RequestStopped()
    deadline = getattr(_request, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline[0] - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded(
            f"no complete response within {deadline[1]:g} s (the deadline of one request)"
        )
    return left if timeout is None else min(timeout, left)


class GuardedStream(httpcore.NetworkStream):
    """A socket whose every read and write respects the request deadline and the stop flag."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            budget = _budget(left)
            wait = STOP_POLL_SECONDS if budget is None else min(budget, STOP_POLL_SECONDS)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if end is not None and time.monotonic() >= end:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _budget(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return GuardedStream(self._inner.start_tls(ssl_context, server_hostname, _budget(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _connect(
    address: str, port: int, timeout: float | None, local_address: str | None
) -> socket.socket:
    """A TCP connection to ``address`` (an IP address), waited for in slices so that the
    deadline and a stop are noticed while a host does not answer."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if local_address:
            sock.bind((local_address, 0))
        sock.setblocking(False)
        err = sock.connect_ex((address, port))
        end = None if timeout is None else time.monotonic() + timeout
        while err in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"timed out connecting to {address}")
            budget = _budget(left)
            wait = STOP_POLL_SECONDS if budget is None else min(budget, STOP_POLL_SECONDS)
            _, writable, _ = select.select([], [sock], [], wait)
            if writable:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise httpcore.ConnectError(f"[Errno {err}] {os.strerror(err)}")
        sock.setblocking(True)
        return sock
    except BaseException:
        sock.close()
        raise


class GuardedBackend(httpcore.NetworkBackend):
    """Connects to an address it has just checked (``check=True``), within the deadline.

    The name is resolved here, once; every address is checked as :func:`check_url` does; the
    socket connects to one of those addresses. httpcore keeps the name for the Host header
    and the TLS server name, so certificates are verified against the name as usual."""

    def __init__(self, check: bool) -> None:
        self.check = check
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, allow_private=not self.check)
        error: Exception | None = None
        for address in addresses:
            try:
                sock = _connect(address, port, timeout, local_address)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            for option in socket_options or []:
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return GuardedStream(SyncStream(sock))
        raise error or httpcore.ConnectError(f"cannot connect to {host}")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used")  # pragma: no cover

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(settings: Settings, verify=True) -> httpx.HTTPTransport:
    """The HTTP transport of the shared client: connections go through GuardedBackend.
    ``verify``: as httpx's (an ``ssl.SSLContext`` trusts a test CA)."""
    limits = httpx.Limits(
        max_connections=max(1, settings.max_concurrency),
        max_keepalive_connections=max(1, settings.max_concurrency),
    )
    transport = httpx.HTTPTransport(limits=limits, verify=verify)
    transport._pool._network_backend = GuardedBackend(check=not settings.allow_private_hosts)
    return transport


def _proxy_mounts(settings: Settings) -> dict[str, httpx.HTTPTransport | None]:
    """Transports for the HTTP(S)_PROXY / NO_PROXY variables, as httpx would make them.
    Through a proxy, the proxy resolves and connects: the early check of :func:`check_url`
    still applies, the deadline too."""
    try:
        from httpx._utils import get_environment_proxies
    except ImportError:  # pragma: no cover - httpx moved it
        return {}
    mounts: dict[str, httpx.HTTPTransport | None] = {}
    for pattern, proxy in get_environment_proxies().items():
        if proxy is None:
            mounts[pattern] = None  # NO_PROXY: the client's own (guarded) transport
            continue
        transport = httpx.HTTPTransport(proxy=proxy)
        transport._pool._network_backend = GuardedBackend(check=False)
        mounts[pattern] = transport
    return mounts


class _Decoder:
    """A Content-Encoding decoder that yields at most DECODE_PIECE_BYTES per piece."""

    def __init__(self, header: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported content encoding {header.strip()[:40]}")
        self.coding = codings[0] if codings else None
        self._z = None
        if self.coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.coding == "deflate":
            self._z = zlib.decompressobj()
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            yield data
            return
        try:
            piece = self._z.decompress(data, DECODE_PIECE_BYTES)
        except zlib.error:
            if self.coding == "deflate" and self._first:  # raw deflate, no zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                yield from self.feed(data)
                return
            raise FetchError(f"body is not valid {self.coding} data") from None
        self._first = False
        yield piece
        while self._z.unconsumed_tail:
            try:
                piece = self._z.decompress(self._z.unconsumed_tail, DECODE_PIECE_BYTES)
            except zlib.error:
                raise FetchError(f"body is not valid {self.coding} data") from None
            yield piece

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        try:
            return self._z.flush(DECODE_PIECE_BYTES)
        except zlib.error:  # pragma: no cover
            return b""


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
    # Charsets that lie. UTF-16/32 without a BOM on a body with no NUL bytes is ASCII-based
    # text (decoding it as UTF-16 would make it CJK noise); a body that is valid UTF-8 and not
    # plain ASCII is UTF-8 whatever a legacy charset claims (valid multi-byte UTF-8 does not
    # happen by chance in windows-1252 or ISO-8859 text).
    head = content[:1024]
    candidates = [
        c for c in candidates if not (c.startswith(("utf-16", "utf-32")) and b"\0" not in head)
    ]
    if candidates and candidates[0] != "utf-8" and not content.isascii():
        try:
            return content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
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
        wide = best is not None and best.encoding.startswith(("utf_16", "utf_32"))
        if best is not None and best.encoding and not (wide and b"\0" not in head):
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
        # Only what _Decoder can decode in bounded pieces (httpx would add br and zstd).
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
            mounts=_proxy_mounts(settings) if transport is None else None,
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
                if _stopping.wait(delay):
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
                    if _URL_CONTROLS.search(location.strip()):
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
                decoder = _Decoder(resp.headers.get("content-encoding", ""))
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
            headers={"content-type": resp.headers.get("content-type", "")},
        )


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
    resume_fetching()
