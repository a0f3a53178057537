"""Shared fixtures: environment, the Prefect test harness, SQLite files, a PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

# Set before anything imports prefect: offline, quiet, and a private PREFECT_HOME.
_PREFECT_HOME = tempfile.mkdtemp(prefix="newsdigest-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
from flows import PREFECT_ENV_DEFAULTS  # noqa: E402  (imports no Prefect)

os.environ.update(PREFECT_ENV_DEFAULTS)  # the project's defaults, whatever the shell says
os.environ.pop("PREFECT_API_URL", None)
for key in list(os.environ):
    if key.startswith("NEWSDIGEST_") and not key.startswith("NEWSDIGEST_TEST_"):
        del os.environ[key]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (starting one costs ~15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def settings_env(monkeypatch):
    """Set NEWSDIGEST_* variables for one test: ``settings_env(DATABASE_URL=...)``."""
    from digest.settings import get_settings

    def apply(**values) -> None:
        for k, v in values.items():
            monkeypatch.setenv(f"NEWSDIGEST_{k.upper()}", str(v))
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield apply
    get_settings.cache_clear()


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'newsdigest.db'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    return roots[-1] if roots and (roots[-1] / "initdb").exists() else None


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server URL: NEWSDIGEST_TEST_POSTGRES_URL, else one started here.

    Skips when neither is possible, unless NEWSDIGEST_TEST_REQUIRE_POSTGRES=1 (CI sets it).
    """
    url = os.environ.get("NEWSDIGEST_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    required = os.environ.get("NEWSDIGEST_TEST_REQUIRE_POSTGRES") == "1"
    pg_bin = _pg_bin()
    if pg_bin is None:
        if required:
            pytest.fail("PostgreSQL is required but not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL binaries not installed")
    base = Path(tempfile.mkdtemp(prefix="newsdigest-pg-"))
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    data = base / "data"
    subprocess.run(
        [
            *run_as,
            str(pg_bin / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(pg_bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "log"),
            "-w",
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the test server for one test."""
    from sqlalchemy import create_engine, text

    name = f"nd_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """Each storage test runs on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsdigest.db'}"
    return request.getfixturevalue("postgres_url")


class _SmtpSink:
    """Keeps every message the SMTP server accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on 127.0.0.1: yields (sink, port)."""
    from aiosmtpd.controller import Controller

    sink = _SmtpSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 serving tests/fixtures/web (robots.txt included)."""
    from tests.web_server import FixtureServer

    srv = FixtureServer().start()
    srv.add_file("/robots.txt", "robots.txt", content_type="text/plain")
    yield srv
    srv.stop()


@pytest.fixture
def dask_cluster():
    """A local Dask cluster of 2 worker processes (the scale-out tests)."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    yield cluster
    cluster.close()
