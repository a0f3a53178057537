"""The network layer of the shared client: connections to the checked address, within the
request deadline (see :mod:`flows.sources.fetch.deadline`)."""

from __future__ import annotations

import errno
import os
import select
import socket
import time

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from digest.settings import Settings
from flows.sources.fetch.address import resolve_checked
from flows.sources.fetch.deadline import STOP_POLL_SECONDS, operation_budget


class GuardedStream(httpcore.NetworkStream):
    """A socket whose every read and write respects the request deadline and the stop flag."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            budget = operation_budget(left)
            wait = STOP_POLL_SECONDS if budget is None else min(budget, STOP_POLL_SECONDS)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if end is not None and time.monotonic() >= end:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, operation_budget(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return GuardedStream(
            self._inner.start_tls(ssl_context, server_hostname, operation_budget(timeout))
        )

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
            budget = operation_budget(left)
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


def proxy_mounts(settings: Settings) -> dict[str, httpx.HTTPTransport | None]:
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
