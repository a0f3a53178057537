"""End to end, as deploy/README.md says: a real Prefect server on 127.0.0.1 (temporary
PREFECT_HOME), the process work pool, ``prefect deploy`` of deploy/prefect.yaml exactly as
documented, a worker, the deployment run against fixture feeds on a local HTTP server; and
``newsdigest serve`` registering its own deployment beside it. Every process started here is
stopped by its own process group id."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import _free_port
from tests.test_web_sources import serve_news

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Minutes on a loaded 2-core machine: more than the suite's 300 s default.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


class Processes:
    """Background processes, each in its own process group, all stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):  # children left behind in its group
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            self.stop(proc)


def _run(args: list[str], env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def _wait(what: str, check, timeout: float, procs: list[subprocess.Popen] = ()) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for p in procs:
            assert p.poll() is None, (
                f"{p.args[:3]} exited with {p.returncode} while waiting for {what}"
            )
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_prefect_yaml_deploys_and_runs_with_a_worker(server, tmp_path):
    prefect = str(BIN / "prefect")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    home = tmp_path / "prefect-home"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base_env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
    )
    env = {**base_env, "PREFECT_API_URL": api}
    # The worker's configuration: NEWSDIGEST_* in its environment, as the README says.
    feed = serve_news(server)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nurl = "{feed}"\nname = "Fixture News"\n', encoding="utf-8")
    db = tmp_path / "newsdigest.db"
    out = tmp_path / "digests"
    worker_env = {
        **env,
        "NEWSDIGEST_SOURCES_FILE": str(sources),
        "NEWSDIGEST_DATABASE_URL": f"sqlite:///{db}",
        "NEWSDIGEST_OUT_DIR": str(out),
        "NEWSDIGEST_ALLOW_PRIVATE_HOSTS": "1",
        "NEWSDIGEST_PER_HOST_DELAY_SECONDS": "0",
    }
    procs = Processes(tmp_path)
    try:
        srv = procs.start(
            "server",
            [
                prefect,
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--analytics-off",
            ],
            base_env,
        )

        def healthy():
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait("the Prefect server", healthy, 240, [srv])
        _run([prefect, "work-pool", "create", "local-pool", "--type", "process"], env)
        deployed = _run(
            [prefect, "--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"],
            env,
        )
        assert "daily_digest/daily" in deployed.stdout
        worker = procs.start(
            "worker",
            [prefect, "worker", "start", "--pool", "local-pool", "--type", "process"],
            worker_env,
        )
        triggered = _run([prefect, "deployment", "run", "daily_digest/daily"], env)
        run_id = next(ln.split()[-1] for ln in triggered.stdout.splitlines() if "UUID" in ln)

        def final_state():
            r = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
            state = r.get("state") or {}
            return state if state.get("type") in {"COMPLETED", "FAILED", "CRASHED"} else None

        state = _wait("the flow run", final_state, 300, [srv, worker])
        worker_log = (tmp_path / "worker.log").read_text(errors="replace")
        assert state["type"] == "COMPLETED", f"{state}\n{worker_log[-4000:]}"
        assert "new 2" in state["message"]

        # The digest on disk, the rows in the database.
        latest = (out / "latest.md").read_text(encoding="utf-8")
        assert "Fixture News" in latest or "Banjir" in latest or "banjir" in latest.lower()
        import sqlite3

        with sqlite3.connect(db) as conn:
            assert conn.execute("select count(*) from article").fetchone()[0] == 2
            assert conn.execute("select count(*) from digest").fetchone()[0] == 1
            health = conn.execute(
                "select consecutive_failures, last_success_at from source where key = ?", (feed,)
            ).fetchone()
            assert health[0] == 0 and health[1] is not None

        # The cron created scheduled runs.
        def scheduled():
            body = {
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                "deployments": {"name": {"any_": ["daily"]}},
            }
            return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()

        runs = _wait("scheduled runs", scheduled, 120, [srv])
        assert all(r["state"]["name"] == "Scheduled" for r in runs)

        def deployment(name: str):
            r = httpx.get(f"{api}/deployments/name/daily_digest/{name}", timeout=10)
            return r.json() if r.status_code == 200 else None

        before = deployment("daily")
        assert before["work_pool_name"] == "local-pool"
        assert before["entrypoint"] == "flows/pipeline.py:daily_digest"
        assert before["global_concurrency_limit"]["limit"] == 1

        # `newsdigest serve` registers its own deployment, beside the worker's.
        serve = procs.start(
            "serve",
            [str(BIN / "newsdigest"), "serve", "--cron", "0 7 * * *"],
            worker_env,
        )
        served = _wait("the served deployment", lambda: deployment("serve"), 180, [serve])
        assert served["work_pool_name"] in (None, "")
        after = deployment("daily")
        for key in ("work_pool_name", "entrypoint", "global_concurrency_limit", "pull_steps"):
            assert after[key] == before[key], key
        procs.stop(serve)
    finally:
        procs.stop_all()
    for proc in procs.started:
        assert proc.poll() is not None
