"""A fault-injecting HTTP server on 127.0.0.1, written on raw sockets so it can misbehave in
ways a real HTTP library would not: connection resets, headers or bodies dripped a byte at a
time, bodies shorter or longer than their Content-Length, charsets that lie, bursts of 429 and
5xx, redirects to other schemes, compression bombs.

Each path answers with a *fault*: a function ``(conn, request) -> None`` that writes whatever
it likes on the socket. ``FaultServer.add(path, fault)``; the helpers below build the usual
ones. ``hits[path]`` counts requests; ``stop()`` ends every drip at once.
"""

from __future__ import annotations

import gzip
import io
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    hit: int  # 1 for the first request to this path


Fault = Callable[[socket.socket, Request], None]


class FaultServer:
    def __init__(self) -> None:
        self.routes: dict[str, Fault] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(10)
                while not server.stopping.is_set():
                    req = server._read_request(conn)
                    if req is None:
                        return
                    fault = server.routes.get(req.path) or not_found
                    try:
                        fault(conn, req)
                    except OSError:
                        return
                    if req.headers.get("connection", "").lower() == "close":
                        return
                    if getattr(fault, "closes", False):
                        return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.tcp = Server(("127.0.0.1", 0), Handler)
        self.port = self.tcp.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.tcp.serve_forever, daemon=True)

    def _read_request(self, conn: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(4096)
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        path = target.split("?", 1)[0]
        with self.lock:
            self.hits[path] += 1
            req = Request(method, path, headers, self.hits[path])
            self.requests.append(req)
        return req

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.tcp.shutdown()
        self.tcp.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, fault: Fault) -> str:
        self.routes[path] = fault
        return self.url(path)


# --- building blocks ---------------------------------------------------------------------


def head(status: int = 200, headers: dict[str, str] | None = None, reason: str = "") -> bytes:
    reason = reason or {
        200: "OK",
        301: "Moved Permanently",
        302: "Found",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    body: bytes,
    content_type: str = "text/html; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> Fault:
    """A plain response; ``length`` overrides the Content-Length header (to lie with it)."""

    def fault(conn: socket.socket, req: Request) -> None:
        h = {
            "Content-Type": content_type,
            "Content-Length": str(len(body) if length is None else length),
        }
        h.update(headers or {})
        conn.sendall(head(status, h) + body)

    return fault


def not_found(conn: socket.socket, req: Request) -> None:
    respond(b"not found", "text/plain", 404)(conn, req)


def reset(conn: socket.socket, req: Request) -> None:
    """Close with a TCP reset (RST) before answering."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


reset.closes = True  # type: ignore[attr-defined]


def reset_mid_body(body: bytes, after: int = 200) -> Fault:
    """Headers and the first ``after`` bytes, then a reset."""

    def fault(conn: socket.socket, req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
        conn.sendall(head(200, h) + body[:after])
        time.sleep(0.05)
        reset(conn, req)

    fault.closes = True  # type: ignore[attr-defined]
    return fault


def truncate(body: bytes, keep: int) -> Fault:
    """Content-Length says the whole body; ``keep`` bytes are sent; the connection closes."""

    def fault(conn: socket.socket, req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
        conn.sendall(head(200, h) + body[:keep])
        conn.shutdown(socket.SHUT_RDWR)

    fault.closes = True  # type: ignore[attr-defined]
    return fault


def drip_headers(server: FaultServer, interval: float = 2.0) -> Fault:
    """A status line, then the headers one byte every ``interval`` seconds, never ending."""

    def fault(conn: socket.socket, req: Request) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        filler = b"X-Drip: " + b"a" * 10_000
        for byte in filler:
            if server.stopping.wait(interval):
                return
            conn.sendall(bytes([byte]))

    fault.closes = True  # type: ignore[attr-defined]
    return fault


def drip_body(server: FaultServer, body: bytes, interval: float = 0.5) -> Fault:
    """Honest headers, then the body one byte every ``interval`` seconds."""

    def fault(conn: socket.socket, req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
        conn.sendall(head(200, h))
        for byte in body:
            if server.stopping.wait(interval):
                return
            conn.sendall(bytes([byte]))

    fault.closes = True  # type: ignore[attr-defined]
    return fault


def silent(server: FaultServer) -> Fault:
    """Reads the request and never answers."""

    def fault(conn: socket.socket, req: Request) -> None:
        server.stopping.wait(120)

    fault.closes = True  # type: ignore[attr-defined]
    return fault


def burst(status: int, times: int, then: Fault, retry_after: str | None = None) -> Fault:
    """``status`` for the first ``times`` requests, then ``then``."""

    def fault(conn: socket.socket, req: Request) -> None:
        if req.hit <= times:
            h = {"Retry-After": retry_after} if retry_after is not None else {}
            respond(b"busy", "text/plain", status, h)(conn, req)
        else:
            then(conn, req)

    return fault


def redirect(location: str, status: int = 302) -> Fault:
    """A redirect; ``location`` is sent as given (control characters included)."""

    def fault(conn: socket.socket, req: Request) -> None:
        conn.sendall(
            b"HTTP/1.1 "
            + f"{status} Found".encode()
            + b"\r\nLocation: "
            + location.encode("utf-8", "surrogateescape")
            + b"\r\nContent-Length: 0\r\n\r\n"
        )

    return fault


def gzip_bomb(decompressed_mb: int) -> bytes:
    """A gzip body that decompresses to ``decompressed_mb`` MB of zeros (about 1000:1)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = b"\0" * (1024 * 1024)
        for _ in range(decompressed_mb):
            gz.write(block)
    return out.getvalue()


def gzipped(body: bytes, content_type: str = "text/html; charset=utf-8") -> Fault:
    return respond(gzip.compress(body), content_type, headers={"Content-Encoding": "gzip"})
