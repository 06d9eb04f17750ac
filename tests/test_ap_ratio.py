"""``benchmarks/ap_ratio.py``: the paired bootstrap of an AP ratio, on hand-made ground truth."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yolopose.core.keypoints import COCO_KEYPOINT_NAMES

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ap_ratio.py"
IMAGES = 20


def _module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import ap_ratio
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return ap_ratio


def _split():
    """IMAGES images with one 100 px person each; ``exact`` finds every one, ``half`` misses the
    keypoints of every second image (it puts them 40 px off)."""
    rng = np.random.default_rng(0)
    images, anns, exact, half = [], [], [], []
    for i in range(1, IMAGES + 1):
        kpts = np.zeros((17, 3))
        kpts[:, :2] = 50 + rng.uniform(5, 95, (17, 2))
        kpts[:, 2] = 2
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 256, "height": 256})
        anns.append({"id": i, "image_id": i, "category_id": 1, "iscrowd": 0, "bbox": [50, 50, 100, 100],
                     "area": 10000.0, "keypoints": kpts.ravel().tolist(), "num_keypoints": 17})
        det = {"image_id": i, "category_id": 1, "bbox": [50, 50, 100, 100], "score": 0.9}
        exact.append({**det, "keypoints": kpts.ravel().tolist()})
        off = kpts + ([40, 0, 0] if i % 2 else [0, 0, 0])
        half.append({**det, "keypoints": off.ravel().tolist()})
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_KEYPOINT_NAMES)}]}
    return gt, exact, half


def test_identical_results_have_ratio_one_and_no_spread():
    gt, exact, _ = _split()
    out = _module().paired_ratio(gt, exact, exact, resamples=20)
    assert out["ratio"] == pytest.approx(1.0) and out["low"] == pytest.approx(1.0) and out["high"] == pytest.approx(1.0)
    assert out["sd"] == pytest.approx(0.0) and out["images"] == IMAGES and out["resamples"] == 20


def test_a_model_that_misses_half_the_split_gets_an_interval_around_its_ratio():
    gt, exact, half = _split()
    out = _module().paired_ratio(gt, exact, half, resamples=60)
    assert 0.1 < out["ratio"] < 0.7  # half the recall, and the misses rank beside the hits
    assert out["low"] < out["ratio"] < out["high"] < 1.0  # 1.0 is outside: this split tells them apart
    assert out["sd"] > 0.01


def test_cli_prints_the_interval_and_names_a_bad_results_file(tmp_path):
    gt, exact, half = _split()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "fp32.json").write_text(json.dumps(exact))
    (tmp_path / "int8.json").write_text(json.dumps(half))
    run = [sys.executable, str(SCRIPT), "--data", str(tmp_path / "gt.json"), "--base", str(tmp_path / "fp32.json"),
           "--resamples", "20"]
    res = subprocess.run(run + ["--other", str(tmp_path / "int8.json"), "--json", str(tmp_path / "out.json")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "95% interval" in res.stdout and "int8.json / fp32.json" in res.stdout
    assert json.loads((tmp_path / "out.json").read_text())["resamples"] == 20

    (tmp_path / "bad.json").write_text(json.dumps([{**half[0], "image_id": 999}]))
    res = subprocess.run(run + ["--other", str(tmp_path / "bad.json")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "bad.json" in res.stderr and "999" in res.stderr
    res = subprocess.run(run + ["--other", str(tmp_path / "missing.json")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "missing.json: results file not found" in res.stderr
