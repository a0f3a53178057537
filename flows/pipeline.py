"""Prefect flows: ``ingest``, ``make_digest`` and ``daily_digest`` (the two in sequence).

Tasks are thin: they open a session from the database URL (engines and sessions cannot be
task inputs: Prefect would try to hash them) and call the plain functions of flows.steps.

States (the exit codes of DESIGN.md follow them): a run in which every source failed, or whose
digest could not be emailed, ends Failed; a run in which some sources failed ends Completed
with the failed sources named in its state message. Feeds are fetched tens per task, grouped
per host, so thousands of feeds make a few hundred task runs; a Prefect API error on one task
(e.g. 503 when the server is busy) runs that work in the flow's own process instead of losing
it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.exc import OperationalError

from digest.render import DigestView, render_markdown
from digest.settings import Settings, get_settings
from flows import steps
from flows.deliver import (
    DeliveryError,
    check_delivery_settings,
    message_from_text,
    message_to_text,
    send_message,
    send_notifications,
)
from flows.runners import DEFAULT_THREADS, make_task_runner
from flows.secret_blocks import resolve_database_url, smtp_password
from flows.sources.base import ItemError, LoadResult
from flows.sources.fetch import resume_fetching, stop_fetching
from flows.sources.local import load_local
from flows.sources.spec import SourceSpec, classify
from flows.sources.web import WebJob, load_web_urls, plan_web_source
from storage import health, outbox
from storage.engine import open_db
from storage.engine import session as db_session

ARTIFACT_KEY = "newsdigest-digest"
SOURCES_ARTIFACT_KEY = "newsdigest-sources"
# A failed database write is worth two more tries (locked SQLite file, PostgreSQL failover).
DB_RETRIES = 2
DB_RETRY_DELAYS = [2, 10]
# A load task fetches max_concurrency / this many of its feeds at a time.
JOB_THREADS_DIVISOR = 4
# Rows of the per-run sources table artifact (failed sources first).
ARTIFACT_MAX_ROWS = 1000
# How many sources a state message names before "and N more".
MESSAGE_MAX_SOURCES = 5


class RunFailed(Exception):
    """A run that finished but failed (every source failed, the digest not delivered); the
    Failed state carries it, with the run's result in ``data``. Calling a flow directly
    raises it; :func:`state_data` returns the data."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message, data)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


def _failed(message: str, data: Any) -> State:
    return Failed(message=message, data=RunFailed(message, data))


def worker_settings(settings: Settings) -> Settings:
    """The settings a fetch task needs, without secrets: tasks may run on Dask workers
    whose environment is not the flow's, so the flow's settings travel with the task."""
    return settings.model_copy(
        update={"smtp_password": None, "database_url": "", "database_url_block": None}
    )


@dataclass
class DigestResult:
    path: str | None
    stories: int
    emailed: int = 0  # recipients who got this run's digest
    email_error: str | None = None
    notified: int = 0
    notify_error: str | None = None
    pending_emails: int = 0  # digests still waiting to be emailed after this run
    sent_earlier: int = 0  # digests of earlier runs delivered by this one
    kept_email: int | None = None  # the digest row whose email this run kept for sending
    groups: dict = field(default_factory=dict)


def _log_errors(errors: list[ItemError] | list[str], logger: logging.Logger) -> None:
    for err in errors:
        logger.error("skipped %s", err)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def resolve_sources(sources: list[str] | None, settings: Settings) -> list[SourceSpec]:
    """Command-line sources, else the sources file, else the project's seeds folder."""
    if sources:
        return [classify(s) for s in sources]
    if settings.sources_file:
        from flows.sources.config import load_sources_file

        return load_sources_file(settings.sources_file)
    return [classify(str(settings.seeds_dir))]


# --- Prefect API trouble ----------------------------------------------------------------------


def is_api_error(exc: BaseException) -> bool:
    """An error talking to the Prefect API (a busy server's 503, a dropped connection), as
    opposed to one raised by our own code inside a task."""
    return isinstance(exc, (httpx.HTTPStatusError, httpx.TransportError))


def run_task(task_obj, *args, **kwargs):
    """Call a task; when the Prefect API fails around it, run its function here instead."""
    try:
        return task_obj(*args, **kwargs)
    except Exception as exc:
        if not is_api_error(exc):
            raise
        get_run_logger().warning(
            "Prefect API error around task %s (%s): running it without orchestration",
            task_obj.name,
            _one_line(exc),
        )
        return task_obj.fn(*args, **kwargs)


def _submit(task_obj, *args):
    try:
        return task_obj.submit(*args)
    except Exception as exc:
        if not is_api_error(exc):
            raise
        return exc  # resolved (run in-process) by _resolve


def _resolve(pending, task_obj, *args):
    """A submitted task's result; on a Prefect API error, the task's work done in-process."""
    try:
        if isinstance(pending, BaseException):
            raise pending
        return pending.result()
    except Exception as exc:
        if not is_api_error(exc):
            raise
        get_run_logger().warning(
            "Prefect API error on task %s (%s): running it without orchestration",
            task_obj.name,
            _one_line(exc),
        )
        return task_obj.fn(*args)


def _artifact(make: Callable[[], Any]) -> None:
    """Artifacts are a view: a failure to create one is logged, never fatal."""
    try:
        make()
    except Exception as exc:
        get_run_logger().warning("could not create a Prefect artifact: %s", _one_line(exc))


# --- ingest -----------------------------------------------------------------------------------


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


def _load_job(job: WebJob, settings: Settings, db_url: str) -> LoadResult:
    try:
        return load_web_urls(job.spec, job.urls, settings, db_url)
    except Exception as exc:  # one feed's bug must not cost the batch
        return LoadResult(errors=[ItemError(job.spec.key, f"unexpected error: {_one_line(exc)}")])


@task(name="load-web", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def load_web_task(
    jobs: list[WebJob], db_url: str, settings: Settings | None = None
) -> list[tuple[SourceSpec, LoadResult]]:
    """Fetch a batch of feeds (or pages) of one or a few hosts. Per-request retries,
    robots.txt and per-host limits live in the shared client."""
    settings = settings or get_settings()
    # A few feeds at a time per task: several tasks run at once, each feed's pages are fetched
    # in parallel, and the fetcher caps requests at max_concurrency anyway; more threads
    # would only queue for database connections.
    workers = max(1, min(len(jobs), settings.max_concurrency // JOB_THREADS_DIVISOR))
    if workers == 1:
        results = [_load_job(job, settings, db_url) for job in jobs]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="newsdigest-feed") as pool:
            results = list(pool.map(lambda j: _load_job(j, settings, db_url), jobs))
    return [(job.spec, res) for job, res in zip(jobs, results, strict=True)]


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
            get_run_logger().warning(
                "storing %s: database busy (attempt %d), retrying", spec.key, attempt + 1
            )
            time.sleep(delay)
    report.errors = [str(e) for e in prepared.errors]
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


@task(name="group", cache_policy=NO_CACHE, retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAYS)
def group_task(db_url: str, quiet_days: float) -> steps.GroupReport:
    """Assign new articles to stories."""
    with db_session(db_url) as s:
        report = steps.group_new_articles(s, quiet_days)
    get_run_logger().info(
        "grouped %d articles: new stories %d, extended %d, near-duplicates %d, "
        "earlier articles moved %d, closed %d",
        report.articles,
        report.new_stories,
        report.extended_stories,
        report.near_duplicates,
        report.moved,
        report.closed,
    )
    return report


@task(
    name="summarize-and-render",
    cache_policy=NO_CACHE,
    retries=DB_RETRIES,
    retry_delay_seconds=DB_RETRY_DELAYS,
)
def digest_task(
    db_url: str, out_dir: str, since_hours: float | None
) -> tuple[DigestResult, DigestView]:
    """Summarize the new and updated stories, write the digest files, record the digest
    (with its email kept as pending when email is configured: sent by the email task)."""
    from digest.email import build_message

    logger = get_run_logger()
    settings = get_settings()
    since = timedelta(hours=since_hours) if since_hours else None
    with db_session(db_url) as s:
        view, stories = steps.build_digest(
            s,
            since=since,
            max_words=settings.summary_max_words,
            max_sentences=settings.summary_max_sentences,
            max_stories=settings.digest_max_stories,
            by_language=settings.digest_by_language,
        )
        view.title = settings.digest_title
        path = steps.write_digest(
            view,
            Path(out_dir),
            public_url=settings.public_url,
            feed_max_entries=settings.feed_max_entries,
        )
        row = steps.record_digest(s, view, stories, path)
        kept = None
        if settings.email_recipients and not view.story_count and not settings.email_empty:
            logger.info("nothing new: no email (NEWSDIGEST_EMAIL_EMPTY=1 sends one)")
        elif settings.email_recipients and row is not None:
            msg = build_message(
                view, settings.email_from, settings.email_recipients, settings.email_unsubscribe
            )
            outbox.keep(s, row.id, message_to_text(msg))
            kept = row.id
    _artifact(
        lambda: create_markdown_artifact(
            markdown=render_markdown(view),
            key=ARTIFACT_KEY,
            description=f"News digest with {view.story_count} stories",
        )
    )
    logger.info(
        "digest written to %s (stories: %d, in full: %d)",
        path,
        view.story_count,
        len(view.stories),
    )
    return DigestResult(path=str(path), stories=view.story_count, kept_email=kept), view


@dataclass
class Delivery:
    sent: list[int] = field(default_factory=list)  # digest ids, oldest first
    accepted: dict[int, int] = field(default_factory=dict)  # digest id -> recipients
    error: str | None = None
    pending: int = 0


@task(name="email", cache_policy=NO_CACHE)
def send_email_task(db_url: str) -> Delivery:
    """Email every digest not sent yet, oldest first (an earlier run's digest that could not
    be sent goes out now). A transient error is retried; a permanent one is not."""
    logger = get_run_logger()
    settings = get_settings()
    password = smtp_password(settings)
    out = Delivery()
    with db_session(db_url) as s:
        for row in outbox.pending(s):
            msg = message_from_text(row.email_message or "", settings.email_recipients)
            try:
                out.accepted[row.id] = send_message(msg, settings, password)
            except DeliveryError as exc:
                out.error = str(exc)
                outbox.mark_failed(s, row.id, str(exc))
                kind = "permanent error, not retried" if exc.permanent else "gave up"
                logger.error("digest %d not emailed (%s): %s", row.id, kind, exc)
                break  # the next digests would meet the same server
            outbox.mark_sent(s, row.id)
            out.sent.append(row.id)
            logger.info("digest %d emailed to %d recipients", row.id, out.accepted[row.id])
        out.pending = len(outbox.pending(s))
    return out


@flow(name="make_digest", log_prints=True)
def make_digest(
    db_url: str | None = None, out_dir: str | None = None, since_hours: float | None = None
) -> State:
    """Group what is stored into stories, summarize them, publish the digest."""
    settings = get_settings()
    check_delivery_settings(settings)
    db_url = db_url or resolve_database_url(settings)
    groups = run_task(group_task, db_url, settings.story_quiet_days)
    result, view = run_task(digest_task, db_url, out_dir or str(settings.out_dir), since_hours)
    result.groups = asdict(groups)
    if settings.notify_targets and view.story_count:
        try:
            result.notified = send_notifications(view, settings, result.path)
        except Exception as exc:  # like email: the digest is written; delivery is reported
            get_run_logger().error("notifications not sent: %s", exc)
            result.notify_error = str(exc)
    message = f"digest {result.path} ({result.stories} stories)"
    if not settings.email_recipients:
        return Completed(message=message, data=result)
    try:
        delivery = run_task(send_email_task, db_url)
    except Exception as exc:  # the digest is written and kept as pending
        delivery = Delivery(error=_one_line(exc), pending=1)
    # This run's digest (when it has one to email: an empty digest is not mailed) and the
    # kept digests of earlier runs.
    if result.kept_email is not None and result.kept_email in delivery.sent:
        result.emailed = delivery.accepted[result.kept_email]
        result.sent_earlier = len(delivery.sent) - 1
    else:
        result.sent_earlier = len(delivery.sent)
    result.pending_emails = delivery.pending
    result.email_error = delivery.error
    if delivery.error or delivery.pending:
        get_run_logger().error("email not sent: %s", delivery.error)
        return _failed(
            f"{message}, but not emailed: {delivery.error}; "
            f"{delivery.pending} digest(s) kept, sent on the next run",
            result,
        )
    return Completed(message=f"{message}, emailed", data=result)


def state_data(state: State):
    """The data a finished flow run returned (also when it ended Failed); re-raises when the
    run crashed with an exception."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunFailed):
        return data.data
    if isinstance(data, BaseException):
        raise data
    return data


@flow(name="daily_digest", log_prints=True)
def daily_digest(
    sources: list[str] | None = None,
    db_url: str | None = None,
    out_dir: str | None = None,
    since_hours: float | None = None,
) -> State:
    """Ingest every source, then make and publish the digest."""
    logger = get_run_logger()
    settings = get_settings()
    check_delivery_settings(settings)
    runner = make_task_runner(settings)
    ingested = ingest.with_options(task_runner=runner)(
        sources=sources, db_url=db_url, return_state=True
    )
    report = state_data(ingested)
    digested = make_digest(
        db_url=db_url, out_dir=out_dir, since_hours=since_hours, return_state=True
    )
    result = state_data(digested)
    logger.info(
        "run summary: %s; digest %s (stories: %d)", report.line(), result.path, result.stories
    )
    data = {"ingest": asdict(report), "digest": asdict(result)}
    problems = [s.message for s in (ingested, digested) if s.is_failed()]
    if problems:
        return _failed("; ".join(problems), data)
    return Completed(message=f"{ingested.message}; {digested.message}", data=data)
