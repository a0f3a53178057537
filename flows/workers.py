"""A pool of worker processes for the CPU-bound, pure steps (page extraction, cleaning).

Those steps are Python code that holds the GIL: run in the fetching process they slow the
fetch threads and use one core. ``NEWSDIGEST_EXTRACT_PROCESSES`` worker processes (default:
one per core) run them instead; with 1 they run in the calling thread, as before. The pool is
started on first use, shared by every task of the process, and started again after a worker
died.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from digest.settings import Settings

T = TypeVar("T")
R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


class WorkerDied(RuntimeError):
    """A worker process died during the call (killed, out of memory, a crash in C code)."""


def processes(settings: Settings) -> int:
    """How many worker processes run the CPU-bound steps (1: none, in this process)."""
    if multiprocessing.current_process().daemon:
        # A Dask worker (or any pool worker) is daemonic and may not start processes: it is
        # already one of many, so it extracts in itself.
        return 1
    n = settings.extract_processes
    return max(1, n if n > 0 else (os.cpu_count() or 1))


def _get(settings: Settings) -> ProcessPoolExecutor | None:
    global _pool, _pool_size
    size = processes(settings)
    if size <= 1:
        return None
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # spawn, not fork: this process runs many threads (fetching, Prefect's)
            _pool = ProcessPoolExecutor(
                size,
                mp_context=multiprocessing.get_context("spawn"),
                # no max_tasks_per_child: on Python 3.11 the pool hangs when a worker retires
                initializer=_preload,
                # the pool's own pid, not the worker's getppid() at start: a parent killed
                # while its worker was still starting would otherwise never be noticed
                initargs=(os.getpid(),),
            )
            _pool_size = size
        return _pool


# glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
# Blocks this large or larger are mapped on their own and given back when freed.
MMAP_THRESHOLD_BYTES = 128 * 1024
ARENA_MAX = 2


def _libc():
    """The C library when it is glibc-like (has mallopt and malloc_trim), else None."""
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None
    return libc


def tame_malloc() -> bool:
    """Keep this process's heap from growing with every page it handles (glibc only).

    Pages (100 KB - 1 MB bodies, their decoded text, the trees built from them) are large
    blocks allocated and freed by many threads: glibc then raises its mmap threshold to their
    size and serves them from per-thread arenas, whose freed memory stays with the process
    (the resident size grew by about 70 MB per 1,000 pages in the fetching process and more
    in the extraction workers). A fixed threshold maps them on their own and unmaps them when
    freed; two arenas bound the per-thread pools. Returns False where it does not apply."""
    libc = _libc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
    return ok


def trim_heap() -> None:
    """Give the heap's free memory back to the system (glibc's malloc_trim; else nothing)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# How often a worker checks that the process which started it is still there.
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL, OOM, a stopped deployment run) would wait on
    its task queue forever: the pool's own shutdown never runs. Leave when re-parented."""
    import time

    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _preload(parent: int) -> None:
    """Import the heavy modules when a worker starts, not on its first page."""
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True
    ).start()
    tame_malloc()
    import digest.extract
    import digest.prepare  # noqa: F401


def _nothing() -> None:
    return None


def warm(settings: Settings) -> None:
    """Start the worker processes now (they import for a second or two), without waiting:
    called before the first request, so they are ready when the first page arrives."""
    pool = _get(settings)
    if pool is not None:
        for _ in range(processes(settings)):
            pool.submit(_nothing)


def _drop(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the worker processes (a new pool starts when needed)."""
    with _lock:
        pool = _pool
    if pool is not None:
        _drop(pool)


def call(settings: Settings, fn: Callable[..., R], *args) -> R:
    """``fn(*args)`` in a worker process (``fn`` must be importable and pure)."""
    pool = _get(settings)
    if pool is None:
        return fn(*args)
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        _drop(pool)
        raise WorkerDied("a worker process died while extracting this item") from None


def map_items(
    settings: Settings, fn: Callable[[T], R], items: Iterable[T], min_items: int = 16
) -> list[R]:
    """``[fn(x) for x in items]``, spread over the worker processes when there are enough."""
    items = list(items)
    pool = _get(settings) if len(items) >= min_items else None
    if pool is None:
        return [fn(x) for x in items]
    chunk = max(1, len(items) // (4 * processes(settings)))
    try:
        return list(pool.map(fn, items, chunksize=chunk))
    except BrokenProcessPool:
        _drop(pool)
        return [fn(x) for x in items]  # the items are ours (already cleaned text): go on here
