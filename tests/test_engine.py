"""storage.engine: URLs newsdigest can use, passwords never shown, migrations safe to race."""

import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from digest.errors import DatabaseError, NewsdigestError
from storage.engine import (
    DatabaseURLError,
    check_database,
    normalize_url,
    open_db,
    parse_url,
    redact,
    safe_url,
)

ROOT = Path(__file__).resolve().parent.parent

# Each process waits for the same moment, then migrates the same fresh SQLite file.
RACE = """
import sys, time
from storage.engine import open_db
from sqlalchemy import text
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
with open_db(sys.argv[1]).connect() as conn:
    print(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
"""


def test_concurrent_first_runs_on_one_sqlite_file_both_succeed(tmp_path):
    for attempt in range(3):  # a race: try it a few times on fresh files
        url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        start = time.time() + 3.0  # after both interpreters have imported everything
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, url, str(start)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err[-2000:]
        versions = {out.strip() for out, _ in outs}
        assert len(versions) == 1 and versions != {""}


def test_unsupported_backends_and_drivers_are_refused():
    with pytest.raises(DatabaseURLError) as exc:
        parse_url("mysql://u:topsecret@db.example/news")
    assert "unsupported database URL mysql://u:***@db.example/news" in str(exc.value)
    assert "topsecret" not in exc.value.one_line()
    with pytest.raises(DatabaseURLError, match="unsupported database driver"):
        open_db("postgresql+asyncpg://u@127.0.0.1/news")
    assert parse_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://reader:pa@ss@127.0.0.1/news",
        "postgresql://reader:pa@ss:1234@127.0.0.1/news",
        "postgresql://reader:pa:ss@w0rd@127.0.0.1:5432/news",
    ],
)
def test_unescaped_at_in_a_password_never_shows_a_piece_of_it(url):
    with pytest.raises(DatabaseURLError) as exc:
        parse_url(url)
    # Not in the message, nor anywhere in the traceback Python would print (chained causes
    # included): the URL's own text never reaches the frames' locals shown there.
    shown = "".join(traceback.format_exception(exc.value)) + safe_url(url)
    for piece in ("ss@", "pa@", "1234@", "w0rd", "pa:ss"):
        assert piece not in shown, piece
    assert "%40" in exc.value.one_line()


def test_safe_url_and_redact_hide_the_password():
    url = "postgresql://reader:hunter2@db.example:5432/news"
    assert safe_url(url) == "postgresql+psycopg://reader:***@db.example:5432/news"
    assert redact("login hunter2 failed", url) == "login *** failed"
    assert redact("no secret here", "sqlite:///x.db") == "no secret here"


def test_sqlite_folder_is_never_created(tmp_path):
    missing = tmp_path / "typo" / "x.db"
    with pytest.raises(DatabaseURLError, match="does not exist"):
        open_db(f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_check_database_is_one_database_error_without_password():
    with pytest.raises(DatabaseError) as exc:
        check_database("postgresql://reader:hunter2secret@127.0.0.1:1/news")
    assert isinstance(exc.value, NewsdigestError)
    assert "hunter2secret" not in exc.value.one_line()
    assert exc.value.one_line().startswith("cannot open the database postgresql+psycopg://")


def test_open_db_migrates_once_and_is_reusable(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = open_db(url)
    assert open_db(url) is engine
    from sqlalchemy import inspect

    assert {"article", "story", "story_article", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )


def test_a_database_from_a_newer_version_is_one_error(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    open_db(url)
    raw = create_engine(url)
    with raw.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    raw.dispose()
    result = subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", "export", "articles"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NEWSDIGEST_DATABASE_URL": url},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("newsdigest: cannot migrate the database sqlite:///")
    assert "from_the_future" in line and "use the newsdigest version that created it" in line
