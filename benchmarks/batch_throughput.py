"""Batch throughput with the bundled model, and the fast preprocessing behind it, in one run.

    python benchmarks/batch_throughput.py [--images 1000] [--coco-json VAL.json --coco-images DIR ...] [--json OUT]

On N generated 1280x720 JPEGs (the bundled samples, scaled up, shifted and flipped):

1. preprocessing of one image, today's way (full JPEG decode + Pillow bilinear letterbox, inlined
   here as the reference) against the SDK's (reduced JPEG decode + area filter), from a file and
   from a decoded array: median CPU and wall ms of interleaved runs, and their ratios;
2. where the time of one image goes (decode, letterbox, input conversion, inference, postprocess,
   writing its row);
3. images/s of a plain loop over ``PoseEstimator.predict``, ``yolopose batch --executor local``,
   Ray with 1 actor and Ray with 2 actors (1 engine thread each), ratios to the plain loop. Ray
   is started once before; its rates are given end to end (including actor start-up) and
   steady (after the first results arrive), with the CPU time per image of every process involved
   (this one and Ray's), the figure a busy shared machine disturbs least;
4. with ``--coco-json``/``--coco-images`` (repeatable): COCO keypoint AP of today's and the new
   preprocessing on each labelled split scaled up 5x (so the large-input paths are the ones
   measured) and on all of them as one. (At a split's own size the two are the same pixels: shrinks
   below 2x keep the bilinear filter, and only large JPEGs are decoded reduced.)

The CPU model and flags, the load average before and after, and the driver's CPU time are printed:
on a shared machine, trust the ratios more than the absolute figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from yolopose import PoseEstimator
from yolopose.core.cpu import cpu_features, cpu_model
from yolopose.core.images import open_image, open_image_fit
from yolopose.core.ops import LetterboxTransform, as_hw, letterbox

SAMPLES = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "samples"
SIZE = (1280, 720)


# ---------------------------------------------------------------------- today's preprocessing
def letterbox_bilinear(image: np.ndarray, new_shape: Any, pad_value: int = 114) -> Tuple[np.ndarray, LetterboxTransform]:
    """The letterbox as it was before the area filter: Pillow bilinear at any scale (reference only)."""
    h, w = image.shape[:2]
    nh, nw = as_hw(new_shape)
    r = min(nh / h, nw / w)
    rw, rh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    resized = np.asarray(Image.fromarray(image).resize((rw, rh), Image.BILINEAR)) if (rw, rh) != (w, h) else image
    top, left = int(round((nh - rh) / 2.0 - 0.1)), int(round((nw - rw) / 2.0 - 0.1))
    out = np.full((nh, nw, 3), pad_value, dtype=np.uint8)
    out[top : top + rh, left : left + rw] = resized
    return out, LetterboxTransform(scale=r, pad_x=float(left), pad_y=float(top), src_shape=(h, w), dst_shape=(nh, nw))


class TodayEstimator(PoseEstimator):
    """``PoseEstimator`` with today's preprocessing (full decode, bilinear letterbox)."""

    def preprocess(self, images: Any, bgr: bool = False) -> Any:
        batch = [images] if isinstance(images, (str, os.PathLike, np.ndarray)) else list(images)
        boxed, transforms = [], []
        for image in batch:
            pixels = open_image(image) if isinstance(image, (str, os.PathLike)) else image
            arr, t = letterbox_bilinear(pixels, self.input_size)
            boxed.append(arr)
            transforms.append(t)
        return self.plan.make_input(np.stack(boxed)), transforms


# ---------------------------------------------------------------------- helpers
def paired_ms(fns: Dict[str, Callable[[], Any]], runs: int) -> Dict[str, Dict[str, float]]:
    """Median wall and CPU (``time.process_time``: every thread of this process) ms of each
    function, run in turn so that a neighbour's load falls on all of them alike."""
    for fn in fns.values():
        fn()
    wall: Dict[str, List[float]] = {k: [] for k in fns}
    cpu: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {k: {"wall_ms": statistics.median(wall[k]) * 1e3, "cpu_ms": statistics.median(cpu[k]) * 1e3} for k in fns}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class ChildCpu:
    """CPU seconds used by this process's descendants (Ray's raylet, GCS and workers) while the
    block runs: sampled every 0.2 s with psutil, keeping each process's last reading."""

    def __init__(self) -> None:
        self.seen: Dict[int, float] = {}
        self.start: Dict[int, float] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        import psutil

        for child in psutil.Process().children(recursive=True):
            try:
                t = child.cpu_times()
            except psutil.Error:
                continue
            self.seen[child.pid] = t.user + t.system

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> "ChildCpu":
        self._sample()
        self.start = dict(self.seen)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(v - self.start.get(pid, 0.0) for pid, v in self.seen.items())


def make_images(folder: Path, n: int) -> List[Path]:
    """``n`` 1280x720 JPEGs from the bundled samples: scaled up, shifted, some mirrored."""
    folder.mkdir(parents=True, exist_ok=True)
    bases = [Image.open(p).convert("RGB") for p in sorted(SAMPLES.glob("*.jpg"))]
    canvas_w, canvas_h = SIZE
    paths = []
    rng = np.random.default_rng(0)
    big = []
    for b in bases:
        s = canvas_h / b.height
        big.append(b.resize((int(b.width * s), canvas_h), Image.BICUBIC))
    for i in range(n):
        im = big[i % len(big)]
        if (i // len(big)) % 2:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        canvas = Image.new("RGB", SIZE, tuple(int(v) for v in rng.integers(60, 200, 3)))
        canvas.paste(im, (int(rng.integers(0, max(1, canvas_w - im.width))), 0))
        path = folder / f"{i:05d}.jpg"
        canvas.save(path, quality=90)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------- 1. preprocessing
def preprocessing(paths: Sequence[Path], imgsz: Tuple[int, int], runs: int) -> Dict[str, float]:
    path = paths[0]
    array = open_image(path)
    out: Dict[str, Any] = paired_ms({
        "file_today": lambda: letterbox_bilinear(open_image(path), imgsz),
        "file_new": lambda: _new_file(path, imgsz),
        "array_today": lambda: letterbox_bilinear(array, imgsz),
        "array_new": lambda: letterbox(array, imgsz),
    }, runs)
    from yolopose.core.ops.letterbox import _opencv_resizers

    out["area_filter"] = "opencv" if _opencv_resizers() else "pillow"
    return out


def _new_file(path: Path, imgsz: Tuple[int, int]) -> np.ndarray:
    pixels, full = open_image_fit(path, imgsz)
    return letterbox(pixels, imgsz, src_shape=full)[0]


# ---------------------------------------------------------------------- 2. breakdown
def breakdown(est: PoseEstimator, paths: Sequence[Path], write_ms: float) -> Dict[str, float]:
    imgsz = est.input_size
    stages = {"decode": [], "letterbox": [], "input": [], "inference": [], "postprocess": []}
    clock = time.process_time  # CPU time: what a busy neighbour disturbs least
    for p in paths:
        t0 = clock()
        pixels, full = open_image_fit(p, imgsz)
        t1 = clock()
        boxed, t = letterbox(pixels, imgsz, src_shape=full)
        t2 = clock()
        x = est.plan.make_input(boxed[None])
        t3 = clock()
        raw = est.infer(x)
        t4 = clock()
        est.postprocess(raw, [t])
        t5 = clock()
        for k, a, b in (("decode", t0, t1), ("letterbox", t1, t2), ("input", t2, t3), ("inference", t3, t4),
                        ("postprocess", t4, t5)):
            stages[k].append(b - a)
    out = {k: statistics.mean(v) * 1e3 for k, v in stages.items()}  # mean: process_time ticks are coarse
    out["write"] = write_ms
    return out


def write_cost(folder: Path) -> float:
    """CPU ms per row to write rows as a Parquet part (atomically), pyarrow already loaded."""
    from yolopose.batch import read_rows
    from yolopose.batch.output import OutputFolder, PartWriter

    rows = read_rows(folder)
    writer = PartWriter(OutputFolder(folder.parent / "write-check", "parquet"), rows_per_part=len(rows) + 1)
    c0 = time.process_time()
    writer.add(rows)
    writer.flush()
    return (time.process_time() - c0) / max(1, len(rows)) * 1e3


# ---------------------------------------------------------------------- 3. throughput
def plain_loop(paths: Sequence[Path]) -> Dict[str, float]:
    c0, t0 = cpu_seconds(), time.perf_counter()
    with PoseEstimator(threads=1) as est:
        for p in paths:
            est.predict(p)
    wall = time.perf_counter() - t0
    driver = cpu_seconds() - c0
    return {"images_per_s": len(paths) / wall, "seconds": wall, "driver_cpu_s": driver, "other_cpu_s": 0.0,
            "cpu_ms_per_image": driver / len(paths) * 1e3}


def executor_run(folder: Path, out: Path, n: int, executor: str, **options: Any) -> Dict[str, float]:
    from yolopose.batch import execute
    from yolopose.batch import executors

    arrivals: List[Tuple[float, int, float]] = []  # (time, rows so far, CPU seconds so far: driver + Ray)
    cls = executors.EXECUTORS.get(executor)
    real_run = cls.run
    children = ChildCpu()
    done = [0]

    def timed(self: Any, items: Any) -> Any:
        for rows in real_run(self, items):
            children._sample()
            done[0] += len(rows)
            arrivals.append((time.perf_counter(), done[0], cpu_seconds() + children.seconds))
            yield rows

    cls.run = timed
    try:
        with children:
            c0, t0 = cpu_seconds(), time.perf_counter()
            summary = execute([folder], out, executor=executor, overwrite=True, threads_per_actor=1, **options)
            wall = time.perf_counter() - t0
            driver = cpu_seconds() - c0
    finally:
        cls.run = real_run
    (t_first, n_first, c_first), (t_last, n_last, c_last) = arrivals[0], arrivals[-1]
    steady = (n_last - n_first) / (t_last - t_first) if n_last > n_first else float("nan")
    steady_cpu = (c_last - c_first) / (n_last - n_first) * 1e3 if n_last > n_first else float("nan")
    return {"images_per_s": n / wall, "steady_images_per_s": steady, "seconds": wall, "driver_cpu_s": driver,
            "first_rows_s": t_first - t0,
            "other_cpu_s": children.seconds, "cpu_ms_per_image": steady_cpu,
            "write_s": summary.write_seconds, "rows": summary.rows, "errors": summary.errors}


# ---------------------------------------------------------------------- 4. accuracy
def merged_coco(sets: Sequence[Tuple[Path, Path]], folder: Path, factor: int) -> Tuple[Path, Path]:
    """The COCO sets as one, scaled up ``factor`` times (bicubic, JPEG q95), annotations scaled to
    match; set ``i``'s images go to ``images/set{i}/`` and its ids are renumbered after the previous sets'."""
    merged: Dict[str, Any] = {"images": [], "annotations": [], "categories": None}
    next_image, next_ann = 1, 1
    for i, (json_path, images) in enumerate(sets):
        gt = json.loads(json_path.read_text())
        merged["categories"] = merged["categories"] or gt["categories"]
        out_images = folder / "images" / f"set{i}"
        out_images.mkdir(parents=True, exist_ok=True)
        new_ids = {}
        for im in gt["images"]:
            src = Image.open(images / im["file_name"]).convert("RGB")
            src = src.resize((src.width * factor, src.height * factor), Image.BICUBIC)
            name = Path(im["file_name"]).with_suffix(".jpg").name
            src.save(out_images / name, quality=95)
            new_ids[im["id"]] = next_image
            merged["images"].append({**im, "id": next_image, "file_name": f"set{i}/{name}",
                                     "width": src.width, "height": src.height})
            next_image += 1
        for a in gt["annotations"]:
            kp = a.get("keypoints", [])
            a = {**a, "id": next_ann, "image_id": new_ids[a["image_id"]], "bbox": [v * factor for v in a["bbox"]],
                 "area": a.get("area", 0) * factor * factor,
                 "keypoints": [v * factor if j % 3 != 2 else v for j, v in enumerate(kp)]}
            a.pop("segmentation", None)
            merged["annotations"].append(a)
            next_ann += 1
    out_json = folder / "val.json"
    out_json.write_text(json.dumps(merged))
    return out_json, folder / "images"


def accuracy(sets: Sequence[Tuple[Path, Path]], work: Path) -> Dict[str, Any]:
    """Keypoint AP of today's and the new preprocessing on the sets scaled up 5x: each set alone and
    all of them as one (a 200-image split moves by several thousandths of AP under any change of
    resampling filter; the pooled figure is the one to judge)."""
    from yolopose.evaluate import evaluate_model

    cases = {f"set{i}": [s] for i, s in enumerate(sets)}
    if len(sets) > 1:
        cases["pooled"] = list(sets)
    out: Dict[str, Any] = {}
    for name, members in cases.items():
        j, d = merged_coco(members, work / f"x5-{name}", 5)
        for label, est in (("today", TodayEstimator(conf=0.001, iou=0.65)), ("new", PoseEstimator(conf=0.001, iou=0.65))):
            r = evaluate_model(est, j, d, metrics_backend="auto")
            out[f"{name}_{label}"] = {"AP": r.metrics["AP"], "AP50": r.metrics["AP50"], "box_AP": r.metrics.get("box_AP"),
                                      "images": r.num_images}
            est.close()
    return out


# ---------------------------------------------------------------------- main
def main(argv: Sequence[str] = ()) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=50, help="timed runs of the preprocessing medians")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--coco-json", type=Path, action="append", default=[],
                    help="COCO keypoint JSON of a labelled split (repeat for several; pair each with --coco-images)")
    ap.add_argument("--coco-images", type=Path, action="append", default=[], help="the images of each --coco-json")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(list(argv) or None)
    if len(args.coco_json) != len(args.coco_images):
        ap.error("give one --coco-images for each --coco-json")

    report: Dict[str, Any] = {"cpu": cpu_model(), "cpu_features": cpu_features(), "cores": os.cpu_count(),
                              "load_before": load()}
    print(f"CPU: {report['cpu']} ({report['cores']} cores); flags: {' '.join(report['cpu_features'])}")
    print(f"load average before: {report['load_before']}")
    work = Path(tempfile.mkdtemp(prefix="yolopose-batch-bench-"))
    try:
        t0 = time.perf_counter()
        paths = make_images(work / "images", args.images)
        print(f"generated {len(paths)} {SIZE[0]}x{SIZE[1]} JPEGs in {time.perf_counter() - t0:.1f} s")

        est = PoseEstimator(threads=1)
        imgsz = est.input_size
        pre = preprocessing(paths, imgsz, args.runs)
        report["preprocessing"] = pre
        print(f"\n1. preprocessing {SIZE[0]}x{SIZE[1]} -> {imgsz[1]}x{imgsz[0]} letterbox, median ms over {args.runs} "
              f"interleaved runs (area filter: {pre['area_filter']})")
        for src in ("file", "array"):
            a, b = pre[f"{src}_today"], pre[f"{src}_new"]
            print(f"   from {'a JPEG file ' if src == 'file' else 'an RGB array'}: CPU today {a['cpu_ms']:.2f} new "
                  f"{b['cpu_ms']:.2f} -> {a['cpu_ms'] / b['cpu_ms']:.1f}x; wall today {a['wall_ms']:.2f} new "
                  f"{b['wall_ms']:.2f} -> {a['wall_ms'] / b['wall_ms']:.1f}x")

        local = executor_run(work / "images", work / "out-local", len(paths), "local", batch_size=args.batch_size,
                           format="parquet")
        write_ms = write_cost(work / "out-local")
        parts = breakdown(est, paths[: min(200, len(paths))], write_ms)
        est.close()
        report["breakdown_ms"] = parts
        total = sum(parts.values())
        print(f"\n2. where one image's time goes ({est.backend}, 1 thread), mean CPU ms over {len(paths[:200])} images:")
        print("   " + "  ".join(f"{k} {v:.2f} ({v / total:.0%})" for k, v in parts.items()))

        rows: Dict[str, Dict[str, float]] = {}
        rows["plain loop (PoseEstimator.predict)"] = plain_loop(paths)
        rows["--executor local"] = local
        if not args.no_ray:
            from yolopose.batch.executors import init_ray

            t0 = time.perf_counter()
            started = init_ray(num_cpus=os.cpu_count())
            report["ray_start_s"] = time.perf_counter() - t0
            try:
                for n in (1, 2):
                    rows[f"Ray, {n} actor{'s' if n > 1 else ''} x 1 thread"] = executor_run(
                        work / "images", work / f"out-ray{n}", len(paths), "ray", actors=n,
                        batch_size=args.batch_size, format="parquet")
            finally:
                if started:
                    import ray

                    ray.shutdown()
        report["throughput"] = rows
        base = rows["plain loop (PoseEstimator.predict)"]["images_per_s"]
        print(f"\n3. throughput on {len(paths)} images (bundled model, parquet output), images/s:")
        print("   (steady: from the first results to the last; CPU ms/img: steady CPU time of this process and "
              "its children, i.e. Ray's raylet, GCS and actors)")
        print(f"   {'':38s} {'end to end':>10s} {'steady':>8s} {'x loop':>7s} {'CPU s: driver':>14s} "
              f"{'Ray procs':>9s} {'CPU ms/img':>10s} {'x loop':>7s}")
        base_cpu = rows["plain loop (PoseEstimator.predict)"]["cpu_ms_per_image"]
        for name, r in rows.items():
            steady = r.get("steady_images_per_s", r["images_per_s"])
            print(f"   {name:38s} {r['images_per_s']:10.1f} {steady:8.1f} {steady / base:7.2f} {r['driver_cpu_s']:14.1f} "
                  f"{r['other_cpu_s']:9.1f} {r['cpu_ms_per_image']:10.2f} {r['cpu_ms_per_image'] / base_cpu:7.2f}")
        firsts = ", ".join(f"{name.split(' x ')[0]} {r['first_rows_s']:.1f} s" for name, r in rows.items() if "first_rows_s" in r)
        print(f"   first rows after: {firsts} (engine start, model load, the pipeline filling; in 'end to end', not in 'steady')")
        if "ray_start_s" in report:
            r1 = rows["Ray, 1 actor x 1 thread"]["steady_images_per_s"]
            r2 = rows["Ray, 2 actors x 1 thread"]["steady_images_per_s"]
            print(f"   Ray start-up {report['ray_start_s']:.1f} s (not in the rates); 1 actor / loop "
                  f"{r1 / base:.2f} (target >= 0.85), 2 actors / 1 actor {r2 / r1:.2f} (target >= 1.7)")

        if args.coco_json:
            acc = accuracy(list(zip(args.coco_json, args.coco_images)), work)
            report["accuracy"] = acc
            print("\n4. COCO keypoint AP on the labelled splits scaled up 5x, today's vs new preprocessing "
                  "(target: within 0.005):")
            for name in dict.fromkeys(k.rsplit("_", 1)[0] for k in acc):
                a, b = acc[f"{name}_today"], acc[f"{name}_new"]
                label = "all splits as one" if name == "pooled" else str(args.coco_json[int(name[3:])])
                print(f"   {label} ({a['images']} images): AP {a['AP']:.4f} -> {b['AP']:.4f} (diff {b['AP'] - a['AP']:+.4f}); "
                      f"AP50 {a['AP50']:.4f} -> {b['AP50']:.4f}; box AP {a['box_AP']:.4f} -> {b['box_AP']:.4f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_after"] = load()
    print(f"\nload average after: {report['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
