"""The evaluation gate (bench/gate.py): floors from one file, a number below its floor fails."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / "bench" / "gate.py"
FLOORS = ROOT / "bench" / "floors.toml"
EVAL = ROOT.parent / "shared" / "eval" / "clustering" / "ecbplus-train-dev.jsonl"


def _gate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(GATE), *args], capture_output=True, text=True, timeout=240
    )


def test_floors_file_has_a_floor_a_date_and_a_place_for_every_number():
    floors = tomllib.loads(FLOORS.read_text(encoding="utf-8"))
    names = {f"{s}.{m}" for s, ms in floors.items() for m in ms}
    assert {
        "grouping_ecbplus_dev.bcubed_f1",
        "grouping_ecbplus_dev.bcubed_precision",
        "grouping_stream_dev.bcubed_f1",
        "grouping_stream_dev.bcubed_precision",
        "summaries_indosum.rouge2_f1",
        "summaries_ecbplus_mds.rouge2_recall",
        "extraction_fundus.f1",
    } <= names
    for metrics in floors.values():
        for entry in metrics.values():
            assert entry["floor"] < entry["measured"], entry  # a floor below today's number
            assert entry["date"] and entry["where"]


@pytest.mark.skipif(not EVAL.is_file(), reason="needs ../shared/eval")
def test_a_floor_above_todays_number_fails_the_gate(tmp_path):
    floors = tmp_path / "floors.toml"
    floors.write_text(
        "[grouping_ecbplus_dev]\n"
        "bcubed_precision = { floor = 0.5 }\n"
        "bcubed_f1 = { floor = 0.999 }\n"
        "pairwise_f1 = { floor = 0.1 }\n",
        encoding="utf-8",
    )
    done = _gate("--floors", str(floors), "--only", "grouping_ecbplus_dev")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines()[1:-1]}
    assert lines["bcubed_precision"].split()[4] == "ok"
    assert lines["bcubed_f1"].split()[4] == "BELOW"
    assert "not measured" in lines["pairwise_f1"]  # a floor nobody checks is an error too
    assert done.stdout.splitlines()[-1].startswith("gate FAILED")
    assert "bcubed_precision" not in done.stdout.splitlines()[-1]


def test_a_broken_floors_file_is_one_line_and_exit_2(tmp_path):
    floors = tmp_path / "floors.toml"
    floors.write_text("[grouping_nowhere]\nf1 = { floor = 0.5 }\n", encoding="utf-8")
    done = _gate("--floors", str(floors))
    assert done.returncode == 2
    assert "unknown slice [grouping_nowhere]" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    done = _gate("--floors", str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and "cannot read the floors file" in done.stderr
