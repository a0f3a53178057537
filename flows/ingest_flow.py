"""The ``ingest`` flow and its tasks: plan the sources, fetch feeds tens per task (grouped per
host) and store each feed's articles in batches as they are extracted (local files: a store
task per source), record source health and the per-run sources table."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.exc import OperationalError

from digest.settings import Settings, get_settings
from flows import steps, workers
from flows.run_support import (
    DB_RETRIES,
    DB_RETRY_DELAYS,
    _artifact,
    _failed,
    _one_line,
    _resolve,
    _submit,
    run_task,
)
from flows.runners import DEFAULT_THREADS
from flows.secret_blocks import resolve_database_url
from flows.sources.base import ItemError, LoadResult
from flows.sources.fetch import resume_fetching, stop_fetching
from flows.sources.fetch.global_limits import bind_api, wants_global
from flows.sources.local import load_local
from flows.sources.spec import SourceSpec, classify
from flows.sources.web import WebJob, load_web_urls, plan_web_source
from storage import health
from storage.engine import open_db
from storage.engine import session as db_session

log = logging.getLogger("newsdigest")

SOURCES_ARTIFACT_KEY = "newsdigest-sources"
# A load task fetches max_concurrency / this many of its feeds at a time.
JOB_THREADS_DIVISOR = 4
# Rows of the per-run sources table artifact (failed sources first).
ARTIFACT_MAX_ROWS = 1000
# How many sources a state message names before "and N more".
MESSAGE_MAX_SOURCES = 5


def worker_settings(settings: Settings) -> Settings:
    """The settings a fetch task needs, without secrets: tasks may run on Dask workers
    whose environment is not the flow's, so the flow's settings travel with the task."""
    return settings.model_copy(
        update={"smtp_password": None, "database_url": "", "database_url_block": None}
    )


def _log_errors(errors: list[ItemError] | list[str], logger: logging.Logger) -> None:
    for err in errors:
        logger.error("skipped %s", err)


def resolve_sources(sources: list[str] | None, settings: Settings) -> list[SourceSpec]:
    """Command-line sources, else the sources file, else the project's seeds folder."""
    if sources:
        return [classify(s) for s in sources]
    if settings.sources_file:
        from flows.sources.config import load_sources_file

        return load_sources_file(settings.sources_file)
    return [classify(str(settings.seeds_dir))]


def batch_jobs(jobs: list[WebJob], size: int) -> list[list[WebJob]]:
    """Jobs grouped per host and packed into batches of at most ``size`` URLs (a batch of
    pages already larger goes alone): one task per batch, not per feed."""
    size = max(1, size)
    by_host: dict[str, list[WebJob]] = {}
    for job in jobs:
        host = (urlsplit(job.urls[0]).hostname or "") if job.urls else ""
        by_host.setdefault(host, []).append(job)
    batches: list[list[WebJob]] = []
    current: list[WebJob] = []
    weight = 0
    for host_jobs in by_host.values():
        for job in host_jobs:
            w = max(1, len(job.urls))
            if current and weight + w > size:
                batches.append(current)
                current, weight = [], 0
            current.append(job)
            weight += w
    if current:
        batches.append(current)
    return batches


@task(name="load-local", cache_policy=NO_CACHE)
def load_local_task(spec: SourceSpec, max_bytes: int) -> list[tuple[SourceSpec, LoadResult]]:
    """Read a file or folder of articles."""
    return [(spec, load_local(Path(spec.key), max_bytes))]


class _Storer:
    """The sink of one web job: cleans, enriches and stores each batch of its articles as the
    fetch threads hand it over (the texts are dropped then), and adds up the counts. A batch
    that cannot be stored is the source's failure; the others are kept."""

    def __init__(self, spec: SourceSpec, db_url: str) -> None:
        self.spec = spec
        self.db_url = db_url
        self.report = steps.IngestReport()
        self.failure: str | None = None
        self.handed = 0  # articles handed over (stored, refused, or lost with a failed batch)
        self.lock = threading.Lock()

    def __call__(self, batch: list) -> bool:
        with self.lock:
            self.handed += len(batch)
        try:
            report = _store_one(self.spec, LoadResult(articles=batch), self.db_url)
        except Exception as exc:
            _logger().error("source %s: could not store: %s", self.spec.key, _one_line(exc))
            with self.lock:
                self.failure = self.failure or f"could not store: {_one_line(exc)}"
            return False
        with self.lock:
            self.report.merge(report)
        return True


@dataclass
class JobOutcome:
    """What a web job did: its load errors and skips, how many articles it extracted, the
    counts of storing them (load errors and skips included), and why storing failed."""

    spec: SourceSpec
    errors: list[ItemError]
    skipped: int
    extracted: int
    report: steps.IngestReport
    failure: str | None = None


def _load_job(job: WebJob, settings: Settings, db_url: str) -> JobOutcome:
    """Fetch, extract and store one job; the texts are stored (and dropped) as they come."""
    storer = _Storer(job.spec, db_url)
    try:
        res = load_web_urls(job.spec, job.urls, settings, db_url, sink=storer)
    except Exception as exc:  # one feed's bug must not cost the batch
        res = LoadResult(errors=[ItemError(job.spec.key, f"unexpected error: {_one_line(exc)}")])
    if res.articles:  # defensive: whatever was not handed over is stored now
        storer(res.articles)
    # The load's own errors (pages that failed) and skips count for the source too.
    zero = dict.fromkeys(("new", "updated", "duplicate"), 0)
    own = steps.IngestReport(
        failed=len(res.errors), skipped=res.skipped, errors=[str(e) for e in res.errors]
    )
    own.per_source[job.spec.key] = {**zero, "failed": len(res.errors), "skipped": res.skipped}
    report = steps.IngestReport()
    report.merge(own)
    report.merge(storer.report)
    return JobOutcome(job.spec, res.errors, res.skipped, storer.handed, report, storer.failure)


@task(name="load-web", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def load_web_task(
    jobs: list[WebJob], db_url: str, settings: Settings | None = None
) -> list[JobOutcome]:
    """Fetch, extract and store a batch of feeds (or pages) of one or a few hosts. Each
    feed's articles are cleaned and stored in batches as they come (see :class:`_Storer`),
    so the task returns counts, not texts. Per-request retries, robots.txt and per-host
    limits live in the shared client."""
    settings = settings or get_settings()
    if wants_global(settings):
        bind_api()  # this run's Prefect API holds the per-host limits (fetch threads read it)
    # A few feeds at a time per task: several tasks run at once, each feed's pages are fetched
    # in parallel, and the fetcher caps requests at max_concurrency anyway; more threads
    # would only queue for database connections.
    workers = max(1, min(len(jobs), settings.max_concurrency // JOB_THREADS_DIVISOR))
    if workers == 1:
        results = [_load_job(job, settings, db_url) for job in jobs]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="newsdigest-feed") as pool:
            results = list(pool.map(lambda j: _load_job(j, settings, db_url), jobs))
    logger = _logger()
    for out in results:
        _log_errors(out.report.errors, logger)
        if out.extracted or out.report.failed:
            logger.info("source %s: %s", out.spec.key, out.report.line())
    return results


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The task's run logger; the module's logger in threads outside a task's context."""
    try:
        return get_run_logger()
    except Exception:
        return log


def _store_one(spec: SourceSpec, loaded: LoadResult, db_url: str) -> steps.IngestReport:
    prepared = steps.prepare_articles(loaded, default_outlet=spec.name)
    for attempt, delay in enumerate([*DB_RETRY_DELAYS, None]):
        try:
            with db_session(db_url) as s:
                report = steps.store_loaded(
                    s, spec.key, spec.kind, prepared, name=spec.name, tags=spec.tags
                )
            break
        except OperationalError:  # a locked SQLite file, a PostgreSQL failover
            if delay is None:
                raise
            _logger().warning(
                "storing %s: database busy (attempt %d), retrying", spec.key, attempt + 1
            )
            time.sleep(delay)
    return report


@task(name="store", cache_policy=NO_CACHE)
def store_task(
    items: list[tuple[SourceSpec, LoadResult]], db_url: str
) -> list[tuple[str, steps.IngestReport | None, str | None]]:
    """Clean, enrich and store the articles of a batch of sources; each source on its own
    (one that cannot be stored costs only itself): (key, counts, error) per source."""
    logger = get_run_logger()
    out = []
    for spec, loaded in items:
        try:
            report = _store_one(spec, loaded, db_url)
        except Exception as exc:
            logger.error("source %s: could not store: %s", spec.key, _one_line(exc))
            out.append((spec.key, None, f"could not store: {_one_line(exc)}"))
            continue
        _log_errors(report.errors, logger)
        logger.info("source %s: %s", spec.key, report.line())
        out.append((spec.key, report, None))
    return out


@dataclass
class _Tally:
    """What one source did in this run, gathered over its batches."""

    spec: SourceSpec
    attempted: bool = False
    articles: int = 0
    skipped: int = 0
    errors: list[ItemError] = field(default_factory=list)
    failure: str | None = None
    report: steps.IngestReport = field(default_factory=steps.IngestReport)

    def error(self) -> str | None:
        """Why the source failed, or None when it worked."""
        if self.failure:
            return self.failure
        own = [e.reason for e in self.errors if e.item == self.spec.key]
        if own:
            return own[0]
        if self.attempted and not self.articles and not self.skipped and self.errors:
            first = self.errors[0]
            return f"every item failed ({len(self.errors)}), first: {first}"
        return None


@task(name="source-health", cache_policy=NO_CACHE, retries=DB_RETRIES)
def health_task(outcomes: list[health.Outcome], db_url: str) -> None:
    """Store each source's outcome: last success, failures in a row, next attempt."""
    settings = get_settings()
    with db_session(db_url) as s:
        health.record(
            s,
            outcomes,
            backoff_seconds=settings.source_backoff_seconds,
            backoff_max_seconds=settings.source_backoff_max_seconds,
        )


def _name_sources(items: dict[str, str]) -> str:
    named = [f"{key} ({reason})" for key, reason in list(items.items())[:MESSAGE_MAX_SOURCES]]
    more = len(items) - MESSAGE_MAX_SOURCES
    return "; ".join(named) + (f"; and {more} more" if more > 0 else "")


def ingest_state(report: steps.IngestReport) -> State:
    """Failed when no source worked (and some failed or were held back), else Completed;
    the message names the failed sources."""
    failed, held = report.failed_sources, report.held_sources
    total = report.ok_sources + len(failed) + len(held)
    parts = [report.line()]
    if failed:
        parts.append(f"{len(failed)} of {total} sources failed: {_name_sources(failed)}")
    if held:
        parts.append(f"{len(held)} held back: {_name_sources(held)}")
    if report.ok_sources == 0 and (failed or held):
        message = "stored nothing, every source failed; " + "; ".join(parts)
        return _failed(message, report)
    return Completed(message="; ".join(parts), data=report)


def _sources_table(tallies: dict[str, _Tally], held: dict[str, str]) -> list[dict]:
    rows = []
    for key, t in tallies.items():
        if not t.attempted and key not in held and t.error() is None:
            continue
        err = held.get(key) or t.error()
        status = "held back" if key in held else ("failed" if err else "ok")
        counts = t.report.per_source.get(key, {})
        rows.append(
            {
                "source": key,
                "status": status,
                "new": counts.get("new", 0),
                "updated": counts.get("updated", 0),
                "duplicate": counts.get("duplicate", 0),
                "failed items": len(t.errors),
                "error": health.redact(err or ""),
            }
        )
    rows.sort(key=lambda r: (r["status"] == "ok", r["source"]))
    return rows[:ARTIFACT_MAX_ROWS]


@flow(name="ingest", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_THREADS))
def ingest(sources: list[str] | None = None, db_url: str | None = None) -> State:
    """Fetch or load, clean, enrich and store articles from every source."""
    resume_fetching()
    try:
        return _ingest(sources, db_url)
    except Exception:
        raise
    except BaseException:
        # SIGTERM (Prefect's TerminationSignal), Ctrl-C or a crash: requests in flight end
        # now, so the task runner's threads finish within seconds and the process can exit.
        stop_fetching()
        raise


def _ingest(sources: list[str] | None, db_url: str | None) -> State:
    workers.tame_malloc()  # pages by the thousand pass through this process's threads
    logger = get_run_logger()
    settings = get_settings()
    db_url = db_url or resolve_database_url(settings)
    specs = resolve_sources(sources, settings)
    open_db(db_url)  # migrate once, here: tasks open the database from many threads
    tallies: dict[str, _Tally] = {}

    def tally(spec: SourceSpec) -> _Tally:
        return tallies.setdefault(spec.key, _Tally(spec))

    # Plan: web sources become jobs (a feed each, pages in batches); local ones a task each.
    web_jobs: list[WebJob] = []
    local_specs: list[SourceSpec] = []
    for spec in specs:
        if spec.is_web:
            jobs, plan_errors = plan_web_source(spec)
            tally(spec).errors.extend(plan_errors)
            for job in jobs:
                tally(job.spec)
            web_jobs.extend(jobs)
        else:
            tally(spec)
            local_specs.append(spec)

    # Sources that failed too often, or are backing off, are not tried in this run.
    with db_session(db_url) as s:
        held = health.held_back(s, list(tallies), settings.source_max_failures)
    for key, reason in held.items():
        logger.warning("source %s not tried: %s", key, reason)
    web_jobs = [j for j in web_jobs if j.spec.key not in held]
    local_specs = [sp for sp in local_specs if sp.key not in held]

    pending: list[tuple[list[SourceSpec], Any, Any, tuple]] = []
    for spec in local_specs:
        args = (spec, settings.max_file_bytes)
        pending.append(([spec], _submit(load_local_task, *args), load_local_task, args))
    batches = batch_jobs(web_jobs, settings.feeds_per_task)
    if batches:
        logger.info("fetching %d web jobs in %d tasks", len(web_jobs), len(batches))
    fetch_settings = worker_settings(settings)
    for batch in batches:
        args = (batch, db_url, fetch_settings)
        specs_of = [j.spec for j in batch]
        pending.append((specs_of, _submit(load_web_task, *args), load_web_task, args))

    report = steps.IngestReport()
    for batch_specs, fut, task_obj, args in pending:
        try:
            loaded = _resolve(fut, task_obj, *args)
        except Exception as exc:  # the whole batch failed: each of its sources did
            logger.error("load task failed: %s", _one_line(exc))
            for spec in batch_specs:
                tally(spec).attempted = True
                tally(spec).failure = _one_line(exc)
            continue
        if task_obj is load_web_task:  # stored by the task itself, batch by batch
            for out in loaded:
                t = tally(out.spec)
                t.attempted = True
                t.articles += out.extracted
                t.skipped += out.skipped
                t.errors.extend(out.errors)
                t.report.merge(out.report)
                if out.failure:
                    t.failure = out.failure
            continue
        for spec, res in loaded:
            t = tally(spec)
            t.attempted = True
            t.articles += len(res.articles)
            t.skipped += res.skipped
            t.errors.extend(res.errors)
        to_store = []
        for spec, res in loaded:
            if res.articles or res.errors:
                to_store.append((spec, res))
                continue
            # Nothing new (not modified, or every entry known): no store task, only counts.
            zero = dict.fromkeys(("new", "updated", "duplicate", "failed"), 0)
            counts = steps.IngestReport(skipped=res.skipped)
            counts.per_source[spec.key] = {**zero, "skipped": res.skipped}
            tally(spec).report.merge(counts)
        if not to_store:
            continue
        for key, counts, error in run_task(store_task, to_store, db_url):
            if error:
                tallies[key].failure = error
            else:
                tallies[key].report.merge(counts)

    # Every page is extracted: the worker processes' memory goes back for grouping (they start
    # again with the next run's first page).
    workers.shutdown()
    workers.trim_heap()
    outcomes = []
    for key, t in tallies.items():
        if key in held:
            continue
        report.merge(t.report)
        plan_only = [e for e in t.errors if not t.attempted]
        report.failed += len(plan_only)
        report.errors.extend(str(e) for e in plan_only)
        err = t.error()
        if not t.attempted and err is None:
            continue  # e.g. a URL list whose lines are all feeds: its feeds are the sources
        outcomes.append(health.Outcome(key, t.spec.kind, t.spec.name, err))
        if err:
            report.failed_sources[key] = health.redact(err)
            logger.error("source %s failed: %s", key, health.redact(err))
        else:
            report.ok_sources += 1
    report.held_sources = dict(held)
    run_task(health_task, outcomes, db_url)
    table = _sources_table(tallies, held)
    if table:
        _artifact(
            lambda: create_table_artifact(
                table=table,
                key=SOURCES_ARTIFACT_KEY,
                description=f"Sources of this run: {report.ok_sources} ok, "
                f"{len(report.failed_sources)} failed, {len(held)} held back",
            )
        )
    logger.info("ingest done: %s", report.line())
    return ingest_state(report)


# --- digest -----------------------------------------------------------------------------------
