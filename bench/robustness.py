"""Hostile servers against the fetcher, with httpx alone (the previous fetch path) as the
baseline in the same run: peak memory of eight gzip bombs at once, and how long a server
that drips its headers holds one request.

    python bench/robustness.py [--bombs 8] [--bomb-mb 200] [--drip-cap 45]

Each side runs in its own subprocess so that peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _child(mode: str, url: str, n: int, limit: int, timeout: float, cap: float) -> dict:
    import httpx

    from digest.settings import Settings
    from flows.sources.fetch import Fetcher, FetchError

    settings = Settings(
        allow_private_hosts=True,
        http_timeout_seconds=timeout,
        http_retries=0,
        http_max_bytes=limit,
        per_host_delay_seconds=0,
        per_host_concurrency=n,
        max_concurrency=n,
    )
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def ours(_: int) -> str:
        fetcher = Fetcher(settings)
        fetcher._robots[url.rsplit("/", 1)[0]] = None
        try:
            fetcher.get(url)
            return "fetched"
        except FetchError as exc:
            return exc.reason
        finally:
            fetcher.close()

    def before(_: int) -> str:
        # The previous loop: httpx decodes each raw chunk whole, the size and the time are
        # checked between chunks; the timeout is per network operation.
        started = time.monotonic()
        body = bytearray()
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", url) as resp,
            ):
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        return "over the limit"
                    if time.monotonic() - started > timeout * 2:
                        return "body deadline"
        except httpx.TimeoutException:
            return "timeout"
        return "fetched"

    started = time.monotonic()
    pool = ThreadPoolExecutor(n)
    futures = [pool.submit(ours if mode == "ours" else before, i) for i in range(n)]
    done = []
    for f in futures:
        left = max(0.1, cap - (time.monotonic() - started))
        try:
            done.append(f.result(timeout=left))
        except TimeoutError:
            done.append(f"still running after {cap:g} s")
    pool.shutdown(wait=False)
    took = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": took, "peak_mb": peak / 1024, "base_mb": base_rss / 1024, "results": done}
        )
    )
    sys.stdout.flush()
    import os

    os._exit(0)  # do not wait for a baseline thread still held by the drip


def _run(mode: str, url: str, n: int, limit: int, timeout: float, cap: float) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            url,
            str(n),
            str(limit),
            str(timeout),
            str(cap),
        ],
        capture_output=True,
        text=True,
        timeout=cap + 120,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, url, n, limit, timeout, cap = sys.argv[2:8]
        _child(mode, url, int(n), int(limit), float(timeout), float(cap))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--bombs", type=int, default=8)
    ap.add_argument("--bomb-mb", type=int, default=200)
    ap.add_argument("--drip-cap", type=float, default=45.0)
    args = ap.parse_args()

    from tests import fault_server as fs

    srv = fs.FaultServer().start()
    srv.add("/robots.txt", fs.not_found)
    bomb = fs.gzip_bomb(args.bomb_mb)
    srv.add("/bomb", fs.respond(bomb, headers={"Content-Encoding": "gzip"}))
    srv.add("/drip", fs.drip_headers(srv, 2.0))
    limit = 5 * 1024 * 1024
    print(
        f"{args.bombs} gzip bombs at once ({len(bomb) / 1e6:.2f} MB on the wire, "
        f"{args.bomb_mb} MB decoded each), limit 5 MB:"
    )
    for mode in ("before", "ours"):
        r = _run(mode, srv.url("/bomb"), args.bombs, limit, 15, 120)
        print(
            f"  {mode:7s} peak RSS {r['peak_mb']:7.1f} MB (at start {r['base_mb']:.1f} MB), "
            f"{r['seconds']:.2f} s, {sorted(set(r['results']))}"
        )
    print(
        f"a server dripping its headers one byte every 2 s, HTTP timeout 15 s (cap {args.drip_cap:g} s):"
    )
    for mode in ("before", "ours"):
        r = _run(mode, srv.url("/drip"), 1, limit, 15, args.drip_cap)
        print(f"  {mode:7s} held {r['seconds']:.1f} s: {r['results'][0]}")
    srv.stop()


if __name__ == "__main__":
    main()
