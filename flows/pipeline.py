"""Prefect flows: ``ingest``, ``make_digest`` and ``daily_digest`` (the two in sequence).

Tasks are thin: they open a session from the database URL (engines and sessions cannot be
task inputs: Prefect would try to hash them) and call the plain functions of flows.steps.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from digest.render import DigestView, render_markdown
from digest.settings import Settings, get_settings
from flows import steps
from flows.deliver import send_digest_email, send_notifications
from flows.sources.base import ItemError, LoadResult
from flows.sources.fetch import resume_fetching, stop_fetching
from flows.sources.local import load_local
from flows.sources.spec import SourceSpec, classify
from flows.sources.web import load_web_source, load_web_urls, plan_web_source
from storage.engine import open_db
from storage.engine import session as db_session

ARTIFACT_KEY = "newsdigest-digest"
# A failed database write is worth two more tries (locked SQLite file, PostgreSQL failover).
DB_RETRIES = 2
DB_RETRY_DELAYS = [2, 10]


@dataclass
class DigestResult:
    path: str | None
    stories: int
    emailed: int = 0
    email_error: str | None = None
    notified: int = 0
    notify_error: str | None = None
    groups: dict = field(default_factory=dict)


def _log_errors(errors: list[ItemError] | list[str], logger: logging.Logger) -> None:
    for err in errors:
        logger.error("skipped %s", err)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def resolve_sources(sources: list[str] | None, settings: Settings) -> list[SourceSpec]:
    """Command-line sources, else the sources file, else the project's seeds folder."""
    if sources:
        return [classify(s) for s in sources]
    if settings.sources_file:
        from flows.sources.config import load_sources_file

        return load_sources_file(settings.sources_file)
    return [classify(str(settings.seeds_dir))]


@task(name="load-local", cache_policy=NO_CACHE)
def load_local_task(spec: SourceSpec, max_bytes: int) -> LoadResult:
    """Read a file or folder of articles."""
    return load_local(Path(spec.key), max_bytes)


@task(name="load-web", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def load_web_task(spec: SourceSpec, db_url: str, urls: list[str] | None = None) -> LoadResult:
    """Fetch one feed or one batch of pages (``urls``), or a whole web source when no URLs are
    given. Per-request retries, robots.txt and per-host limits live in the shared client."""
    if urls is None:
        return load_web_source(spec, get_settings(), db_url)
    return load_web_urls(spec, urls, get_settings(), db_url)


@task(name="store", cache_policy=NO_CACHE, retries=DB_RETRIES, retry_delay_seconds=DB_RETRY_DELAYS)
def store_task(spec: SourceSpec, loaded: LoadResult, db_url: str) -> steps.IngestReport:
    """Clean, enrich and store one source's articles."""
    logger = get_run_logger()
    prepared = steps.prepare_articles(loaded, default_outlet=spec.name)
    with db_session(db_url) as s:
        report = steps.store_loaded(
            s, spec.key, spec.kind, prepared, name=spec.name, tags=spec.tags
        )
    _log_errors(prepared.errors, logger)
    logger.info("source %s: %s", spec.key, report.line())
    return report


@flow(name="ingest", log_prints=True)
def ingest(sources: list[str] | None = None, db_url: str | None = None) -> steps.IngestReport:
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


def _ingest(sources: list[str] | None, db_url: str | None) -> steps.IngestReport:
    logger = get_run_logger()
    settings = get_settings()
    db_url = db_url or settings.database_url
    specs = resolve_sources(sources, settings)
    report = steps.IngestReport()
    # Web sources become a task per feed and per batch of pages (an OPML file is many
    # feeds); they run concurrently, and the shared HTTP client keeps the per-host limits.
    loads: list[tuple[SourceSpec, object]] = []
    if any(spec.is_web for spec in specs):
        open_db(db_url)  # migrate once, here: web tasks open the database from many threads
    for spec in specs:
        if spec.is_web:
            jobs, plan_errors = plan_web_source(spec)
            if plan_errors:
                loads.append((spec, LoadResult(errors=plan_errors)))
            for job in jobs:
                loads.append((job.spec, load_web_task.submit(job.spec, db_url, job.urls)))
        else:
            loads.append((spec, load_local_task.submit(spec, settings.max_file_bytes)))
    # The batches of one source are stored together, once, under that source.
    by_source: dict[str, tuple[SourceSpec, LoadResult]] = {}
    for spec, pending in loads:
        try:
            loaded = pending if isinstance(pending, LoadResult) else pending.result()
        except Exception as exc:  # one broken source must not stop the others
            logger.error("source %s failed: %s", spec.key, exc)
            report.failed += 1
            report.errors.append(f"{spec.key}: {exc}")
            continue
        if spec.key in by_source:
            by_source[spec.key][1].extend(loaded)
        else:
            by_source[spec.key] = (spec, loaded)
    for spec, loaded in by_source.values():
        if not loaded.articles and not loaded.errors:
            # Nothing new (not modified, or every entry known): no task, only the counts.
            counts = steps.IngestReport(skipped=loaded.skipped)
            zero = dict.fromkeys(("new", "updated", "duplicate", "failed"), 0)
            counts.per_source[spec.key] = {**zero, "skipped": loaded.skipped}
            report.merge(counts)
            continue
        try:
            report.merge(store_task(spec, loaded, db_url))
        except Exception as exc:  # the database failed for this source even after retries
            logger.error("source %s not stored: %s", spec.key, _first_line(exc))
            report.failed += max(1, len(loaded.articles))
            report.errors.append(f"{spec.key}: not stored: {_first_line(exc)}")
    logger.info("ingest done: %s", report.line())
    return report


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
    """Summarize the new and updated stories, write the digest files, record the digest."""
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
        steps.record_digest(s, view, stories, path)
    create_markdown_artifact(
        markdown=render_markdown(view),
        key=ARTIFACT_KEY,
        description=f"News digest with {view.story_count} stories",
    )
    logger.info(
        "digest written to %s (stories: %d, in full: %d)",
        path,
        view.story_count,
        len(view.stories),
    )
    return DigestResult(path=str(path), stories=view.story_count), view


@task(name="email", cache_policy=NO_CACHE)
def send_email_task(view: DigestView) -> int:
    """Send the digest to NEWSDIGEST_EMAIL_TO; returns the number of recipients."""
    n = send_digest_email(view, get_settings())
    get_run_logger().info("digest emailed to %d recipients", n)
    return n


@flow(name="make_digest", log_prints=True)
def make_digest(
    db_url: str | None = None, out_dir: str | None = None, since_hours: float | None = None
) -> DigestResult:
    """Group what is stored into stories, summarize them, publish the digest."""
    settings = get_settings()
    db_url = db_url or settings.database_url
    groups = group_task(db_url, settings.story_quiet_days)
    result, view = digest_task(db_url, out_dir or str(settings.out_dir), since_hours)
    result.groups = asdict(groups)
    if settings.notify_targets and view.story_count:
        try:
            result.notified = send_notifications(view, settings, result.path)
        except Exception as exc:  # like email: the digest is written; delivery is reported
            get_run_logger().error("notifications not sent: %s", exc)
            result.notify_error = str(exc)
    if settings.email_recipients and not view.story_count and not settings.email_empty:
        get_run_logger().info("nothing new: no email (NEWSDIGEST_EMAIL_EMPTY=1 sends one)")
    elif settings.email_recipients:
        try:
            delays = settings.email_retry_delays
            result.emailed = send_email_task.with_options(
                retries=len(delays), retry_delay_seconds=delays or 0
            )(view)
        except Exception as exc:  # the digest is written and recorded; delivery is reported
            get_run_logger().error("email not sent: %s", exc)
            result.email_error = str(exc)
    return result


@flow(name="daily_digest", log_prints=True)
def daily_digest(
    sources: list[str] | None = None,
    db_url: str | None = None,
    out_dir: str | None = None,
    since_hours: float | None = None,
) -> dict:
    """Ingest every source, then make and publish the digest."""
    logger = get_run_logger()
    report = ingest(sources=sources, db_url=db_url)
    result = make_digest(db_url=db_url, out_dir=out_dir, since_hours=since_hours)
    logger.info(
        "run summary: %s; digest %s (stories: %d)", report.line(), result.path, result.stories
    )
    return {"ingest": asdict(report), "digest": asdict(result)}
