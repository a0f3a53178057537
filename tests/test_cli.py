"""The command line: the DESIGN.md contract, and one-line errors without tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app, parse_duration

ROOT = Path(__file__).resolve().parent.parent
# Prefect sets up its console log handler on the sys.stderr of the moment when prefect.main is
# first imported. Imported inside runner.invoke (the CLI imports flows lazily), the handler
# keeps the runner's captured stream, closed after that invoke, and every later log line
# fails (RecursionError in the next invoke): a test run alone failed, passing only after
# another test had imported Prefect. Set it up here, outside any invoke.
import prefect.main  # noqa: E402, F401

runner = CliRunner()


def _cli(*args: str, stdin: str | None = None, env: dict | None = None):
    """Run the real console entry point in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _seed_records() -> list[dict]:
    from digest.prepare import title_from_plain_text

    out = []
    for i, path in enumerate(sorted((ROOT / "seeds").glob("*.txt"))):
        title, body = title_from_plain_text(path.read_text(encoding="utf-8"))
        out.append({"id": f"seed{i}", "title": title, "text": body})
    return out


def test_every_command_has_help_with_an_example():
    for cmd in (
        ["run"],
        ["ingest"],
        ["digest"],
        ["serve"],
        ["export", "articles"],
        ["export", "stories"],
        ["sources", "export"],
        ["cluster"],
        ["summarize"],
    ):
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, cmd
        assert "Example" in result.output, cmd


def test_cluster_is_stateless_jsonl():
    records = _seed_records()
    records.append(
        {
            "id": "other",
            "title": "Gempa magnitudo 6 guncang Maluku",
            "text": "Gempa bumi berkekuatan magnitudo 6,1 mengguncang Maluku Tengah "
            "pada Selasa pagi. BMKG menyatakan gempa tidak berpotensi tsunami. "
            "Warga sempat panik dan keluar rumah.",
        }
    )
    result = _cli("cluster", "-", stdin="\n".join(json.dumps(r) for r in records))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    seed_stories = {r["story"] for r in rows if r["id"].startswith("seed")}
    assert len(seed_stories) == 1
    assert rows[-1]["story"] not in seed_stories
    assert "prefect" not in result.stderr.lower()


def test_summarize_contract(tmp_path):
    docs = [{"title": r["title"], "text": r["text"]} for r in _seed_records()]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "c1", "lang": "id", "docs": docs}) + "\n", encoding="utf-8")
    result = _cli("summarize", str(path), "--max-words", "60")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["id"] == "c1"
    assert len(row["summary"]) == len(row["sources"]) >= 1
    assert sum(len(s.split()) for s in row["summary"]) <= 60
    for sentence, src in zip(row["summary"], row["sources"], strict=True):
        assert sentence in docs[src]["text"]


def test_export_without_prefect(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = _cli("export", "articles", "--db", db)
    assert result.returncode == 0 and result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["digest", "--since", "soon"], "is not a duration"),
        (["export", "articles", "--db", "nonsense://"], "database"),
        (["export", "stories", "--db", "sqlite:////proc/newsdigest/x/y.db"], "cannot open"),
        (["cluster", "/no/such/file.jsonl"], "cannot read"),
        (["summarize", "-", "--method", "magic"], "is unknown"),
    ],
)
def test_user_errors_are_one_line(args, message):
    result = _cli(*args, stdin="")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_jsonl_line_is_one_line_error():
    result = _cli("cluster", "-", stdin='{"id": "1", "title": "t", "text": "x"}\n{oops\n')
    assert result.returncode == 2 and "stdin line 2: malformed JSON" in result.stderr


def _one_line_error(result, *needles: str) -> str:
    """The run failed with exit code 2 and one line ``newsdigest: what; what to do``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("newsdigest: ") and "; " in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _sources_file_case(tmp_path, case: str) -> Path:
    path = tmp_path / "sources.toml"
    if case == "missing":
        return tmp_path / "no-such-sources.toml"
    if case == "unreadable":  # a folder: unreadable as a file, also for root
        path.mkdir()
    elif case == "not toml":
        path.write_text("[[source]\nurl = https://x.example/rss\n", encoding="utf-8")
    elif case == "not utf-8":
        path.write_bytes(b'[[source]]\nname = "\xff"\n')
    elif case == "unknown key":
        path.write_text('[[source]]\nurl = "https://x.example/rss"\nfeed = 1\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "does not exist"),
        ("unreadable", "cannot read sources file"),
        ("not toml", "is not valid TOML"),
        ("not utf-8", "is not UTF-8"),
        ("unknown key", "unknown key(s) feed"),
    ],
)
@pytest.mark.parametrize("command", ["run", "ingest"])
def test_sources_file_errors_are_one_line(tmp_path, case, message, command):
    path = _sources_file_case(tmp_path, case)
    result = _cli(
        command,
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        env={"NEWSDIGEST_SOURCES_FILE": str(path), "NEWSDIGEST_OUT_DIR": str(tmp_path / "out")},
    )
    line = _one_line_error(result, message, str(path), "sources file")
    assert "docs/sources.md" in line  # what to do
    assert not (tmp_path / "x.db").exists()  # refused before anything was started


def test_unsupported_database_url(tmp_path):
    line = _one_line_error(
        _cli("export", "articles", "--db", "mysql://reader:hunter2@127.0.0.1/news"),
        "unsupported database URL mysql://reader:***@127.0.0.1/news",
        "sqlite:///",
    )
    assert "hunter2" not in line


def test_sqlite_in_a_missing_folder_is_refused_not_created(tmp_path):
    folder = tmp_path / "no" / "such" / "dir"
    result = _cli("export", "articles", "--db", f"sqlite:///{folder / 'x.db'}")
    _one_line_error(result, "cannot open the database", f"the folder {folder} does not exist")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://reader:s3cr@t!pw@127.0.0.1:5432/news",  # unescaped @: host "t!pw@127..."
        "postgresql://reader:s3cr@t:9@127.0.0.1/news",  # unescaped @ and : : port "9@127..."
        "postgresql://reader:s3cr:t@pw@127.0.0.1:5432/news",
    ],
)
def test_password_with_unescaped_at_or_colon_never_shown(url):
    result = _cli("export", "stories", "--db", url)
    line = _one_line_error(result, "%40")  # says how to write an @ in a password
    for piece in ("s3cr", "t!pw", "t:9", "pw@", "9@127"):
        assert piece not in result.stderr, piece
    assert "database URL" in line


def test_password_never_in_a_connection_error():
    # A well-formed URL to a port where nothing listens: the server's reason, not the password.
    result = _cli(
        "export", "articles", "--db", "postgresql://reader:hunter2secret@127.0.0.1:1/news"
    )
    _one_line_error(result, "cannot open the database postgresql+psycopg://reader:***@127.0.0.1:1")
    assert "hunter2secret" not in result.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = _cli("digest", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--out", str(blocker / "out"))
    _one_line_error(result, f"cannot write the digest into {blocker / 'out'}", "--out")
    assert not (tmp_path / "x.db").exists()


def test_usage_errors_are_one_line():
    line = _one_line_error(_cli("run", "--no-such-option"), "--no-such-option")
    assert "newsdigest run --help" in line


def test_format_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "docs": [{"title": "t", "text": "x"}]}\n{"id": "b", "docs": [{"text": 5}]}\n',
        encoding="utf-8",
    )
    _one_line_error(_cli("summarize", str(path)), f"{path} line 2 doc 1", '"text" must be a string')
    rows = '{"id": "1", "title": "t", "text": "x"}\n{"id": "2", "text": "y"}\n'
    _one_line_error(_cli("cluster", "-", stdin=rows), "stdin line 2: missing title (format A)")


def test_exit_codes_of_commands_pass_through(monkeypatch):
    """A command's own exit code (3: the run stored nothing, or the digest was not sent) is the
    process's exit code; success is 0."""
    import typer

    import flows.cli as cli

    tiny = typer.Typer()

    @tiny.command()
    def partial(code: int = 0) -> None:
        if code:
            raise typer.Exit(code)

    monkeypatch.setattr(cli, "app", tiny)
    for argv, expected in ((["--code", "3"], 3), ([], 0)):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == expected


def test_parse_duration():
    assert parse_duration("24h").total_seconds() == 86400
    assert parse_duration("3d").days == 3
    assert parse_duration("90m").total_seconds() == 5400
