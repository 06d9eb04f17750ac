"""End to end on the same ONNX: ``yolopose.PoseEstimator.predict(path)`` beside a peer tool's own predictor,
side by side in one run (interleaved rounds, medians), onnxruntime with the same threads on both sides.

    python benchmarks/peer_e2e.py --model yolo11n-pose.onnx --peer-python /work/peer/bin/python [--rounds 40]
    python benchmarks/peer_e2e.py --model yolo11n-pose.onnx          # ours only, beside PEER_REFERENCE

The peer (Ultralytics, AGPL-3.0) runs in its OWN virtual environment, in a child process started
with ``--peer-python``; this project never imports it. The child is a small script written out by
this file: it loads the model once with the peer's public ``YOLO(...)`` API and, on each request,
times ``predict(path)`` calls; nothing of the peer's code is copied here. Without ``--peer-python``,
our figures are printed beside :data:`PEER_REFERENCE`, the peer's figures measured on the machine
and date stated there, so that CI needs no peer (those are then not side by side: the ratio is
only indicative).

Making the ONNX (peer venv only, random weights: speed does not depend on them)::

    from ultralytics import YOLO; from ultralytics.nn.tasks import PoseModel, yaml_model_load
    cfg = yaml_model_load("yolo11n-pose.yaml"); cfg["nc"] = 1          # person only, like the release
    m = YOLO("yolo11n-pose.yaml"); new = PoseModel(cfg, nc=1, verbose=False)
    new.args, new.task, new.names = m.model.args, m.model.task, {0: "person"}; m.model = new
    m.export(format="onnx", imgsz=640, simplify=False, dynamic=False)    # output0 [1, 56, 8400]

Both sides use conf 0.25 and NMS IoU 0.7 (the peer's defaults). With random weights no score
passes 0.25, so both postprocessings see no person: the comparison is of everything around the
network (decode, letterbox, input tensor, output decode) and of the network itself.
Target (issue 31): ours <= 0.9x the peer's wall time on both images.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _photos  # noqa: E402

from yolopose import PoseEstimator  # noqa: E402
from yolopose.bench.system import cpu_features, cpu_model, package_versions  # noqa: E402

CONF, IOU = 0.25, 0.7

#: The peer's figures from the last side-by-side run, for runs without the peer (CI). Provenance:
#: ``python benchmarks/peer_e2e.py --model yolo11n-pose.onnx --peer-python /work/peer/bin/python
#: --rounds 40`` (see the closing note of issue 31 for the whole table).
PEER_REFERENCE: Dict[str, Any] = {
    "measured": "2026-12-08, issue 31: --rounds 40 --per-round 3",
    "machine": "AMD EPYC, 2 cores, flags avx avx2 fma avx512f avx512_vnni avx512_bf16, shared with 3 other sessions",
    "load": "2.9 before, 4.6 after (1-minute average)",
    "versions": {"ultralytics": "8.4.190", "onnxruntime": "1.32.0 (both sides)", "torch": "2.13.0+cpu (peer)",
                 "yolopose": "0.1.0", "pillow": "13.0.0", "opencv-python-headless": "5.1.0.95 (ours)"},
    "model": "YOLO11n-pose from its yaml, nc=1, random weights, ONNX at 640 (output0 [1, 56, 8400])",
    # image name -> median wall ms of predict(path), and CPU ms (load-robust) of the steps around the network
    "wall_ms": {"portrait.jpg": 194.36, "hd.jpg": 185.98},
    "ours_wall_ms": {"portrait.jpg": 191.73, "hd.jpg": 183.15},
    "peer_inference_ms": {"portrait.jpg": 180.52, "hd.jpg": 173.64},
    "ours_inference_ms": {"portrait.jpg": 179.37, "hd.jpg": 172.97},
    "peer_imread_cpu_ms": {"portrait.jpg": 3.15, "hd.jpg": 3.28},
    "peer_pre_cpu_ms": {"portrait.jpg": 2.42, "hd.jpg": 1.85},
    "ours_pre_cpu_ms": {"portrait.jpg": 4.67, "hd.jpg": 3.58},
    "ours_post_cpu_ms": {"portrait.jpg": 0.45, "hd.jpg": 0.45},
}

_PEER_WORKER = r'''
import json, os, sys, time
os.environ.setdefault("YOLO_OFFLINE", "1")
from ultralytics import YOLO
import ultralytics, onnxruntime
model = YOLO(sys.argv[1], task="pose")
images = sys.argv[2:]
for image in images:  # the predictor is built on the first call
    for _ in range(3):
        model.predict(image, imgsz=640, conf=%(conf)r, iou=%(iou)r, verbose=False)
print("READY " + json.dumps({"ultralytics": ultralytics.__version__, "onnxruntime": onnxruntime.__version__,
                             "threads": onnxruntime.SessionOptions().intra_op_num_threads}), flush=True)
try:  # the peer's own image reader (what its predictor decodes files with), timed alone in CPU time
    from ultralytics.utils.patches import imread
except ImportError:
    imread = None
for line in sys.stdin:
    index, count = (int(v) for v in line.split())
    out = []
    for _ in range(count):
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = model.predict(images[index], imgsz=640, conf=%(conf)r, iou=%(iou)r, verbose=False)[0]
        entry = {"wall": (time.perf_counter() - t0) * 1e3, "cpu": (time.process_time() - c0) * 1e3,
                 **{k: float(v) for k, v in result.speed.items()}}
        if imread is not None:  # its decode, then its own preprocess step on the pixels, in CPU time
            t1 = time.thread_time()
            pixels = imread(images[index])
            t2 = time.thread_time()
            model.predictor.preprocess([pixels])
            entry["imread_cpu"] = (t2 - t1) * 1e3
            entry["pre_cpu"] = (time.thread_time() - t2) * 1e3
        out.append(entry)
    print("RESULT " + json.dumps(out), flush=True)
''' % {"conf": CONF, "iou": IOU}


class Peer:
    """The peer's predictor in a child process of its own interpreter (``--peer-python``)."""

    def __init__(self, python: str, model: Path, images: Sequence[Path], workdir: Path) -> None:
        script = workdir / "peer_worker.py"
        script.write_text(_PEER_WORKER)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        self.proc = subprocess.Popen([python, str(script), str(model), *map(str, images)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=str(workdir), env=env)
        self.info = json.loads(self._read("READY "))

    def _read(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(prefix):
                return line[len(prefix):]
        raise RuntimeError(f"the peer process ended (exit code {self.proc.wait()})")

    def run(self, index: int, count: int) -> List[Dict[str, float]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{index} {count}\n")
        self.proc.stdin.flush()
        return json.loads(self._read("RESULT "))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ours(est: PoseEstimator, path: Path, count: int) -> List[Dict[str, float]]:
    """``predict(path)``, its three steps timed (exactly what predict runs)."""
    out = []
    clock, cpu = time.perf_counter, time.thread_time
    for _ in range(count):
        c_all = time.process_time()
        t0, c0 = clock(), cpu()
        x, transforms = est.preprocess([str(path)])
        t1, c1 = clock(), cpu()
        raw = est.infer(x)
        t2, c2 = clock(), cpu()
        est.postprocess(raw, transforms)
        t3, c3 = clock(), cpu()
        out.append({"wall": (t3 - t0) * 1e3, "cpu": (time.process_time() - c_all) * 1e3, "preprocess": (t1 - t0) * 1e3,
                    "inference": (t2 - t1) * 1e3, "postprocess": (t3 - t2) * 1e3,
                    "pre_cpu": (c1 - c0) * 1e3, "post_cpu": (c3 - c2) * 1e3})
    return out


def medians(samples: List[Dict[str, float]]) -> Dict[str, float]:
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="the peer's pose ONNX at 640 (see the docstring)")
    parser.add_argument("--peer-python", help="python of the peer's own venv; without it, PEER_REFERENCE is shown")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds (default 40)")
    parser.add_argument("--per-round", type=int, default=3, help="predictions per side, image and round (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads for ours (default 2)")
    parser.add_argument("--image", action="append", type=Path, help="image file(s) instead of the two made here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(list(argv) or None)

    load_before = os.getloadavg()
    est = PoseEstimator(args.model, threads=args.threads, conf=CONF, iou=IOU)
    with tempfile.TemporaryDirectory() as tmp:
        paths = args.image or [_photos.write_photo(Path(tmp) / f"{k}.jpg", *v) for k, v in _photos.PHOTOS.items()]
        peer: Optional[Peer] = Peer(args.peer_python, args.model.resolve(), paths, Path(tmp)) if args.peer_python else None
        for p in paths:  # warm-up
            ours(est, p, 3)
        mine: Dict[str, List[Dict[str, float]]] = {p.name: [] for p in paths}
        theirs: Dict[str, List[Dict[str, float]]] = {p.name: [] for p in paths}
        try:
            for r in range(args.rounds):
                for i, p in enumerate(paths):
                    first_ours = (r + i) % 2 == 0  # alternate who goes first
                    if first_ours:
                        mine[p.name] += ours(est, p, args.per_round)
                    if peer is not None:
                        theirs[p.name] += peer.run(i, args.per_round)
                    if not first_ours:
                        mine[p.name] += ours(est, p, args.per_round)
        finally:
            if peer is not None:
                peer.close()
    load_after = os.getloadavg()

    versions = {k: v for k, v in package_versions(("yolopose", "numpy", "pillow", "onnxruntime", "opencv-python-headless",
                                                   "opencv-python")).items() if v}
    print(f"CPU: {cpu_model()}  flags: {' '.join(cpu_features())}")
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("ours: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + f", {args.threads} onnxruntime threads")
    if peer is not None:
        print(f"peer: ultralytics {peer.info['ultralytics']}, onnxruntime {peer.info['onnxruntime']} (own venv, "
              f"{args.peer_python}), onnxruntime threads: its default")
    print(f"{args.rounds} rounds x {args.per_round} predictions per side and image, interleaved; medians in ms\n")
    figures: Dict[str, Any] = {}
    print("| image | peer wall | ours wall | ours / peer | process CPU ours / peer | ours pre / infer / post | "
          "peer pre / infer / post (its split; CPU of its imread and pre alone) |")
    print("|---|---|---|---|---|---|---|")
    for name in mine:
        m = medians(mine[name])
        t = medians(theirs[name]) if theirs[name] else None
        ref = PEER_REFERENCE["wall_ms"].get(name)
        peer_wall = t["wall"] if t else ref
        ratio = f"{m['wall'] / peer_wall:.2f}" + ("" if t else " (vs reference)") if peer_wall else "-"
        cpu = f"{m['cpu']:.1f} / {t['cpu']:.1f}" if t else "-"
        peer_split = (f"{t['preprocess']:.2f} / {t['inference']:.2f} / {t['postprocess']:.2f} (CPU imread "
                      f"{t.get('imread_cpu', float('nan')):.2f} + pre {t.get('pre_cpu', float('nan')):.2f})") if t else "-"
        print(f"| {name} | {peer_wall if peer_wall else '-':{'.2f' if peer_wall else ''}} | {m['wall']:.2f} | {ratio} | {cpu} | "
              f"{m['preprocess']:.2f} / {m['inference']:.2f} / {m['postprocess']:.2f} (CPU pre {m['pre_cpu']:.2f}, "
              f"post {m['post_cpu']:.2f}) | {peer_split} |")
        figures[name] = {"ours": m, "peer": t, "peer_reference_wall_ms": ref}
    print("\nwall: median of predict(path) calls; CPU: the process's CPU time per call (all threads). Under load the "
          "inference (the same on both sides) dominates and varies most; pre/post CPU times are the load-robust figures.")
    if peer is None:
        print(f"\npeer figures: PEER_REFERENCE, measured {PEER_REFERENCE['measured']} on {PEER_REFERENCE['machine']} "
              f"(load {PEER_REFERENCE['load']}), {PEER_REFERENCE['versions']}; ours then: {PEER_REFERENCE['ours_wall_ms']}")
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "cpu": cpu_model(),
                                         "flags": cpu_features(), "versions": versions,
                                         "peer": peer.info if peer else None, "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
