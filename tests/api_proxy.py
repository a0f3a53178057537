"""A loopback HTTP proxy in front of a real Prefect server that answers 503 to chosen requests
(tests of "a transient Prefect API error is retried, not fatal").

Each client connection gets its own connection to the server. Requests are read one at a time
(request line, headers, a Content-Length body: httpx never pipelines), and each is either
forwarded or, while its rule has failures left, answered ``503 Service Unavailable`` by the
proxy itself. Answers from the server are piped back as they come. A WebSocket upgrade (the
events stream) turns the connection into a plain two-way pipe.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    failures: int  # how many matching requests get a 503, the first ones


@dataclass
class FlakyApiProxy:
    upstream: tuple[str, int]
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, 503?

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._stopped = False

    def start(self) -> FlakyApiProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._sock.close()

    def injected(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p, failed in self.seen if failed]

    # ---------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _should_fail(self, method: str, path: str) -> bool:
        with self._lock:
            failed = False
            for rule in self.rules:
                if rule.failures > 0 and rule.method == method and rule.path.search(path):
                    rule.failures -= 1
                    failed = True
                    break
            self.seen.append((method, path, failed))
            return failed

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        reader = client.makefile("rb")
        try:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline(65536)
                    if not line:
                        return
                    head += line
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for h in header_lines:
                    if ":" in h:
                        k, v = h.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = reader.read(int(headers.get("content-length", "0") or 0))
                if "upgrade" in headers:  # the events WebSocket: pipe it as it is
                    upstream.sendall(head + body)
                    _pipe_file(reader, upstream)
                    return
                if self._should_fail(method, path):
                    payload = b'{"exception_message": "Service Unavailable"}'
                    client.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Retry-After: 0\r\n"
                        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                        + payload
                    )
                    continue
                upstream.sendall(head + body)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _pipe_file(reader, dst: socket.socket) -> None:
    try:
        while data := reader.read1(65536):
            dst.sendall(data)
    except OSError:
        pass
