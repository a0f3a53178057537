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
    assert result.returncode == 2 and "line 2 is not valid JSON" in result.stderr


def test_parse_duration():
    assert parse_duration("24h").total_seconds() == 86400
    assert parse_duration("3d").days == 3
    assert parse_duration("90m").total_seconds() == 5400
