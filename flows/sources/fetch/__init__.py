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

The jobs, one module each: :mod:`.errors` (what a fetch returns or raises), :mod:`.address`
(which URLs and addresses may be fetched), :mod:`.deadline` (the request deadline and the
run's stop), :mod:`.transport` (connecting to the checked address), :mod:`.body` (content
types, bounded decompression, character sets), :mod:`.politeness` (per-host limits, robots.txt
token, Retry-After), :mod:`.global_limits` (the per-host limits across processes, on Prefect)
and :mod:`.client` (the :class:`Fetcher` and the one client per process).
"""

# ``socket`` stays an attribute of this package: callers (tests) replace
# ``fetch.socket.getaddrinfo`` to pin a name to an address, as they did before the split.
import socket  # noqa: F401

from flows.sources.fetch.address import PRIVATE_HINT, URL_CONTROLS, check_url, resolve_checked
from flows.sources.fetch.body import (
    ACCEPT_ENCODING,
    DECODE_PIECE_BYTES,
    FEED_TYPES,
    HTML_TYPES,
    META_SNIFF_BYTES,
    SNIFF_TYPES,
    BodyDecoder,
    classify_type,
    decode_body,
    meta_charset,
    sniff_kind,
)
from flows.sources.fetch.client import (
    REDIRECT_CODES,
    Fetcher,
    get_fetcher,
    reset_fetcher,
)
from flows.sources.fetch.deadline import (
    DEADLINE_FACTOR,
    STOP_POLL_SECONDS,
    DeadlineExceeded,
    RequestStopped,
    request_deadline,
    resume_fetching,
    stop_fetching,
)
from flows.sources.fetch.errors import FetchError, FetchResult
from flows.sources.fetch.politeness import (
    MAX_CRAWL_DELAY_SECONDS,
    ROBOTS_MAX_BYTES,
    HostLimiter,
    HostSlots,
    robots_token,
    user_agent,
)
from flows.sources.fetch.transport import GuardedBackend, GuardedStream, guarded_transport

__all__ = [
    "ACCEPT_ENCODING",
    "DEADLINE_FACTOR",
    "DECODE_PIECE_BYTES",
    "FEED_TYPES",
    "HTML_TYPES",
    "MAX_CRAWL_DELAY_SECONDS",
    "META_SNIFF_BYTES",
    "PRIVATE_HINT",
    "REDIRECT_CODES",
    "ROBOTS_MAX_BYTES",
    "SNIFF_TYPES",
    "STOP_POLL_SECONDS",
    "URL_CONTROLS",
    "BodyDecoder",
    "DeadlineExceeded",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "GuardedBackend",
    "GuardedStream",
    "HostLimiter",
    "HostSlots",
    "RequestStopped",
    "check_url",
    "classify_type",
    "decode_body",
    "get_fetcher",
    "guarded_transport",
    "meta_charset",
    "request_deadline",
    "reset_fetcher",
    "resolve_checked",
    "resume_fetching",
    "robots_token",
    "sniff_kind",
    "stop_fetching",
    "user_agent",
]
