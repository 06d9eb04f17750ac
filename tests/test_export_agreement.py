"""The keypoint agreement that flags an artifact whose poses drift from torch's (post-training
int8 of SiLU models): known raw outputs in, the OKS computed by hand out; and the warning on a
real export."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from conftest import encode, logit  # noqa: E402
from yolopose.core.keypoints import COCO_OKS_SIGMAS  # noqa: E402

STRIDE, GRID, ANCHOR = 8, 4, (10.0, 13.0)
BOX = (14.0, 18.0, 12.0, 24.0)  # cx, cy, w, h of the one person, in input pixels
CELL = (1, 2)


def _outputs(shift=np.zeros(2), conf_logits=None, score: float = 0.9):
    """One level, one anchor, a 4x4 grid, one image: a single candidate at CELL with ``score``;
    its 17 keypoints moved by ``shift`` pixels (``(2,)`` or ``(17, 2)``)."""
    rng = np.random.default_rng(0)
    kpts = np.stack([rng.uniform(8, 20, 17), rng.uniform(6, 30, 17)], axis=1) + shift
    det = np.full((1, GRID, GRID, 6), logit(1e-4), np.float32)
    kxy = np.zeros((1, GRID, GRID, 34), np.float32)
    kconf = np.full((1, GRID, GRID, 17), logit(0.9), np.float32)
    t, raw = encode(BOX, kpts, CELL, STRIDE, ANCHOR)
    gx, gy = CELL
    det[0, gy, gx, :4] = t
    det[0, gy, gx, 4] = det[0, gy, gx, 5] = logit(math.sqrt(score))
    kxy[0, gy, gx] = raw.reshape(-1)
    if conf_logits is not None:
        kconf[0, gy, gx] = conf_logits
    return [det, kxy, kconf]


def _agreement(outputs, reference):
    from yolopose.export.verify import compare_keypoints

    c = compare_keypoints(outputs, reference, [STRIDE], [[ANCHOR]])
    return c.oks, c.candidates


def test_identical_outputs_agree_fully():
    oks, n = _agreement(_outputs(), _outputs())
    assert n == 1 and oks == pytest.approx(1.0)


def test_shifted_keypoints_give_cocos_oks():
    d = np.array([3.0, -4.0])  # 5 px on every keypoint
    oks, n = _agreement(_outputs(shift=d), _outputs())
    area = BOX[2] * BOX[3]
    expected = np.mean([math.exp(-25.0 / (2 * area * (2 * s) ** 2)) for s in COCO_OKS_SIGMAS])
    assert n == 1 and oks == pytest.approx(expected, rel=1e-4)
    assert 0.05 < oks < 0.95  # a real drift, far from both ends


def test_only_keypoints_torch_sees_count():
    conf = np.full(17, logit(0.9), np.float32)
    conf[0] = logit(0.01)  # torch: nose not visible
    shift = np.zeros((17, 2))
    shift[0] = 50.0  # the artifact puts it far away: ignored
    oks, n = _agreement(_outputs(shift=shift), _outputs(conf_logits=conf))
    assert n == 1 and oks == pytest.approx(1.0)
    shift[1] = 50.0  # a visible one far away: counted
    assert _agreement(_outputs(shift=shift), _outputs(conf_logits=conf))[0] < 0.95


def test_nobody_found_is_nan_not_a_pass():
    oks, n = _agreement(_outputs(shift=np.array([40.0, 0.0]), score=0.1), _outputs(score=0.1))
    assert n == 0 and math.isnan(oks)


def _confident_tiny_model():
    from _tiny_pose import tiny_model

    model = tiny_model("silu")
    with torch.no_grad():
        for conv in model.head.det:  # objectness and class logits +8 on every anchor: all score ~1
            bias = conv.bias.view(-1, 6)
            bias[:, 4:] = 8.0
    return model


def test_export_flags_drifting_keypoints(tmp_path):
    pytest.importorskip("onnxruntime")
    from yolopose.export import export, summary_table

    model = _confident_tiny_model()
    (ok,) = export(model, "onnx", imgsz=64, out=tmp_path / "a")
    assert ok.kpt_oks == pytest.approx(1.0, abs=1e-4) and ok.kpt_oks_candidates > 0
    assert not any(n.startswith("warning") for n in ok.notes)
    # the same artifact against a bar it cannot reach: written, with the warning
    (flagged,) = export(model, "onnx", imgsz=64, out=tmp_path / "b", min_keypoint_oks=1.5)
    assert flagged.path.is_file()
    warning = [n for n in flagged.notes if n.startswith("warning: poses drift")]
    assert warning and "keypoint OKS 1.000, box IoU 1.000" in warning[0]
    assert "1.000 / 1.000 (" in summary_table([flagged])
    (boxes,) = export(model, "onnx", imgsz=64, out=tmp_path / "c", min_box_iou=1.5)  # the box agreement alone
    assert any(n.startswith("warning: poses drift") for n in boxes.notes)


def test_box_agreement_is_the_mean_iou_with_torchs_boxes():
    from yolopose.export.verify import compare_keypoints

    ref = _outputs()
    moved = [a.copy() for a in ref]
    gx, gy = CELL
    moved[0][0, gy, gx, 0] += 0.5  # tx: the box centre moves right
    c = compare_keypoints(moved, ref, [STRIDE], [[ANCHOR]])
    got = compare_keypoints(ref, ref, [STRIDE], [[ANCHOR]])
    assert c.candidates == got.candidates == 1 and got.box_iou == pytest.approx(1.0)
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    dx = 2 * STRIDE * (sig(ref[0][0, gy, gx, 0] + 0.5) - sig(ref[0][0, gy, gx, 0]))  # the decode's (2 sig - 0.5) * s
    w, h = BOX[2], BOX[3]
    assert c.box_iou == pytest.approx((w - dx) * h / ((w + dx) * h), rel=1e-4)


def _compare(outputs, reference):
    from yolopose.export.verify import compare_keypoints

    return compare_keypoints(outputs, reference, [STRIDE], [[ANCHOR]])


def test_fp32_tolerance_is_float32_rounding_of_each_channels_reach():
    assert _compare(_outputs(), _outputs()).tolerance_used == 0.0
    shift = np.zeros((17, 2))
    shift[3, 0] = 0.05  # one in-image keypoint 0.05 px off: an export bug, not rounding
    c = _compare(_outputs(shift=shift), _outputs())
    assert c.tolerance_used > 1.0 and c.worst_px == pytest.approx(0.05, rel=1e-3)
    # a background cell puts every keypoint ~30,000 px away (as trained models do): float32
    # rounding of that channel (1e-6 relative) moves it by 0.06 px, within the allowance
    far, ref = _outputs(), _outputs()
    ref[1][0, 0, 0] = 2000.0
    far[1][0, 0, 0] = np.float32(2000.0) * np.float32(1 + 2e-6)
    c = _compare(far, ref)
    assert c.max_px > 0.01 and c.tolerance_used < 0.5
    assert c.worst_reach_px == pytest.approx(2 * STRIDE * 2000.0)
    # the same error where the channel's reach is small is an error
    ref[1][0, 0, 0] = far[1][0, 0, 0] = 0.0
    far[1][0, 1, 0, 0] = ref[1][0, 1, 0, 0] + np.float32(0.004)  # 0.064 px
    assert _compare(far, ref).tolerance_used > 1.0


def test_fp32_export_of_a_model_with_far_keypoints_passes_verification(tmp_path):
    """The check that stopped the dense model's bundling: keypoint raw outputs in the thousands make
    float32 rounding a tenth of a pixel in absolute terms; relative to the channels' reach it is tiny."""
    pytest.importorskip("onnxruntime")
    from yolopose.export import export

    model = _confident_tiny_model()
    with torch.no_grad():
        for conv in model.head.kpt_xy:
            conv.weight.mul_(1e5)
    (r,) = export(model, "onnx", imgsz=64, out=tmp_path)
    assert r.verified and r.kpt_err_max_px > 0.01  # more than the old absolute 0.01 px bound


def test_agreement_memory_is_linear_in_the_candidates():
    """An s6-sized model at 640 (4 levels, 3 anchors: 25,500 candidates) where torch scores every
    candidate: the agreement must not build the candidates x candidates OKS matrix (53.9 GiB at
    14,590 candidates with the old diagonal-of-a-matrix code)."""
    import tracemalloc

    from yolopose.export.verify import compare_keypoints

    rng = np.random.default_rng(0)
    strides, na = (8, 16, 32, 64), 3
    anchors = [[(19.0, 27.0), (44.0, 40.0), (38.0, 94.0)]] * 4
    outs = []
    for s in strides:
        g = 640 // s
        det = rng.normal(0, 1, (1, g, g, na * 6)).astype(np.float32)
        det.reshape(1, g, g, na, 6)[..., 4:] = 6.0  # score ~1 everywhere: every candidate counts
        outs += [det, rng.normal(0, 1, (1, g, g, na * 34)).astype(np.float32),
                 np.full((1, g, g, na * 17), 3.0, np.float32)]
    other = [o + np.float32(0.01) for o in outs]
    tracemalloc.start()
    try:
        c = compare_keypoints(other, outs, strides, anchors)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert c.candidates == sum(na * (640 // s) ** 2 for s in strides) == 25500
    assert 0.5 < c.oks < 1.0
    assert peak < 400 * 2**20, peak / 2**20  # MiB: a few arrays of candidates x 17 x 3, not a matrix


def test_an_artifact_that_fails_verification_is_removed(tmp_path, monkeypatch):
    """Verification that fails (an fp32 mismatch) or cannot finish (here a MemoryError) leaves no
    artifact where the user would pick it up, and says so."""
    from yolopose.core.errors import ExportError
    from yolopose.export import export, verify
    import yolopose.export.api as api

    model = _confident_tiny_model()

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 53.9 GiB")

    monkeypatch.setattr(api, "compare_keypoints", out_of_memory)
    with pytest.raises(ExportError, match=r"verification failed \(MemoryError.*the artifact was removed"):
        export(model, "onnx", imgsz=64, out=tmp_path / "a")
    assert not list((tmp_path / "a").glob("*.onnx"))

    def drifting(outputs, reference, *args, **kwargs):
        return verify.compare_keypoints([o + np.float32(1.0) for o in outputs], reference, *args, **kwargs)

    monkeypatch.setattr(api, "compare_keypoints", drifting)
    with pytest.raises(ExportError, match="fp32 openvino keypoints differ from torch.*the artifact was removed"):
        export(model, "openvino", imgsz=64, out=tmp_path / "b")
    assert not any((tmp_path / "b").iterdir())


def test_export_cli_keeps_converter_chatter_out_unless_verbose(tmp_path):
    """Python prints, warnings and C-level writes to file descriptors 1 and 2 made while a format
    converts are kept out of the terminal; yolopose's own progress and summary stay; --verbose
    shows everything. Run in a child process, whose file descriptors are its own."""
    import subprocess
    import sys

    script = f'''
import os, sys, warnings
from yolopose.export import get_format, register_format, Format

@register_format
class Chatty(Format):
    name = "chatty"
    precisions = ("fp32",)
    verify_with = {{"backend": "onnxruntime"}}

    def artifact_path(self, job, precision):
        return job.out_path(job.stem(precision) + ".onnx")

    def write(self, job, precision, path):
        print("CHATTER-python-stdout")
        print("CHATTER-python-stderr", file=sys.stderr)
        warnings.warn("CHATTER-warning")
        os.write(1, b"CHATTER-fd1\\n")
        os.write(2, b"CHATTER-fd2\\n")
        return get_format("onnx").write(job, precision, path)

from yolopose.export.cli import main
main(sys.argv[1:])
'''
    runner = tmp_path / "run.py"
    runner.write_text(script)
    base = [sys.executable, str(runner), "yolov5n-pose", "--format", "chatty", "--imgsz", "64"]
    quiet = subprocess.run(base + ["--out", str(tmp_path / "q")], capture_output=True, text=True, timeout=600)
    assert quiet.returncode == 0, quiet.stderr
    assert "CHATTER" not in quiet.stdout + quiet.stderr
    assert "[chatty fp32] done in" in quiet.stderr and "chatty" in quiet.stdout  # our log and summary stay
    loud = subprocess.run(base + ["--out", str(tmp_path / "v"), "--verbose"], capture_output=True, text=True, timeout=600)
    assert loud.returncode == 0, loud.stderr
    for word in ("python-stdout", "python-stderr", "warning", "fd1", "fd2"):
        assert f"CHATTER-{word}" in loud.stdout + loud.stderr, word
