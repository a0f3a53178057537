"""Parallelism of the grouping: feature processes for big batches, similarity threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from digest.grouping.params import GroupingParams
from digest.grouping.vectorize import DocVector, Extractor, docs_of
from digest.models import Article

T = TypeVar("T")
R = TypeVar("R")

WORKER_NICENESS = 10  # feature worker processes yield the CPU to the placing process


def _lower_priority() -> None:
    if hasattr(os, "nice"):  # POSIX only
        os.nice(WORKER_NICENESS)


def doc_chunks(
    articles: Sequence[Article], params: GroupingParams, extract: Extractor
) -> Iterable[tuple[Sequence[Article], list[DocVector]]]:
    """The articles cut in chunks of ``chunk_size``, each with its vectors.

    With ``workers`` > 1 and at least ``parallel_min_articles`` articles, the vectors are
    built by that many processes (``extract`` must then be picklable: a module-level function).
    """
    size = max(1, params.chunk_size)
    chunks = [articles[i : i + size] for i in range(0, len(articles), size)]
    if params.workers > 1 and len(articles) >= params.parallel_min_articles:
        import multiprocessing as mp

        # The workers run at a lower priority: the placement of each chunk (one process)
        # is the critical path, extraction fills whatever CPU it leaves.
        ctx = mp.get_context("spawn")
        with ctx.Pool(params.workers, initializer=_lower_priority) as pool:
            docs = pool.imap(partial(docs_of, params=params, extract=extract), chunks)
            yield from zip(chunks, docs, strict=True)
    else:
        for chunk in chunks:
            yield chunk, docs_of(chunk, params, extract)


def map_threads(fn: Callable[[T], R], items: list[T], threads: int) -> list[R]:
    """``fn`` over ``items`` in up to ``threads`` threads (sparse products and large numpy
    operations release the GIL), in order."""
    threads = min(threads, len(items))
    if threads > 1:
        with ThreadPoolExecutor(threads) as ex:
            return list(ex.map(fn, items))
    return [fn(x) for x in items]
