"""Preprocessing (decode + letterbox + input tensor) of a photo for a 640 model, side by side in one run:
the path before issue 31 ("today", kept here as the reference) against the SDK's, with and without OpenCV.

    python benchmarks/preprocess.py [--rounds 300] [--json pre.json] [--image FILE ...]

Images: an 810x1080 (bus.jpg's size) and a 1280x720 photograph-like JPEG made by ``_photos.py``
(quality 90), or ``--image`` files. Inputs: the bundled models' input plans moved to 640x640,
so no 640 model is needed (preprocessing never runs the engine): ONNX-style NCHW float32 and
TFLite-style NHWC int8 (scale 1/255, zero point -128). Every variant runs once per round, in turn
(interleaved), and the table shows medians of wall time and of the thread's CPU time (less
disturbed by other processes on a loaded machine), with the CPU flags and the load average.

Targets (issue 31): from the 1280x720 JPEG <= 3 ms; from the 810x1080 one <= 1/3 of today.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _photos  # noqa: E402

import yolopose.core.images as images_module  # noqa: E402
from yolopose import PoseEstimator  # noqa: E402
from yolopose._assets import default_model_candidates  # noqa: E402
from yolopose._input import InputWriter  # noqa: E402
from yolopose.bench.system import cpu_features, cpu_model  # noqa: E402
from yolopose.core.images import open_image_fit  # noqa: E402
from yolopose.core.ops.letterbox import AREA_SHRINK, letterbox_content, letterbox_transform  # noqa: E402

LETTERBOX = sys.modules["yolopose.core.ops.letterbox"]
IMGSZ = (640, 640)


# ----------------------------------------------------------------------------- the path before issue 31
def _today_resize(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """yolopose 0.1.0's letterbox resampling: area filter from 2x (OpenCV if installed), else Pillow bilinear."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    if min(w / size[0], h / size[1]) >= AREA_SHRINK:
        fast = LETTERBOX._opencv_resizers()
        return (fast[0] if fast else LETTERBOX._pillow_area)(np.ascontiguousarray(image), size)
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


@contextlib.contextmanager
def _today_draft_rule() -> Iterator[None]:
    """yolopose 0.1.0 decoded a JPEG reduced only down to 1.25x the letterboxed size."""
    saved = images_module._DRAFT_MAX_ENLARGE
    images_module._DRAFT_MAX_ENLARGE = 1 / 1.25
    try:
        yield
    finally:
        images_module._DRAFT_MAX_ENLARGE = saved


def today_preprocess(est: PoseEstimator, path: Path) -> np.ndarray:
    """Decode, letterbox into a padded canvas, then ``make_input`` (astype, scale, transpose)."""
    with _today_draft_rule():
        pixels, full = open_image_fit(path, IMGSZ)
    t = letterbox_transform(full, IMGSZ)
    resized = _today_resize(pixels, t.content_size)
    canvas = np.full((*IMGSZ, 3), 114, np.uint8)
    (rw, rh), top, left = t.content_size, int(t.pad_y), int(t.pad_x)
    canvas[top : top + rh, left : left + rw] = resized
    return est.plan.make_input(canvas[None])


@contextlib.contextmanager
def without_opencv() -> Iterator[None]:
    saved = LETTERBOX._opencv_resizers
    LETTERBOX._opencv_resizers = lambda: None
    try:
        yield
    finally:
        LETTERBOX._opencv_resizers = saved


def pillow_only(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with without_opencv():
            return fn()

    return run


# ----------------------------------------------------------------------------- setup and timing
def estimator_at_640(model: Path) -> PoseEstimator:
    """The bundled model's estimator with its input plan moved to 640x640 (preprocess only)."""
    from yolopose.layouts.raw import RawLayout

    est = PoseEstimator(model, threads=1)
    meta = dataclasses.replace(est.plan.metadata, imgsz=IMGSZ)
    est.plan = dataclasses.replace(est.plan, output_layout=RawLayout(meta, used=(), transposed=()))
    est._input = InputWriter(est.plan, 114)
    return est


def interleaved(fns: Dict[str, Callable[[], Any]], rounds: int, warmup: int = 5) -> Dict[str, Dict[str, float]]:
    """Median / min wall and thread-CPU milliseconds of each function, all run once per round in turn."""
    wall: Dict[str, List[int]] = {k: [] for k in fns}
    cpu: Dict[str, List[int]] = {k: [] for k in fns}
    for r in range(warmup + rounds):
        for name, fn in fns.items():
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            fn()
            w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
            if r >= warmup:
                wall[name].append(w1 - w0)
                cpu[name].append(c1 - c0)
    return {k: {"wall_ms": statistics.median(wall[k]) / 1e6, "cpu_ms": statistics.median(cpu[k]) / 1e6,
                "wall_min_ms": min(wall[k]) / 1e6, "cpu_min_ms": min(cpu[k]) / 1e6} for k in fns}


def stages(est: PoseEstimator, path: Path) -> Dict[str, Callable[[], Any]]:
    """The SDK path in its three parts (decode, letterbox resampling, writing the input tensor)."""
    pixels, full = open_image_fit(path, IMGSZ)
    content, t = letterbox_content(pixels, IMGSZ, src_shape=full)
    x = est._input.new(1)
    return {
        "  decode": lambda: open_image_fit(path, IMGSZ),
        "  letterbox": lambda: letterbox_content(pixels, IMGSZ, src_shape=full),
        "  input tensor": lambda: est._input.write(x, 0, content, t),
    }


def versions() -> Dict[str, str]:
    from PIL import features

    out = {"python": sys.version.split()[0], "numpy": np.__version__, "pillow": Image.__version__,
           "libjpeg-turbo": str(features.version("libjpeg_turbo") or "no")}
    try:
        import cv2

        out["opencv"] = cv2.__version__
    except ImportError:
        out["opencv"] = "not installed"
    return out


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="interleaved rounds (default 300)")
    parser.add_argument("--image", action="append", type=Path, help="image file(s) instead of the two made here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(list(argv) or None)
    load_before = os.getloadavg()
    models = {p.suffix: p for p in default_model_candidates()}
    ests = {"NCHW float32": estimator_at_640(models[".onnx"])}
    if ".tflite" in models:
        try:
            ests["NHWC int8"] = estimator_at_640(models[".tflite"])
        except Exception as exc:  # no TFLite engine installed
            print(f"(NHWC int8 skipped: {exc})")
    has_cv2 = LETTERBOX._opencv_resizers() is not None
    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = args.image or [_photos.write_photo(Path(tmp) / f"{k}.jpg", *v) for k, v in _photos.PHOTOS.items()]
        for path in paths:
            with Image.open(path) as im:
                label = f"{path.name} {im.width}x{im.height} ({path.stat().st_size / 1e3:.0f} kB)"
            for layout, est in ests.items():
                fns: Dict[str, Callable[[], Any]] = {"today": lambda e=est, p=path: today_preprocess(e, p)}
                fns["SDK"] = lambda e=est, p=path: e.preprocess(p)
                if has_cv2:
                    fns["SDK, Pillow only"] = pillow_only(lambda e=est, p=path: e.preprocess(p))
                fns.update(stages(est, path))
                results[f"{label} -> {layout}"] = interleaved(fns, args.rounds)
    load_after = os.getloadavg()

    print(f"CPU: {cpu_model()}  flags: {' '.join(cpu_features())}")
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    print(f"{args.rounds} interleaved rounds; medians (min in brackets); OpenCV {'used' if has_cv2 else 'absent'}\n")
    print("| image -> input | path | wall ms | CPU ms | vs today (wall / CPU) |")
    print("|---|---|---|---|---|")
    for case, rows in results.items():
        base = rows["today"]
        for name, r in rows.items():
            ratio = "" if name.startswith("  ") else f"{r['wall_ms'] / base['wall_ms']:.2f}x / {r['cpu_ms'] / base['cpu_ms']:.2f}x"
            print(f"| {case} | {name} | {r['wall_ms']:.2f} ({r['wall_min_ms']:.2f}) | {r['cpu_ms']:.2f} ({r['cpu_min_ms']:.2f}) | {ratio} |")
    print()
    for case, rows in results.items():
        sdk, base = rows["SDK"]["cpu_ms"], rows["today"]["cpu_ms"]
        print(f"{case}: SDK {sdk:.2f} ms CPU = 1/{base / sdk:.1f} of today ({base:.2f} ms)"
              + ("" if "1280x720" not in case else f"; target <= 3 ms: {'met' if sdk <= 3.0 else 'NOT met'}"))
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "cpu": cpu_model(),
                                         "flags": cpu_features(), "versions": versions(), "rounds": args.rounds,
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
