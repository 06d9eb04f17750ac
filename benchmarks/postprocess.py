"""Speed of the SDK's numpy post-processing on outputs the size of yolov5s6-pose at 640.

    python benchmarks/postprocess.py [--onnx MODEL.onnx] [--runs 200]

Prints, from one run on this machine:
- decode + NMS median ms on synthetic raw outputs (25,500 candidates: 80x80 + 40x40 + 20x20 +
  10x10 cells x 3 anchors) at conf 0.25 (default) and 0.001 (evaluation);
- the full ``PoseEstimator.postprocess`` and ``preprocess`` medians;
- the ratio of pre + post to onnxruntime CPU inference of a yolov5s6-pose ONNX (exported here
  with torch from ``yolopose.training.models.create_model`` when torch is installed, or given
  with ``--onnx``).
Targets: decode + NMS < 1 ms at conf 0.25 and < 15 ms at conf 0.001; pre + post < 5% of inference.

The synthetic logits are "realistic": background objectness ~ N(-9.5, 1.5) (a trained model is
confident about background) with random boxes; eight people, each seen by the neighbouring cells
and the anchors that fit its size (YOLOv5 matching, ratio < 4) on every level, with boxes
regressed to the person plus noise and objectness falling with distance and anchor mismatch;
class logits ~ N(3, 1), keypoint offsets ~ N(0.25, 0.3), keypoint confidence logits ~ N(0, 2).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np

from yolopose.core.ops import PostprocessSettings, decode, letterbox, select_detections

STRIDES = (8, 16, 32, 64)
ANCHORS = (
    ((19, 27), (44, 40), (38, 94)),
    ((96, 68), (86, 152), (180, 137)),
    ((140, 301), (303, 264), (238, 542)),
    ((436, 615), (739, 380), (925, 792)),
)
IMGSZ = 640
K = 17
NA = 3


def synthetic_outputs(seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    levels = []
    for s in STRIDES:
        g = IMGSZ // s
        det = rng.normal(0.0, 1.0, (1, g, g, NA, 6)).astype(np.float32)
        det[..., 2:4] *= 0.5
        det[..., 4] = rng.normal(-9.5, 1.5, (1, g, g, NA))
        det[..., 5] = rng.normal(3.0, 1.0, (1, g, g, NA))
        kxy = rng.normal(0.25, 0.3, (1, g, g, NA, 2 * K)).astype(np.float32)
        kconf = rng.normal(0.0, 2.0, (1, g, g, NA, K)).astype(np.float32)
        levels.append([det, kxy, kconf])
    for _ in range(8):  # people: confident cells near the centre, boxes regressed to the person
        pw, ph = rng.uniform(40, 300), 0.0
        ph = pw * rng.uniform(1.5, 3.0)
        px, py = rng.uniform(pw / 2, IMGSZ - pw / 2), rng.uniform(0, IMGSZ)
        for lvl, s in enumerate(STRIDES):
            g = IMGSZ // s
            gx, gy = int(px // s), int(py // s)
            for cy in range(max(0, gy - 1), min(g, gy + 2)):
                for cx in range(max(0, gx - 1), min(g, gx + 2)):
                    for a, (aw, ah) in enumerate(ANCHORS[lvl]):
                        ratio = max(pw / aw, aw / pw, ph / ah, ah / ph)
                        if ratio >= 4.0:
                            continue
                        sx = np.clip((px / s - cx + 0.5) / 2, 0.02, 0.98)
                        sy = np.clip((py / s - cy + 0.5) / 2, 0.02, 0.98)
                        sw = np.clip(np.sqrt(pw / aw) / 2, 0.02, 0.98)
                        sh = np.clip(np.sqrt(ph / ah) / 2, 0.02, 0.98)
                        t = np.log(np.array([sx, sy, sw, sh]) / (1 - np.array([sx, sy, sw, sh])))
                        det = levels[lvl][0]
                        det[0, cy, cx, a, :4] = t + rng.normal(0, 0.15, 4)
                        dist = abs(cx + 0.5 - px / s) + abs(cy + 0.5 - py / s)
                        det[0, cy, cx, a, 4] = rng.normal(3.0 - dist - 0.5 * ratio, 1.0)
    return [tuple(x.reshape(1, x.shape[1], x.shape[2], -1) for x in lv) for lv in levels]


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def decode_nms(levels, conf: float) -> int:
    (cand,) = decode(levels, STRIDES, ANCHORS, conf)
    return len(select_detections(cand, PostprocessSettings()))


def export_s6_onnx(folder: Path) -> Path:
    """yolov5s6-pose (random weights: speed only) -> ONNX with NHWC outputs and our metadata."""
    import onnx
    import torch

    from yolopose.training.models import create_model, model_metadata

    model = create_model("yolov5s6-pose").eval()

    class NHWC(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return tuple(t.permute(0, 2, 3, 1) for level in self.m(x) for t in level)

    meta = model_metadata(model, IMGSZ)
    names = [o.name for o in meta.outputs]
    path = folder / "yolov5s6-pose.onnx"
    with torch.no_grad():
        torch.onnx.export(NHWC(model), (torch.zeros(1, 3, IMGSZ, IMGSZ),), str(path), input_names=["images"],
                          output_names=names, opset_version=17, dynamo=False)
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "yolopose", meta.to_json()
    onnx.save(proto, str(path))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, default=None, help="a yolov5s6-pose ONNX at 640 (default: export one with torch)")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    args = ap.parse_args(argv)

    levels = synthetic_outputs()
    n = sum(d.shape[1] * d.shape[2] * NA for d, _, _ in levels)
    print(f"raw outputs: {len(STRIDES)} levels, {n} candidates, {sum(a.size for lv in levels for a in lv) * 4 / 2**20:.1f} MiB float32")
    results = {}
    for conf in (0.25, 0.001):
        (cand,) = decode(levels, STRIDES, ANCHORS, conf)
        kept = decode_nms(levels, conf)
        ms = median_ms(lambda: decode_nms(levels, conf), args.runs)
        results[conf] = ms
        target = 1.0 if conf == 0.25 else 15.0
        print(f"decode + NMS  conf {conf:<5}: {ms:7.3f} ms median  ({len(cand)} above conf, {kept} kept; target < {target} ms)")

    onnx_path = args.onnx
    tmp = None
    if onnx_path is None:
        try:
            import torch  # noqa: F401

            from yolopose.training.models import create_model  # noqa: F401
        except ImportError as exc:
            print(f"inference ratio skipped: torch / yolopose.training not available ({exc}); pass --onnx MODEL.onnx")
            return 0
        tmp = tempfile.TemporaryDirectory()
        print("exporting yolov5s6-pose to ONNX (random weights) ...", flush=True)
        onnx_path = export_s6_onnx(Path(tmp.name))

    from yolopose import PoseEstimator

    est = PoseEstimator(onnx_path, backend="onnxruntime", threads=args.threads)
    image = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)  # a VGA frame
    x, transforms = est.preprocess([image])
    _, t = letterbox(image, IMGSZ)
    raw_levels = [a for lv in levels for a in lv]  # the realistic outputs, in infer() order
    infer_ms = median_ms(lambda: est.infer(x), max(5, args.runs // 20))
    pre_ms = median_ms(lambda: est.preprocess([image]), args.runs)
    post_ms = median_ms(lambda: est.postprocess(raw_levels, [t]), args.runs)
    post001 = median_ms(lambda: est.postprocess(raw_levels, [t], conf=0.001), args.runs)
    print(f"PoseEstimator.preprocess (640x480 RGB array): {pre_ms:7.3f} ms median")
    print(f"PoseEstimator.postprocess conf 0.25: {post_ms:7.3f} ms, conf 0.001: {post001:7.3f} ms median")
    print(f"onnxruntime CPU inference ({onnx_path.name}, 640x640): {infer_ms:8.1f} ms median")
    ratio = (pre_ms + post_ms) / infer_ms
    print(f"pre + post / inference: {100 * ratio:.2f}%  (target < 5%)")
    ok = results[0.25] < 1.0 and results[0.001] < 15.0 and ratio < 0.05
    print("all targets met" if ok else "some targets missed")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
