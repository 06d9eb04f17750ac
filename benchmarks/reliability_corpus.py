"""Count the bad-input corpus of issue 30 and what each case ends in (the figures in the README's
Reliability section).

    python benchmarks/reliability_corpus.py            # metadata x 3 engines, datasets; ~1-2 min
    python benchmarks/reliability_corpus.py --quick    # metadata through onnxruntime only

Outcomes: ``ok`` (a run, for valid input), ``typed`` (a ``yolopose.core.errors`` error naming the file),
``untyped`` (any other exception: a bug), ``crash`` (the child process died by a signal; model
files are loaded in child processes), and for datasets ``skipped`` (train: the bad record left
out and reported). The case tables are the tests' (``tests/_hostile_metadata.py``,
``tests/test_malformed_datasets.py``), so the numbers are those of the test suite.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    keep = [f for f in flags if f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8")]
    return " ".join(keep)


def metadata_corpus(engines) -> dict:
    import _hostile as h
    import _hostile_metadata as hm

    table = {}
    with tempfile.TemporaryDirectory() as d:
        for engine in engines:
            paths = hm.write_cases(Path(d) / engine, engine)
            try:
                results = h.load_in_child(paths, backend=hm.ENGINES[engine][0])
            except AssertionError as exc:  # the child died by a signal
                table[engine] = {"crash": str(exc)[:200]}
                continue
            counts = collections.Counter()
            wrong = []
            for (field, label, _), result in zip(hm.CASES, results):
                valid = (field, label) in hm.VALID
                if result.get("ok"):
                    counts["ok"] += 1
                    if not valid:
                        wrong.append(f"{field}={label} accepted")
                elif result["yolopose"]:
                    counts["typed"] += 1
                    if valid:
                        wrong.append(f"{field}={label} refused")
                else:
                    counts["untyped"] += 1
                    wrong.append(f"{field}={label}: {result['error']}")
            table[engine] = {"cases": len(hm.CASES), **counts, "wrong": wrong[:5], "wrong_count": len(wrong)}
    return table


def _outcome(fn) -> str:
    from yolopose.core.errors import YoloPoseError

    try:
        fn()
    except YoloPoseError:
        return "typed"
    except Exception as exc:  # noqa: BLE001 - counted, that is the point
        return f"untyped:{type(exc).__name__}"
    return "ok"


def dataset_corpus() -> dict:
    import test_malformed_datasets as t
    from yolopose.core.evaluation import load_ground_truth
    from yolopose.evaluate import coco_image_entries

    out = {}
    counts = collections.Counter()
    for _, edit, _ in t.EVAL_CASES:
        counts[_outcome(lambda: load_ground_truth(t._mutated(edit)))] += 1
    for name in ("/etc/hostname", "../../x.jpg", "sub/../../x.jpg"):
        gt = t._mutated(t._set("images", 0, "file_name", name))
        counts[_outcome(lambda: coco_image_entries(load_ground_truth(gt), t.SAMPLES))] += 1
    out["eval (COCO JSON)"] = dict(counts)
    try:
        import torch  # noqa: F401
    except ImportError:
        return out
    from yolopose.training.data import build_dataset

    counts = collections.Counter()
    with tempfile.TemporaryDirectory() as d:
        for i, (_, edit, words) in enumerate(t.TRAIN_CASES):
            tiny = Path(d) / f"c{i}"
            shutil.copytree(t.FIXTURE, tiny)
            path = t._edit_json(t._coco(tiny), edit)
            holder = {}
            result = _outcome(lambda: holder.setdefault("ds", build_dataset(path, 64, augment=True, cache_dir=tiny / "c")))
            if result == "ok":
                result = "skipped" if any(words in m for m in holder["ds"].skipped) else "ok (not reported!)"
            counts[result] += 1
        for j, name in enumerate(("/etc/hostname", "../../p1.jpg")):
            tiny = Path(d) / f"p{j}"
            shutil.copytree(t.FIXTURE, tiny)
            path = t._edit_json(t._coco(tiny), t._set("images", 0, "file_name", name))
            ds = build_dataset(path, 64, augment=True, cache_dir=tiny / "c")
            counts["skipped" if any("outside the image folder" in m for m in ds.skipped) else "opened!"] += 1
        out["train (COCO JSON)"] = dict(counts)
        counts = collections.Counter()
        for k, line in enumerate(_YAML_LINES):
            tiny = Path(d) / f"y{k}"
            shutil.copytree(t.FIXTURE, tiny)
            (tiny / "bad.yaml").write_text("train: images/train\nval: images/train\n" + line + "\n")
            counts[_outcome(lambda: build_dataset(tiny / "bad.yaml", 64, augment=True, cache_dir=tiny / "c"))] += 1
        tiny = Path(d) / "loop"
        shutil.copytree(t.FIXTURE, tiny)
        (tiny / "images/train/loop.jpg").symlink_to("loop.jpg")
        ds_holder = {}
        res = _outcome(lambda: ds_holder.setdefault("ds", build_dataset(tiny / "images/train", 64, augment=True,
                                                                         cache_dir=tiny / "c")))
        counts["symlink loop: " + ("skipped" if res == "ok" and any("loop.jpg" in m for m in ds_holder["ds"].skipped)
                                   else res)] += 1
        out["train (data YAML, YOLO folder)"] = dict(counts)
    return out


def coco_check_speed(n: int = 20_000) -> float:
    """Microseconds per annotation of the COCO record check (51 keypoints each, synthetic)."""
    import random

    from yolopose.core.evaluation import check_coco

    rng = random.Random(0)
    data = {"images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(n // 4)],
            "annotations": [{"id": i, "image_id": i // 4, "category_id": 1, "bbox": [1.0, 2.0, 30.0, 40.0],
                             "area": 1200.0, "iscrowd": 0, "num_keypoints": 10,
                             "keypoints": [rng.random() * 100 for _ in range(51)]} for i in range(n)],
            "categories": [{"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(17)]}]}
    t0 = time.perf_counter()
    check_coco(data, "synthetic")
    return (time.perf_counter() - t0) / n * 1e6


_YAML_LINES = ["kpt_shape: [a, 3]", "flip_idx: [x]", "kpt_shape: [1000000000, 3]", "kpt_shape: [17, 4]", "path: 5",
               "allow_outside_images: yes please"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="metadata through onnxruntime only")
    args = ap.parse_args()
    import _hostile_metadata as hm

    print(f"CPU flags: {cpu_flags()}; load {os.getloadavg()[0]:.2f}; python {platform.python_version()}")
    t0 = time.perf_counter()
    engines = ["onnxruntime"] if args.quick else [e for e in hm.ENGINES if _have(e)]
    meta = metadata_corpus(engines)
    print(f"\nhostile metadata: {len(hm.CASES)} cases ({len(hm.FIELDS)} fields x {len(hm.VALUES)} values) per engine")
    for engine, row in meta.items():
        print(f"  {engine:12s} " + ", ".join(f"{k} {v}" for k, v in row.items() if k not in ("wrong",)))
        for w in row.get("wrong", []):
            print(f"      {w}")
    data = dataset_corpus()
    print("\nmalformed datasets:")
    for what, row in data.items():
        print(f"  {what:32s} {sum(row.values())} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(row.items())))
    speed = coco_check_speed()
    print(f"\nCOCO record check: {speed:.0f} us per annotation (20,000 synthetic, 51 keypoints each; "
          f"load {os.getloadavg()[0]:.2f})")
    print(f"\n{time.perf_counter() - t0:.0f} s")
    print(json.dumps({"metadata": meta, "datasets": data}, default=str))


def _have(engine: str) -> bool:
    module = {"onnxruntime": "onnxruntime", "openvino": "openvino", "tflite": "ai_edge_litert"}[engine]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
