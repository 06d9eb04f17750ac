"""The edge frame: a stream of 1280x720 JPEG frames through an int8 TFLite pose model at 640, frames per
second of each way of running it, side by side in one run (interleaved rounds, medians).

    yolopose-export yolov5s6-pose-lite --format tflite --int8 --imgsz 640 -o exports   # fresh weights do for speed
    python benchmarks/edge_frame.py --model exports/yolov5s6-pose-lite_640_int8.tflite [--frames 60 --rounds 7]

Loops, each over the same ``--frames`` JPEG frames (people walking over a photograph-like scene,
``_photos.write_frames``), engine threads ``--threads`` (default 2, the edge board's cores):

- ``inference only``: the engine on one preprocessed frame, ``--frames`` times: the bound;
- ``stream, no pipeline``: ``PoseEstimator.stream(folder, prefetch=0)``: decode, preprocess,
  inference and postprocess one after the other (before issue 31);
- ``stream, pipelined``: ``PoseEstimator.stream(folder)``: the decode and preprocessing of the next
  frames run in a pipeline thread while the engine runs (what ``yolopose track`` does too);
- ``predict(path) loop``: ``predict`` on each file (a reduced JPEG decode; no full frame for the caller).

FPS = frames / wall seconds of the loop; ``CPU ms / frame`` is the process's CPU time (all threads)
per frame. On a machine shared with other work the absolute FPS moves with the load: compare the
loops of one run (``vs inference only``), and rerun on a quiet machine for the absolute figure.
Target (issue 31): the pipelined stream >= 50 FPS where inference alone runs at 53 (a ratio of 0.94).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _photos  # noqa: E402

from yolopose import PoseEstimator  # noqa: E402
from yolopose.bench.system import cpu_features, cpu_model, package_versions  # noqa: E402


def loops(est: PoseEstimator, folder: Path, paths: List[Path]) -> Dict[str, Callable[[], int]]:
    """name -> a function that runs the loop once and returns the number of frames it handled."""
    x, _ = est.preprocess(str(paths[0]))

    def inference_only() -> int:
        for _ in paths:
            est.infer(x)
        return len(paths)

    def stream(prefetch: int) -> Callable[[], int]:
        def run() -> int:
            return sum(1 for _ in est.stream(folder, prefetch=prefetch))

        return run

    def predict_files() -> int:
        for p in paths:
            est.predict(p)
        return len(paths)

    return {"inference only": inference_only, "stream, no pipeline": stream(0), "stream, pipelined": stream(2),
            "predict(path) loop": predict_files}


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="the int8 TFLite at 640 (see the docstring)")
    parser.add_argument("--frames", type=int, default=60, help="JPEG frames per loop (default 60)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of all loops (default 7)")
    parser.add_argument("--threads", type=int, default=2, help="engine threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(list(argv) or None)

    load_before = os.getloadavg()
    est = PoseEstimator(args.model, threads=args.threads)
    fps: Dict[str, List[float]] = {}
    cpu: Dict[str, List[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "frames"
        paths = _photos.write_frames(folder, args.frames)
        runs = loops(est, folder, paths)
        for fn in runs.values():  # warm-up
            fn()
        fps = {k: [] for k in runs}
        cpu = {k: [] for k in runs}
        for r in range(args.rounds):
            names = list(runs) if r % 2 == 0 else list(reversed(runs))  # alternate the order
            for name in names:
                c0, w0 = time.process_time(), time.perf_counter()
                n = runs[name]()
                w1, c1 = time.perf_counter(), time.process_time()
                fps[name].append(n / (w1 - w0))
                cpu[name].append((c1 - c0) * 1e3 / n)
    load_after = os.getloadavg()
    est.close()

    versions = {k: v for k, v in package_versions(("yolopose", "numpy", "pillow", "ai-edge-litert", "tflite-runtime",
                                                   "opencv-python-headless")).items() if v}
    print(f"CPU: {cpu_model()}  flags: {' '.join(cpu_features())}  ({os.cpu_count()} CPUs)")
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"model: {args.model.name} ({est.backend}, {args.threads} threads), {args.frames} frames 1280x720 JPEG "
          f"quality {_photos.QUALITY}, {args.rounds} interleaved rounds, medians\n")
    base = statistics.median(fps["inference only"])
    figures: Dict[str, Any] = {}
    print("| loop | FPS | ms / frame | CPU ms / frame | vs inference only |")
    print("|---|---|---|---|---|")
    for name in fps:
        f = statistics.median(fps[name])
        c = statistics.median(cpu[name])
        figures[name] = {"fps": f, "ms_per_frame": 1e3 / f, "cpu_ms_per_frame": c, "fps_all": fps[name]}
        print(f"| {name} | {f:.1f} | {1e3 / f:.2f} | {c:.2f} | {f / base:.2f} |")
    piped, plain = figures["stream, pipelined"]["fps"], figures["stream, no pipeline"]["fps"]
    print(f"\npipelined stream: {piped:.1f} FPS = {piped / plain:.2f}x the unpipelined stream, {piped / base:.2f} of the "
          f"inference-only bound ({base:.1f} FPS); target >= 50 FPS (0.94 of 53)")
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "cpu": cpu_model(),
                                         "flags": cpu_features(), "versions": versions, "frames": args.frames,
                                         "threads": args.threads, "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
