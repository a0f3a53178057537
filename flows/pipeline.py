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

from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.states import Completed, State

from digest.settings import get_settings
from flows.deliver import check_delivery_settings
from flows.digest_flow import (
    ARTIFACT_KEY,
    Delivery,
    DigestResult,
    digest_task,
    group_task,
    make_digest,
    send_email_task,
)
from flows.ingest_flow import (
    ARTIFACT_MAX_ROWS,
    JOB_THREADS_DIVISOR,
    MESSAGE_MAX_SOURCES,
    SOURCES_ARTIFACT_KEY,
    batch_jobs,
    health_task,
    ingest,
    ingest_state,
    load_local_task,
    load_web_task,
    resolve_sources,
    store_task,
    worker_settings,
)
from flows.run_support import (
    DB_RETRIES,
    DB_RETRY_DELAYS,
    RunFailed,
    _failed,
    is_api_error,
    run_task,
    state_data,
)
from flows.runners import make_task_runner

# Names other modules, tests and deploy/prefect.yaml use from here; the code lives in
# flows.ingest_flow, flows.digest_flow and flows.run_support.
__all__ = [
    "ARTIFACT_KEY",
    "ARTIFACT_MAX_ROWS",
    "DB_RETRIES",
    "DB_RETRY_DELAYS",
    "JOB_THREADS_DIVISOR",
    "MESSAGE_MAX_SOURCES",
    "SOURCES_ARTIFACT_KEY",
    "Delivery",
    "DigestResult",
    "RunFailed",
    "batch_jobs",
    "daily_digest",
    "digest_task",
    "group_task",
    "health_task",
    "ingest",
    "ingest_state",
    "is_api_error",
    "load_local_task",
    "load_web_task",
    "make_digest",
    "resolve_sources",
    "run_task",
    "send_email_task",
    "state_data",
    "store_task",
    "worker_settings",
]


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
