"""The ``newsdigest`` command: a thin layer over the flows and the library.

``export``, ``cluster`` and ``summarize`` call the library directly, without starting Prefect.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

# Prefect reads these at import time: no telemetry calls from an offline machine, and a
# start-up timeout long enough for a fresh PREFECT_HOME (its first migration takes ~20 s).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newsdigest")
# Library code (fetching, storage) logs outside flow runs too: not an error.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

app = typer.Typer(
    help="newsdigest: one short digest of many news articles, grouped into stories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
export_app = typer.Typer(help="Write stored data as JSON Lines on stdout.", no_args_is_help=True)
app.add_typer(export_app, name="export")
sources_app = typer.Typer(
    help="Each source with its health; `sources enable NAME` clears a suspended source.",
    invoke_without_command=True,
)
app.add_typer(sources_app, name="sources")

# Exit codes (DESIGN.md): 2 the run cannot start; 3 it finished but stored nothing because every
# source failed, or could not deliver its digest (kept and sent by the next run).
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3

SourceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        "-s",
        help="A folder or file of articles, a feed or article URL, an .opml file, or a file of "
        "URLs. Repeatable. Default: the sources file, else the project's seeds/ folder.",
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: NEWSDIGEST_DATABASE_URL or sqlite:///newsdigest.db).",
        show_default=False,
    ),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Folder for the digest files (default: digests/).")
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)?\s*$", re.I)
_UNIT_HOURS = {"m": 1 / 60, "min": 1 / 60, "h": 1, "d": 24, "w": 24 * 7, None: 1}


class UserError(Exception):
    """An error the user can fix; printed as one line, exit code 2."""


def parse_duration(value: str) -> timedelta:
    """'24h', '3d', '90m', '1w' (a bare number is hours)."""
    m = _DURATION.match(value or "")
    if not m:
        raise UserError(f"--since {value!r} is not a duration: use e.g. 90m, 24h, 3d or 1w")
    unit = m.group(2).lower() if m.group(2) else None
    return timedelta(hours=float(m.group(1)) * _UNIT_HOURS[unit])


def _settings():
    from digest.settings import get_settings

    return get_settings()


def _db(db: str | None) -> str:
    """The database URL to use; --db is passed on through the environment, never as a flow
    parameter, because Prefect stores flow parameters (and a URL may carry a password)."""
    if db:
        os.environ["NEWSDIGEST_DATABASE_URL"] = db
        from digest.settings import get_settings

        get_settings.cache_clear()
    settings = _settings()
    if settings.database_url_block and not db:
        from flows.secrets import SecretBlockError, resolve_database_url

        try:
            return resolve_database_url(settings)
        except SecretBlockError as exc:
            raise UserError(str(exc)) from None
    return settings.database_url


def _check_db(db_url: str) -> None:
    """Open the database once up front, so a bad URL is one clear line, not a flow crash."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.engine import DatabaseURLError, open_db, safe_url

    try:
        with open_db(db_url).connect():
            pass
    except DatabaseURLError as exc:
        raise UserError(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise UserError(
            f"cannot open the database {safe_url(db_url)}: {reason} "
            "(check --db / NEWSDIGEST_DATABASE_URL)"
        ) from None


def _print_report(report) -> None:
    typer.echo(
        f"ingested: new {report['new']}, updated {report['updated']}, "
        f"duplicate {report['duplicate']}, failed {report['failed']}"
        + (f", skipped {report['skipped']}" if report.get("skipped") else "")
    )
    per_source = report.get("per_source") or {}
    if len(per_source) > 1:
        for key, c in per_source.items():
            typer.echo(
                f"  {key}: new {c['new']}, updated {c['updated']}, duplicate {c['duplicate']}, "
                f"failed {c['failed']}, skipped {c['skipped']}"
            )
    for err in report.get("errors", []):
        typer.echo(f"  failed: {err}", err=True)


@app.command()
def run(
    source: SourceOpt = None,
    db: DbOpt = None,
    out: OutOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Window instead of 'since the last digest', e.g. 24h or 3d.")
    ] = None,
) -> None:
    """One full pass: ingest, group, summarize, write the digest; prints where it went.

    Example: newsdigest run --source seeds/ --out digests/
    """
    db_url = _db(db)
    window = parse_duration(since) if since else None
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import daily_digest
    from flows.sources.web import fetch_progress

    _guard_prefect()
    with fetch_progress():
        state = daily_digest(
            sources=source,
            out_dir=str(out or _settings().out_dir),
            since_hours=window.total_seconds() / 3600 if window else None,
            return_state=True,
        )
    result = _finished(state)
    _print_report(result["ingest"])
    digest = result["digest"]
    _print_digest(digest)
    _exit_for(state)


def _check_run_settings() -> None:
    """Settings a run needs, checked before it starts (exit 2 with one line)."""
    from digest.settings import get_settings
    from flows.deliver import check_email_settings

    settings = get_settings()
    check_email_settings(settings)
    if settings.task_runner == "dask":
        from flows.runners import TaskRunnerError, make_task_runner

        try:
            make_task_runner(settings)
        except TaskRunnerError as exc:
            raise UserError(str(exc)) from None


def _finished(state):
    """The data of a finished flow run; a crashed run is one line and exit 1."""
    from flows.pipeline import state_data

    try:
        return state_data(state)
    except Exception as exc:
        typer.echo(f"newsdigest: the run crashed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None


def _exit_for(state) -> None:
    if state.is_failed():
        typer.echo(f"newsdigest: run failed: {state.message}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)
    if state.message and "failed" in state.message:
        typer.echo(f"warning: {state.message}", err=True)


def _guard_prefect() -> None:
    """Prefect's temporary server (no PREFECT_API_URL) must not outlive this command, also
    when it is killed: SIGTERM exits normally (Prefect stops the server at exit), and a small
    watchdog stops the server when this process dies of anything else."""
    import signal

    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return  # a real server: nothing temporary to clean up

    def _term(signum, _frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not the main thread (tests)
        return
    from flows.prefect_guard import watch_ephemeral_server

    watch_ephemeral_server()


def _print_digest(digest: dict) -> None:
    if digest.get("sent_earlier"):
        typer.echo(f"emailed {digest['sent_earlier']} digest(s) of earlier runs")
    if digest.get("email_error"):
        typer.echo(
            f"email not sent: {digest['email_error']} (the digest is kept and sent by the "
            "next run)",
            err=True,
        )
    elif digest.get("emailed"):
        typer.echo(f"emailed to {digest['emailed']} recipients")
    n = digest["stories"]
    typer.echo(f"digest: {digest['path']} ({n} {'story' if n == 1 else 'stories'})")


@app.command()
def ingest(source: SourceOpt = None, db: DbOpt = None) -> None:
    """Fetch or load, clean and store articles; prints counts (new, updated, duplicate, failed).

    Example: newsdigest ingest --source https://example.com/feed.xml --source articles/
    """
    from dataclasses import asdict

    db_url = _db(db)
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import ingest as ingest_flow
    from flows.runners import make_task_runner
    from flows.sources.web import fetch_progress

    _guard_prefect()
    with fetch_progress():
        state = ingest_flow.with_options(task_runner=make_task_runner(_settings()))(
            sources=source, return_state=True
        )
    _print_report(asdict(_finished(state)))
    _exit_for(state)


@app.command()
def digest(
    db: DbOpt = None,
    out: OutOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Only stories updated within this window, e.g. 24h or 3d.")
    ] = None,
) -> None:
    """Group, summarize and write the digest from what is stored.

    Example: newsdigest digest --since 24h --out digests/
    """
    from dataclasses import asdict

    db_url = _db(db)
    window = parse_duration(since) if since else None
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import make_digest

    _guard_prefect()
    state = make_digest(
        out_dir=str(out or _settings().out_dir),
        since_hours=window.total_seconds() / 3600 if window else None,
        return_state=True,
    )
    _print_digest(asdict(_finished(state)))
    _exit_for(state)


SERVE_DEPLOYMENT = "serve"
WORKER_DEPLOYMENT = "daily"


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to run (cron syntax).")] = "0 6 * * *",
    timezone: Annotated[str, typer.Option(help="Time zone of the cron expression.")] = "UTC",
    name: Annotated[
        str,
        typer.Option(help="Deployment name (not 'daily': that is deploy/prefect.yaml's)."),
    ] = SERVE_DEPLOYMENT,
) -> None:
    """Serve the scheduled daily_digest deployment from this process (needs a Prefect server).

    Registers daily_digest/serve, beside (never over) the work-pool deployment
    daily_digest/daily of deploy/prefect.yaml.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api newsdigest serve --cron "0 6 * * *"
    """
    if name == WORKER_DEPLOYMENT:
        raise UserError(
            f"--name {name!r} is the work-pool deployment of deploy/prefect.yaml: "
            "serving it would overwrite its work pool and concurrency limit; choose another name"
        )
    _check_run_settings()
    from prefect.schedules import Cron

    from flows.pipeline import daily_digest

    daily_digest.serve(name=name, schedule=Cron(cron, timezone=timezone), pause_on_shutdown=False)


@sources_app.callback()
def sources(ctx: typer.Context, db: DbOpt = None) -> None:
    """Each source (configured or stored) with its health: status, last success,
    consecutive failures, next attempt, last error.

    Example: newsdigest sources --db sqlite:///newsdigest.db
    """
    if ctx.invoked_subcommand is not None:
        return
    from storage import health
    from storage.engine import session

    db_url = _db(db)
    _check_db(db_url)
    settings = _settings()
    with session(db_url) as s:
        rows = health.list_health(s)
    known = {h.key for h in rows}
    configured = []
    if settings.sources_file:
        from flows.sources.config import load_sources_file

        try:
            configured = list(load_sources_file(settings.sources_file))
        except Exception as exc:
            typer.echo(f"warning: cannot read the sources file: {exc}", err=True)
    for spec in configured:
        if spec.key not in known:
            rows.append(health.Health(spec.key, spec.kind, spec.name, None, None, 0, None, None))
    if not rows:
        typer.echo("no sources yet: run `newsdigest run --source S` or set NEWSDIGEST_SOURCES_FILE")
        return

    def when(value) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value else "-"

    header = ("STATUS", "FAILS", "LAST SUCCESS", "NEXT ATTEMPT", "SOURCE", "LAST ERROR")
    table = [header]
    for h in rows:
        status = h.status(settings.source_max_failures)
        table.append(
            (
                status,
                str(h.consecutive_failures),
                when(h.last_success_at),
                when(h.next_attempt_at) if status != "suspended" else "after enable",
                h.key,
                h.last_error or "",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        cells = [r[i].ljust(widths[i]) for i in range(4)]
        typer.echo("  ".join([*cells, r[4], r[5]]).rstrip())


@sources_app.command("enable")
def sources_enable(
    name: Annotated[
        str | None, typer.Argument(help="The source's key (path or URL) or name.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every failing source.")] = False,
    db: DbOpt = None,
) -> None:
    """Clear a source's failures, so the next run tries it again (after a fix).

    Example: newsdigest sources enable https://example.com/feed.xml
    """
    from storage import health
    from storage.engine import session

    if not name and not all_:
        raise UserError("name a source (its URL, path or name), or give --all")
    db_url = _db(db)
    _check_db(db_url)
    with session(db_url) as s:
        keys = health.enable(s, name, everything=all_)
    if not keys:
        raise UserError(
            f"no source {name!r} is stored: see `newsdigest sources` for the names"
            if name
            else "no source is failing"
        )
    for key in keys:
        typer.echo(f"enabled: {key}")


def _jsonl(rows) -> None:
    out = sys.stdout
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()


@export_app.command("articles")
def export_articles(db: DbOpt = None) -> None:
    """Stored articles as JSONL (format A).

    Example: newsdigest export articles > articles.jsonl
    """
    from storage import repo
    from storage.engine import session

    db_url = _db(db)
    _check_db(db_url)
    with session(db_url) as s:
        _jsonl(repo.export_articles(s))


@export_app.command("stories")
def export_stories(db: DbOpt = None) -> None:
    """Stories as JSONL (format S): headline, article ids, attributed summary.

    Example: newsdigest export stories | jq .headline
    """
    from storage import repo
    from storage.engine import session

    db_url = _db(db)
    _check_db(db_url)
    with session(db_url) as s:
        _jsonl(repo.export_stories(s))


def _read_jsonl(file: str) -> list[dict]:
    fh = sys.stdin if file == "-" else None
    try:
        text = fh.read() if fh else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{file} is not UTF-8 text: save it as UTF-8 JSON Lines") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{file} line {n} is not valid JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise UserError(f"{file} line {n} is not a JSON object")
        rows.append(row)
    return rows


@app.command()
def cluster(
    file: Annotated[str, typer.Argument(help="JSONL of articles (format A); - for stdin.")],
) -> None:
    """Group the articles in FILE into stories, statelessly: JSONL {"id", "story"} per article.

    Example: newsdigest cluster articles.jsonl > stories.jsonl
    """
    from digest.grouping import cluster_articles
    from flows.steps import articles_for_cluster

    rows = _read_jsonl(file)
    for n, row in enumerate(rows, 1):
        missing = [k for k in ("id", "title", "text") if k not in row]
        if missing:
            raise UserError(f"{file} line {n}: missing {', '.join(missing)} (format A)")
    articles = articles_for_cluster(rows)
    labels = cluster_articles(articles)
    _jsonl({"id": a.id, "story": label} for a, label in zip(articles, labels, strict=True))


@app.command()
def summarize(
    file: Annotated[str, typer.Argument(help="JSONL of clusters (format C); - for stdin.")],
    max_words: Annotated[int | None, typer.Option(help="At most this many words.")] = None,
    max_sentences: Annotated[int | None, typer.Option(help="At most this many sentences.")] = None,
    method: Annotated[
        str, typer.Option(help="Sentence scorer: lexrank, textrank, lsa, luhn, kl, sumbasic.")
    ] = "lexrank",
) -> None:
    """Summarize each cluster in FILE: JSONL {"id", "summary": [...], "sources": [...]}.

    Example: newsdigest summarize clusters.jsonl --max-words 100
    """
    from digest.dates import parse_date
    from digest.models import Doc
    from digest.summarize import METHODS
    from digest.summarize import summarize as summarize_docs

    if method not in METHODS:
        raise UserError(f"--method {method!r} is unknown: use one of {', '.join(METHODS)}")
    if max_words is None and max_sentences is None:
        max_words = _settings().summary_max_words
    rows = _read_jsonl(file)
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row.get("docs"), list):
            raise UserError(f'{file} line {n}: no "docs" list (format C)')
        docs = [
            Doc(
                title=str(d.get("title") or ""),
                text=str(d.get("text") or ""),
                published=parse_date(d.get("published")) if d.get("published") else None,
                url=d.get("url"),
                lang=row.get("lang"),
            )
            for d in row["docs"]
            if isinstance(d, dict)
        ]
        sentences = summarize_docs(
            docs,
            row.get("lang"),
            max_words=max_words,
            max_sentences=max_sentences,
            method=method,
        )
        out.append(
            {
                "id": str(row.get("id", n)),
                "summary": [s.text for s in sentences],
                "sources": [s.doc for s in sentences],
            }
        )
    _jsonl(out)


def main() -> None:
    """Entry point: user errors are one line on stderr, never a traceback."""
    from digest.email import EmailConfigError
    from storage.engine import DatabaseURLError

    try:
        app()
    except (UserError, DatabaseURLError, EmailConfigError) as exc:
        typer.echo(f"newsdigest: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("newsdigest: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
