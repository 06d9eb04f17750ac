"""``benchmarks/train_synthetic.py minutes``: a run's AP beside the peer's after the same minutes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch  # the script describes the machine with torch's version

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_synthetic.py"
HEADER = "epoch,train/box,val/AP,val/box_AP,time_s\n"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "minutes", *args], capture_output=True, text=True, timeout=300)


def _peer_rows():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import train_synthetic
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return train_synthetic.PEER_BUDGET["rows"]


def test_minutes_puts_our_last_validated_epoch_beside_each_peer_epoch(tmp_path):
    run = tmp_path / "run" / "train"
    run.mkdir(parents=True)
    # 10 epochs of 6 minutes, validated every 5 (epochs 5 and 10 of the table: indices 4 and 9)
    rows = [f"{e},0.1,{0.05 * (e + 1) if e in (4, 9) else ''},{0.1 * (e + 1) if e in (4, 9) else ''},360\n"
            for e in range(10)]
    (run / "results.csv").write_text(HEADER + "".join(rows))
    (run / "config.json").write_text(json.dumps({"model": "yolov5n-pose-dense"}))
    docs = tmp_path / "docs"
    res = _run("--run", str(tmp_path / "run"), "--docs", str(docs))  # RUN_DIR: its train/ is found
    assert res.returncode == 0, res.stderr
    text = (docs / "train_minutes.md").read_text()
    assert (docs / "train_minutes.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "train_minutes.png").is_file()
    table = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    peer = _peer_rows()
    assert len(table) == len(peer) + 1  # one row per peer epoch, and ours at its end
    for line, epoch in zip(table, sorted(peer)):
        minute = peer[epoch][0]
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == str(epoch)
        # ours: the last validated epoch that ended by then (5 at 30 min, 10 at 60 min)
        expect = "-" if minute < 30 else ("5" if minute < 60 else "10")
        assert cells[4] == expect, line
        if expect == "5":
            assert cells[5:] == ["0.500", "0.250"]
    assert [c.strip() for c in table[-1].strip("|").split("|")] == ["60", "-", "-", "-", "10", "1.000", "0.500"]


def test_minutes_refuses_a_run_without_a_validated_epoch(tmp_path):
    (tmp_path / "results.csv").write_text(HEADER + "0,0.1,,,360\n")
    res = _run("--run", str(tmp_path), "--docs", str(tmp_path / "docs"))
    assert res.returncode != 0
    assert "no validated epoch" in res.stderr and "results.csv" in res.stderr
    assert not (tmp_path / "docs" / "train_minutes.md").exists()
