"""``benchmarks/preprocess.py`` and ``benchmarks/edge_frame.py`` run end to end on tiny settings and
print their tables with CPU flags and load (no figure is asserted: the machine may be loaded)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_preprocess_benchmark_prints_today_and_the_sdk_side_by_side(tmp_path):
    out = tmp_path / "pre.json"
    proc = _run("preprocess.py", "--rounds", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "flags:" in proc.stdout and "load average" in proc.stdout
    assert "| today |" in proc.stdout and "| SDK |" in proc.stdout
    data = json.loads(out.read_text())
    cases = list(data["results"])
    assert any("810x1080" in c for c in cases) and any("1280x720" in c for c in cases)
    for rows in data["results"].values():
        assert {"today", "SDK", "  decode", "  letterbox", "  input tensor"} <= set(rows)
        assert all(r["cpu_ms"] > 0 for r in rows.values())


@pytest.mark.slow
def test_edge_frame_benchmark_runs_every_loop(tmp_path):
    from yolopose._assets import default_model_candidates
    from yolopose.runtimes import get_backend

    if not get_backend("tflite").installed():
        pytest.skip("no TFLite interpreter installed")
    model = next(p for p in default_model_candidates() if p.suffix == ".tflite")
    out = tmp_path / "edge.json"
    proc = _run("edge_frame.py", "--model", str(model), "--frames", "3", "--rounds", "1", "--threads", "1",
                "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())["figures"]
    assert set(figures) == {"inference only", "stream, no pipeline", "stream, pipelined", "predict(path) loop"}
    assert all(f["fps"] > 0 for f in figures.values())
    assert "pipelined stream:" in proc.stdout
