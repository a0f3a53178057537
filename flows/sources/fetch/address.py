"""Which URLs may be fetched: http(s) to hosts whose every address is public."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from flows.sources.fetch.errors import FetchError

PRIVATE_HINT = "set NEWSDIGEST_ALLOW_PRIVATE_HOSTS=1 to allow"

URL_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


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
    if URL_CONTROLS.search(url):
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
