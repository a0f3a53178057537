"""The ``make_digest`` flow and its tasks: group stored articles into stories, summarize and
render the digest, email it (digests not sent yet wait in the outbox) and notify."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State

from digest.render import DigestView, render_markdown
from digest.settings import get_settings
from flows import steps
from flows.deliver import (
    DeliveryError,
    check_delivery_settings,
    message_from_text,
    message_to_text,
    send_message,
    send_notifications,
)
from flows.run_support import DB_RETRIES, DB_RETRY_DELAYS, _artifact, _failed, _one_line, run_task
from flows.secret_blocks import resolve_database_url, smtp_password
from storage import outbox
from storage.engine import session as db_session

ARTIFACT_KEY = "newsdigest-digest"


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
