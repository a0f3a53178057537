"""The ``newsdigest`` command: a thin layer over the flows and the library.

``export``, ``cluster`` and ``summarize`` call the library directly, without starting Prefect.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

try:  # typer vendors its own click (0.20+): its exceptions are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover  (older typer uses click itself)
    from click import exceptions as click_errors

from digest.errors import ConfigError, InputFormatError, NewsdigestError, OutputError

# Prefect's environment defaults are set by the flows package (flows/__init__.py).

app = typer.Typer(
    help="newsdigest: one short digest of many news articles, grouped into stories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
export_app = typer.Typer(help="Write stored data as JSON Lines on stdout.", no_args_is_help=True)
app.add_typer(export_app, name="export")
sources_app = typer.Typer(
    help="Each source with its health (no subcommand); `sources enable NAME` clears a suspended "
    "source; `sources export` writes the feeds as OPML.",
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


class UserError(ConfigError):
    """A command-line argument cannot be used; printed as one line, exit code 2."""

    hint = "see newsdigest COMMAND --help"


def parse_duration(value: str) -> timedelta:
    """'24h', '3d', '90m', '1w' (a bare number is hours)."""
    m = _DURATION.match(value or "")
    if not m:
        raise UserError(f"--since {value!r} is not a duration", "use e.g. 90m, 24h, 3d or 1w")
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
        from flows.secret_blocks import SecretBlockError, resolve_database_url

        try:
            return resolve_database_url(settings)
        except SecretBlockError as exc:
            raise UserError(str(exc)) from None
    return settings.database_url


def _check_db(db_url: str) -> None:
    """Open the database once up front, so a bad URL is one clear line, not a flow crash."""
    from storage.engine import check_database

    check_database(db_url)


def _check_sources(sources: list[str] | None) -> None:
    """A sources file that cannot be used is one line now, not a traceback inside a flow."""
    settings = _settings()
    if not sources and settings.sources_file:
        from flows.sources.config import load_sources_file

        load_sources_file(settings.sources_file)


def _check_out_dir(out: Path) -> None:
    """The output folder exists (or can be made) and is writable, before any work is done."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".newsdigest-check-"):
            pass
    except OSError as exc:
        raise OutputError(
            f"cannot write the digest into {out}: {exc.strerror or exc}",
            "choose a writable folder with --out / NEWSDIGEST_OUT_DIR",
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
    out_dir = out or _settings().out_dir
    _check_sources(source)
    _check_out_dir(out_dir)
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import daily_digest
    from flows.progress import fetch_progress

    _guard_prefect()
    with fetch_progress():
        state = daily_digest(
            sources=source,
            out_dir=str(out_dir),
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
    from flows.deliver import check_delivery_settings

    settings = get_settings()
    check_delivery_settings(settings)
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
    except NewsdigestError:
        raise  # one line, exit 2 (main)
    except Exception as exc:
        typer.echo(f"newsdigest: the run crashed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None


def _exit_for(state) -> None:
    if state.is_failed():
        typer.echo(f"newsdigest: run failed: {state.message}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)
    # A partial failure names its sources ("2 of 23 sources failed: ...", "1 held back: ...");
    # the counts of every run ("failed 0") are no warning.
    if state.message and re.search(r"\bsources? failed:|\bheld back:", state.message):
        typer.echo(f"warning: {state.message}", err=True)


def _guard_prefect() -> None:
    """Prefect's temporary server (no PREFECT_API_URL) must not outlive this command, also
    when it is killed: SIGTERM exits normally through ``main``'s handler (Prefect stops the
    server at exit), and a small watchdog stops the server when this process dies of anything
    else (SIGKILL)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return  # a real server: nothing temporary to clean up
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
    if digest.get("notify_error"):
        typer.echo(f"notifications not sent: {digest['notify_error']}", err=True)
    elif digest.get("notified"):
        typer.echo(f"notified {digest['notified']} services")
    n = digest["stories"]
    typer.echo(f"digest: {digest['path']} ({n} {'story' if n == 1 else 'stories'})")


@app.command()
def ingest(source: SourceOpt = None, db: DbOpt = None) -> None:
    """Fetch or load, clean and store articles; prints counts (new, updated, duplicate, failed).

    Example: newsdigest ingest --source https://example.com/feed.xml --source articles/
    """
    from dataclasses import asdict

    db_url = _db(db)
    _check_sources(source)
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import ingest as ingest_flow
    from flows.progress import fetch_progress
    from flows.runners import make_task_runner

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
    out_dir = out or _settings().out_dir
    _check_out_dir(out_dir)
    _check_db(db_url)
    _check_run_settings()
    from flows.pipeline import make_digest

    _guard_prefect()
    state = make_digest(
        out_dir=str(out_dir),
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


@sources_app.command("export")
def sources_export(
    db: DbOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """The stored feeds as OPML (their tags as folders), for a feed reader or another run.

    Example: newsdigest sources export --out my-feeds.opml
    """
    from flows.sources.feeds import write_opml
    from storage import repo
    from storage.engine import session

    db_url = _db(db)
    _check_db(db_url)
    with session(db_url) as s:
        feeds = repo.feed_sources(s)
    text = write_opml(feeds, title="newsdigest sources")
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"{len(feeds)} feeds written to {out}", err=True)


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
    from digest.formats import write_jsonl

    write_jsonl(rows, sys.stdout)


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


def _read_jsonl(file: str) -> list[tuple[str, dict]]:
    """The JSON objects of FILE (``-``: stdin) with their line; the first bad line is one
    InputFormatError naming the file and the line."""
    from digest.formats import FormatError, read_jsonl

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFormatError(
            f"cannot read {file}: {exc.strerror or exc}", "check the file name"
        ) from None
    except UnicodeDecodeError:
        raise InputFormatError(f"{file} is not UTF-8 text", "save it as UTF-8 JSON Lines") from None
    try:
        return read_jsonl(text)
    except FormatError as exc:
        raise FormatError(exc.reason, where=f"{_name(file)} {exc.where}") from None


def _name(file: str) -> str:
    return "stdin" if file == "-" else file


@app.command()
def cluster(
    file: Annotated[str, typer.Argument(help="JSONL of articles (format A); - for stdin.")],
) -> None:
    """Group the articles in FILE into stories, statelessly: JSONL {"id", "story"} per article.

    Example: newsdigest cluster articles.jsonl > stories.jsonl
    """
    from digest.formats import FormatError, parse_article
    from digest.grouping import cluster_articles
    from flows.steps import articles_for_cluster

    parsed = []
    for where, row in _read_jsonl(file):
        try:
            parsed.append(parse_article(row, where, require=("id", "title", "text")))
        except FormatError as exc:
            raise FormatError(exc.reason, where=f"{_name(file)} {exc.where}") from None
    articles = articles_for_cluster(parsed)
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
    from digest.formats import FormatError, parse_cluster
    from digest.summarize import METHODS
    from digest.summarize import summarize as summarize_docs

    if method not in METHODS:
        raise UserError(f"--method {method!r} is unknown", f"use one of {', '.join(METHODS)}")
    if max_words is None and max_sentences is None:
        max_words = _settings().summary_max_words
    out = []
    for n, (where, row) in enumerate(_read_jsonl(file), 1):
        try:
            cluster = parse_cluster(row, where, default_id=str(n))
        except FormatError as exc:
            raise FormatError(exc.reason, where=f"{_name(file)} {exc.where}") from None
        sentences = summarize_docs(
            cluster.docs,
            cluster.lang,
            max_words=max_words,
            max_sentences=max_sentences,
            method=method,
        )
        out.append(
            {
                "id": cluster.id,
                "summary": [s.text for s in sentences],
                "sources": [s.doc for s in sentences],
            }
        )
    _jsonl(out)


def _terminate(signum, frame) -> None:
    """SIGTERM: end requests in flight, then leave through the normal exit path (so the
    temporary Prefect server and open files are cleaned up)."""
    from flows.sources.fetch import stop_fetching

    stop_fetching()
    raise SystemExit(128 + signum)


def _usage_line(exc: click_errors.UsageError) -> str:
    """A usage error as one line: what is wrong, and the command's --help."""
    command = exc.ctx.command_path if exc.ctx else "newsdigest"
    return f"{exc.format_message()}; see {command} --help"


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error a user can cause is one line on stderr, exit code 2, never a
    traceback (``newsdigest: <what went wrong>; <what to do>``)."""
    with contextlib.suppress(ValueError):  # only the main thread may set signal handlers
        signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(args=argv, prog_name="newsdigest", standalone_mode=False)
    except NewsdigestError as exc:
        typer.echo(f"newsdigest: {exc.one_line()}", err=True)
        sys.exit(2)
    except click_errors.NoArgsIsHelpError as exc:
        if exc.format_message():  # with rich, the help is printed already
            exc.show()
        sys.exit(2)
    except click_errors.UsageError as exc:
        typer.echo(f"newsdigest: {_usage_line(exc)}", err=True)
        sys.exit(2)
    except click_errors.ClickException as exc:
        typer.echo(f"newsdigest: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("newsdigest: interrupted", err=True)
        sys.exit(130)
    # Without standalone mode, click returns the code of a typer.Exit (e.g. 3) instead of
    # exiting; a command returns None.
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
