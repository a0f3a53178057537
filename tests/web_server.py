"""A real HTTP server on 127.0.0.1 for the web-source tests: fixture files plus scripted
behaviours (errors, slow and huge responses, redirects, conditional GET, robots.txt)."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "web"
LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass
class Route:
    """What one path answers: a body, or a behaviour."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    fail_first: int = 0  # answer 500 this many times, then normally
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    redirect_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # ETag / Last-Modified and 304s


class FixtureServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        # (path, start, end) of every request, time.monotonic(): politeness tests.
        self.timeline: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                start = time.monotonic()
                try:
                    self._get()
                finally:
                    with server.lock:
                        server.timeline.append((self.path, start, time.monotonic()))

            def _get(self) -> None:
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.hits[path] += 1
                    n = server.hits[path]
                    server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(path)
                if route is None:
                    return self._send(404, b"not found", "text/plain")
                if route.delay:
                    time.sleep(route.delay)
                if n <= route.fail_first:
                    return self._send(
                        route.fail_status, b"try again", "text/plain", route.fail_headers
                    )
                if route.redirect_to:
                    return self._send(302, b"", "text/plain", {"Location": route.redirect_to})
                headers = dict(route.headers)
                if route.conditional and route.status == 200:
                    etag = '"' + hashlib.sha1(route.body).hexdigest()[:12] + '"'
                    headers.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
                    if self.headers.get("If-None-Match") == etag:
                        return self._send(304, b"", None, headers)
                return self._send(route.status, route.body, route.content_type, headers)

            def _send(self, code, body, ctype, headers=None) -> None:
                try:
                    self.send_response(code)
                    if ctype:
                        self.send_header("Content-Type", ctype)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    if code != 304:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if code != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FixtureServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route | None = None, **kw) -> str:
        self.routes[path] = route or Route(**kw)
        return self.url(path)

    def add_file(self, path: str, name: str, content_type: str | None = None, **kw) -> str:
        """Serve a fixture file; ``{base}`` in it becomes this server's address."""
        data = (FIXTURES / name).read_bytes().replace(b"{base}", self.base.encode())
        ctype = content_type or CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
        return self.add(path, body=data, content_type=ctype, **kw)

    def reset_counts(self) -> None:
        with self.lock:
            self.hits.clear()
            self.requests.clear()
            self.timeline.clear()


def serve_outlets(srv: FixtureServer) -> dict[str, str]:
    """The outlet web of tests/outlet_web.py on this server; returns the entry URLs by name
    (roundup, morgenblatt, courier, harian)."""
    from tests.outlet_web import build

    for path, (body, ctype) in build(srv.base).items():
        srv.add(path, body=body, content_type=ctype)
    return {
        "roundup": srv.url("/roundup/feed.xml"),
        "morgenblatt": srv.url("/morgenblatt/feed.xml"),
        "courier": srv.url("/courier/feed.json"),
        "harian": srv.url("/harian/"),
    }
