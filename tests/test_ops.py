"""Running unattended: source health, flow states and exit codes, email delivery that is
never lost and never retried in vain, feeds batched per task, Prefect API trouble."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from flows.sources.fetch import reset_fetcher
from storage import health
from storage.engine import session
from storage.models import DigestRow, utcnow
from tests.test_web_sources import FAST, serve_news, stored

ROOT = Path(__file__).resolve().parent.parent
# Prefect sets up its console log handler on the sys.stderr of the moment when prefect.main is
# first imported. Imported inside runner.invoke (the CLI imports flows lazily), the handler
# keeps the runner's captured stream, closed after that invoke, and every later log line
# fails (RecursionError in the next invoke): a test run alone failed, passing only after
# another test had imported Prefect. Set it up here, outside any invoke.
import prefect.main  # noqa: E402, F401

runner = CliRunner()


def _cli_env(settings_env, db_url: str, **values) -> None:
    settings_env(DATABASE_URL=db_url, **values)


# --- source health ----------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped():
    assert health.backoff(0, 300, 3600) == timedelta(0)
    assert health.backoff(1, 300, 3600) == timedelta(seconds=300)
    assert health.backoff(3, 300, 3600) == timedelta(seconds=1200)
    assert health.backoff(10, 300, 3600) == timedelta(seconds=3600)


def test_redact_hides_credentials():
    text = "GET https://bob:hunter2@feeds.example.com/rss?token=abc123&x=1 failed"
    out = health.redact(text)
    assert "hunter2" not in out and "abc123" not in out and "bob" not in out
    assert "feeds.example.com/rss" in out and "x=1" in out


def test_health_records_failures_backoff_and_suspension(sqlite_url):
    now = utcnow()
    with session(sqlite_url) as s:
        for i in range(3):
            health.record(
                s,
                [health.Outcome("https://a.example/feed", "url", None, "HTTP 404 Not Found")],
                backoff_seconds=60,
                backoff_max_seconds=3600,
                now=now + timedelta(hours=i),
            )
        (h,) = health.list_health(s)
        assert h.consecutive_failures == 3 and h.last_error == "HTTP 404 Not Found"
        assert h.last_success_at is None
        assert h.next_attempt_at == now + timedelta(hours=2, seconds=240)
        held = health.held_back(s, [h.key], max_failures=5, now=now + timedelta(hours=2))
        assert "backing off after 3 failures" in held[h.key]
        assert health.held_back(s, [h.key], 5, now=now + timedelta(hours=3)) == {}
        assert "suspended after 3 failures" in health.held_back(s, [h.key], 3, now=now)[h.key]
        assert health.enable(s, h.key) == [h.key]
        assert health.held_back(s, [h.key], 3, now=now) == {}
        health.record(
            s,
            [health.Outcome(h.key, "url")],
            backoff_seconds=60,
            backoff_max_seconds=3600,
            now=now,
        )
        (h,) = health.list_health(s)
        assert h.consecutive_failures == 0 and h.last_error is None and h.last_success_at


def _artifact_table(key: str) -> list[dict]:
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:  # the latest version of the key
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    data = found[0].data
    return json.loads(data) if isinstance(data, str) else data


def test_partial_failure_completes_names_the_failures_and_suspends_after_n(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    from flows.pipeline import SOURCES_ARTIFACT_KEY, ingest

    feed = serve_news(server)
    gone = server.add("/gone.xml", status=404, body=b"gone")
    settings_env(**FAST, SOURCE_MAX_FAILURES=2, SOURCE_BACKOFF_SECONDS=0)
    reset_fetcher()

    state = ingest(sources=[feed, gone], db_url=sqlite_url, return_state=True)
    assert state.is_completed()
    assert "1 of 2 sources failed" in state.message and "gone.xml (HTTP 404" in state.message
    report = state.result()
    assert report.new == 2 and report.ok_sources == 1 and list(report.failed_sources) == [gone]
    rows = {r["source"]: r for r in _artifact_table(SOURCES_ARTIFACT_KEY)}
    assert rows[gone]["status"] == "failed" and "404" in rows[gone]["error"]
    assert rows[feed]["status"] == "ok" and rows[feed]["new"] == 2

    ingest(sources=[feed, gone], db_url=sqlite_url)  # second failure in a row: suspended
    hits = server.hits["/gone.xml"]
    third = ingest(sources=[feed, gone], db_url=sqlite_url)
    assert server.hits["/gone.xml"] == hits  # not fetched again
    assert "suspended after 2 failures" in third.held_sources[gone]

    _cli_env(settings_env, sqlite_url, **FAST, SOURCE_MAX_FAILURES=2)
    listed = runner.invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    line = next(ln for ln in listed.output.splitlines() if gone in ln)
    assert line.startswith("suspended") and "HTTP 404" in line
    assert next(ln for ln in listed.output.splitlines() if feed in ln).startswith("ok")

    enabled = runner.invoke(app, ["sources", "enable", gone])
    assert enabled.exit_code == 0 and f"enabled: {gone}" in enabled.output
    ingest(sources=[feed, gone], db_url=sqlite_url)
    assert server.hits["/gone.xml"] > hits  # tried again after `sources enable`
    assert runner.invoke(app, ["sources", "enable", "no-such-source"]).exit_code != 0
    reset_fetcher()


def test_every_source_failed_is_a_failed_run_with_exit_3(
    prefect_harness, server, settings_env, sqlite_url, tmp_path
):
    gone = server.add("/gone.xml", status=404, body=b"gone")
    _cli_env(settings_env, sqlite_url, **FAST, SOURCE_BACKOFF_SECONDS=0)
    reset_fetcher()
    missing = str(tmp_path / "no-such-folder")
    result = runner.invoke(
        app, ["run", "--source", gone, "--source", missing, "--out", str(tmp_path)]
    )
    assert result.exit_code == 3, result.output
    assert "stored nothing, every source failed" in result.output
    assert "no such file or folder" in result.output

    from flows.pipeline import daily_digest

    state = daily_digest(
        sources=[gone], db_url=sqlite_url, out_dir=str(tmp_path), return_state=True
    )
    assert state.is_failed() and "every source failed" in state.message
    reset_fetcher()


def test_partial_failure_exits_0_and_warns(
    prefect_harness, settings_env, sqlite_url, seeds_dir, tmp_path
):
    _cli_env(settings_env, sqlite_url)
    missing = str(tmp_path / "typo")
    result = runner.invoke(
        app, ["run", "--source", str(seeds_dir), "--source", missing, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "1 of 2 sources failed" in result.output and "typo" in result.output
    assert "warning: " in result.output
    assert "new 5" in result.output


def test_a_run_without_failures_is_no_warning(capsys):
    from prefect.states import Completed

    from flows.cli import _exit_for

    _exit_for(Completed(message="new 5, updated 0, duplicate 0, failed 0, skipped 0; digest d.md"))
    assert "warning" not in capsys.readouterr().err
    _exit_for(Completed(message="new 5, failed 0; 1 of 2 sources failed: /tmp/typo (no such file)"))
    assert "warning: " in capsys.readouterr().err
    _exit_for(Completed(message="new 0, failed 0; 1 held back: https://x.example/feed"))
    assert "warning: " in capsys.readouterr().err


# --- email ------------------------------------------------------------------------------------


class _AuthCounter:
    """Counts the SMTP sessions that tried to log in (smtplib tries each mechanism once)."""

    def __init__(self) -> None:
        self.sessions: set[int] = set()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.sessions.add(id(session))
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_rejecting_auth():
    from aiosmtpd.controller import Controller

    from tests.conftest import _free_port, _SmtpSink

    auth = _AuthCounter()
    port = _free_port()
    controller = Controller(
        _SmtpSink(),
        hostname="127.0.0.1",
        port=port,
        authenticator=auth,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield auth, port
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_rejected_login_is_not_retried(smtp_rejecting_auth, settings_env, seeds_dir):
    from digest.render import DigestView
    from digest.settings import get_settings
    from flows.deliver import DeliveryError, send_digest_email, send_message

    auth, port = smtp_rejecting_auth
    settings_env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_USER="reader",
        SMTP_PASSWORD="wrong-secret",
        EMAIL_TO="reader@example.com",
        EMAIL_FROM="digest@example.com",
        EMAIL_RETRY_DELAYS="[30, 30]",
    )
    from digest.email import build_message

    settings = get_settings()
    msg = build_message(
        DigestView(generated_at=utcnow(), stories=[]), settings.email_from, ["a@example.com"]
    )
    started = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        send_message(msg, settings)
    assert err.value.permanent and "refused the login" in str(err.value)
    assert "wrong-secret" not in str(err.value)
    assert len(auth.sessions) == 1  # no second try
    assert time.monotonic() - started < 10  # the 30 s retry delays were not waited
    with pytest.raises(DeliveryError):
        send_digest_email(DigestView(generated_at=utcnow(), stories=[]), settings)


@pytest.fixture
def smtp_flaky():
    """An SMTP server that answers RCPT with 451 (try later) the first ``n`` times, or 550."""
    from aiosmtpd.controller import Controller

    from tests.conftest import _free_port

    class Handler:
        def __init__(self) -> None:
            self.rcpt = 0
            self.fail_first = 1
            self.code = "451 4.3.0 try again later"
            self.messages = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            self.rcpt += 1
            if self.rcpt <= self.fail_first:
                return self.code
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Handler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_transient_reply_is_retried_permanent_one_is_not(smtp_flaky, settings_env):
    from digest.email import build_message
    from digest.render import DigestView
    from digest.settings import get_settings
    from flows.deliver import DeliveryError, send_message

    handler, port = smtp_flaky
    settings_env(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, EMAIL_TO="r@example.com", EMAIL_FROM="d@example.com"
    )
    settings = get_settings()
    msg = build_message(
        DigestView(generated_at=utcnow(), stories=[]), "d@example.com", ["r@example.com"]
    )
    assert send_message(msg, settings, delays=[0.1, 0.1]) == 1
    assert handler.rcpt == 2 and len(handler.messages) == 1

    handler.rcpt, handler.fail_first, handler.code = 0, 99, "550 5.1.1 no such user"
    with pytest.raises(DeliveryError) as err:
        send_message(msg, settings, delays=[0.1, 0.1])
    assert err.value.permanent and "550" in str(err.value)
    assert handler.rcpt == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSDIGEST_EMAIL_TO": "reader@example.com"}, "NEWSDIGEST_SMTP_HOST is not"),
        ({"NEWSDIGEST_EMAIL_TO": "reader@example.com", "NEWSDIGEST_EMAIL_FROM": ""}, "EMAIL_FROM"),
        (
            {"NEWSDIGEST_EMAIL_TO": "not-an-address", "NEWSDIGEST_SMTP_HOST": "127.0.0.1"},
            "is not an email address",
        ),
        (
            {
                "NEWSDIGEST_EMAIL_TO": "a@example.com",
                "NEWSDIGEST_SMTP_HOST": "127.0.0.1",
                "NEWSDIGEST_SMTP_USER": "bob",
            },
            "no password",
        ),
    ],
)
def test_email_settings_checked_before_the_run(env, message, tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", "run", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "NEWSDIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "NEWSDIGEST_EMAIL_FROM": "digest@example.com",
            **env,
        },
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "latest.md").exists()  # nothing ran
    assert time.monotonic() - started < 60


def test_undelivered_digest_exits_3_and_is_sent_by_the_next_run(
    prefect_harness, settings_env, sqlite_url, seeds_dir, tmp_path, smtp_sink
):
    sink, port = smtp_sink
    out = tmp_path / "digests"
    common = {"EMAIL_TO": "reader@example.com", "EMAIL_FROM": "digest@example.com"}
    # The mail server is down (nothing listens on port 1).
    _cli_env(
        settings_env,
        sqlite_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=1,
        EMAIL_RETRY_DELAYS="[0]",
        **common,
    )
    first = runner.invoke(app, ["run", "--source", str(seeds_dir), "--out", str(out)])
    assert first.exit_code == 3, first.output
    assert "kept and sent by the next run" in first.output
    assert (out / "latest.md").exists()
    with session(sqlite_url) as s:
        (row,) = s.exec(select(DigestRow)).all()
        assert row.email_status == "pending" and row.email_attempts == 1
        assert "Connection refused" in row.email_error

    # The server is back: the next run sends the kept digest (its own has nothing new, and an
    # empty digest is not mailed).
    _cli_env(settings_env, sqlite_url, SMTP_HOST="127.0.0.1", SMTP_PORT=port, **common)
    second = runner.invoke(app, ["run", "--source", str(seeds_dir), "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert "emailed 1 digest(s) of earlier runs" in second.output
    assert len(sink.messages) == 1
    import email as email_lib
    import email.policy

    first_mail = email_lib.message_from_bytes(sink.messages[0].content, policy=email.policy.default)
    assert "1 story" in first_mail["Subject"]  # the digest that was lost before
    assert sink.messages[0].rcpt_tos == ["reader@example.com"]
    with session(sqlite_url) as s:
        rows = s.exec(select(DigestRow).order_by(DigestRow.id)).all()
        assert len(rows) == 2 and rows[0].email_status == "sent"
        assert rows[1].email_status != "pending"
        assert all(r.email_message is None for r in rows)


# --- many feeds, Prefect API trouble ----------------------------------------------------------


def test_feeds_are_batched_per_host():
    from flows.pipeline import batch_jobs
    from flows.sources.spec import SourceSpec
    from flows.sources.web import WebJob

    jobs = []
    for i in range(5000):
        url = f"https://host{i % 700}.example/feed{i}.xml"
        jobs.append(WebJob(SourceSpec(url, "url"), [url]))
    batches = batch_jobs(jobs, 20)
    assert 250 <= len(batches) <= 300
    assert sum(len(b) for b in batches) == 5000
    assert max(len(b) for b in batches) <= 20
    # The feeds of one host sit in as few batches as they can: here one each.
    where: dict[str, set[int]] = {}
    for n, batch in enumerate(batches):
        for job in batch:
            where.setdefault(job.urls[0].split("/")[2], set()).add(n)
    assert max(len(v) for v in where.values()) <= 2
    pages = WebJob(SourceSpec("list.txt", "urls"), [f"https://p.example/{i}" for i in range(25)])
    assert [len(b) for b in batch_jobs([pages, *jobs[:3]], 20)] == [1, 3]


def test_prefect_api_error_on_a_task_does_not_lose_the_work(
    prefect_harness, server, settings_env, sqlite_url, monkeypatch
):
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    from flows import pipeline

    feed = serve_news(server)
    settings_env(**FAST)
    reset_fetcher()
    calls = {"n": 0}
    real_submit = pipeline.load_web_task.submit

    def busy_server(*args, **kwargs):
        calls["n"] += 1
        request = httpx.Request("POST", "http://127.0.0.1/api/task_runs/")
        response = httpx.Response(503, request=request)
        raise PrefectHTTPStatusError.from_httpx_error(
            httpx.HTTPStatusError("503 Service Unavailable", request=request, response=response)
        )

    monkeypatch.setattr(pipeline.load_web_task, "submit", busy_server)
    report = pipeline.ingest(sources=[feed], db_url=sqlite_url)
    assert calls["n"] == 1
    assert report.new == 2 and report.ok_sources == 1
    assert len(stored(sqlite_url)) == 2
    monkeypatch.setattr(pipeline.load_web_task, "submit", real_submit)
    reset_fetcher()


# --- Prefect's temporary server --------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_killed_cli_leaves_no_prefect_server(server, tmp_path):
    """SIGKILL during a run: the temporary Prefect server it started stops too."""
    from tests.web_server import Route

    server.add("/slow.xml", Route(body=b"<rss></rss>", delay=60))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        NEWSDIGEST_ALLOW_PRIVATE_HOSTS="1",
        NEWSDIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'k.db'}",
    )
    cli = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.cli import main; main()",
            "ingest",
            "--source",
            server.url("/slow.xml"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server_pid = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.hits["/slow.xml"] == 0:
            time.sleep(0.5)
        assert server.hits["/slow.xml"] >= 1, "the run never reached the feed"
        uvicorn = [p for p in _children(cli.pid) if "uvicorn" in _cmdline(p)]
        assert uvicorn, "no temporary Prefect server found"
        server_pid = uvicorn[0]
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(server_pid):
            time.sleep(0.2)
        assert not _alive(server_pid), "the temporary Prefect server outlived the CLI"
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


# --- secrets from Prefect Secret blocks -------------------------------------------------------


@pytest.fixture
def smtp_with_password():
    """An SMTP server that accepts one user and password only."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.conftest import _free_port, _SmtpSink

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"digest" and auth_data.password == b"s3cret-from-block"
        )
        return AuthResult(success=ok)

    sink = _SmtpSink()
    port = _free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=check, auth_require_tls=False
    )
    controller.start()
    yield sink, port
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_smtp_password_and_database_url_from_secret_blocks(
    prefect_harness, settings_env, sqlite_url, seeds_dir, tmp_path, smtp_with_password
):
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.pipeline import daily_digest
    from flows.secret_blocks import clear_cache

    sink, port = smtp_with_password
    Secret(value="s3cret-from-block").save("nd-smtp-password", overwrite=True)
    Secret(value=sqlite_url).save("nd-database-url", overwrite=True)
    clear_cache()
    settings_env(
        DATABASE_URL="sqlite:////nonexistent/wrong.db",
        DATABASE_URL_BLOCK="nd-database-url",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_USER="digest",
        SMTP_PASSWORD_BLOCK="nd-smtp-password",
        EMAIL_TO="reader@example.com",
        EMAIL_FROM="digest@example.com",
    )
    state = daily_digest(sources=[str(seeds_dir)], out_dir=str(tmp_path), return_state=True)
    assert state.is_completed(), state.message
    assert len(sink.messages) == 1
    with session(sqlite_url) as s:  # the database named by the block, not the variable
        assert s.exec(select(DigestRow)).one().email_status == "sent"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200
        )
    assert "s3cret-from-block" not in repr(run.parameters) + (state.message or "")
    assert logs and all("s3cret-from-block" not in log.message for log in logs)
    clear_cache()


def test_failed_run_notification_automation(prefect_harness):
    """deploy/notify_on_failure.py creates the documented automation on the server."""
    import importlib.util

    from prefect.automations import Automation
    from prefect.blocks.notifications import SlackWebhook

    SlackWebhook(url="http://127.0.0.1:9/hook").save("nd-alerts", overwrite=True)
    spec = importlib.util.spec_from_file_location(
        "notify", ROOT / "deploy" / "notify_on_failure.py"
    )
    notify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notify)
    notify.create_automation("nd-alerts")
    again = notify.create_automation("nd-alerts")  # replaces, never duplicates
    found = Automation.read(name=notify.AUTOMATION_NAME)
    assert found.id == again.id
    assert found.trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    (action,) = found.actions
    assert action.type == "send-notification" and "flow_run.state.message" in action.body
