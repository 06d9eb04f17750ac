"""int8 recipes side by side: accuracy and latency of each format's fp32, int8 ``mixed`` (the
default) and int8 ``full`` artifacts of one model, measured in one run.

Accuracy and latency (a trained checkpoint, calibration images, labelled validation images)::

    python benchmarks/int8_speed.py --weights bundled.pt --calib synth7/images/train --calib-images 300 \\
        --val-seeds 61 62 --val-images 500 [--qat qat.pt] [--threads 1] [--out docs/results]

Latency only (registered architectures with fresh weights; speed does not depend on them)::

    python benchmarks/int8_speed.py --models yolov5s6-pose yolov5s6-pose-lite --imgsz 640

Every artifact is written by ``yolopose.export.export`` (the exporter users run, verification
included: the table keeps its keypoint agreement and whether it warned) and run through
``yolopose.PoseEstimator`` (the SDK users run): keypoint and box AP with ``evaluate_model`` on the
pooled validation images of ``--val-seeds`` (rendered by ``yolopose-train synth`` into ``--work``,
seeds never used for training or calibration), each int8 artifact's AP as a ratio of the same
format's fp32 with a paired-bootstrap 95% interval (``benchmarks/ap_ratio.py``), and the median
inference time of every artifact, all artifacts of a format timed in interleaved rounds on the
same input (``--threads`` engine threads). Writes ``int8_speed.md``, ``.json`` and ``.png`` to
``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ap_ratio import bootstrap_ratio  # noqa: E402

from yolopose.core.cpu import cpu_features, cpu_model  # noqa: E402

FORMATS = ("onnx", "openvino", "tflite")
RECIPES = ("mixed", "full")
MODELS = ("yolov5s6-pose", "yolov5s6-pose-lite")
#: the issue's speed target: the default int8 artifact at most this much slower than the full-int8 one
MAX_MIXED_VS_FULL = 1.2
#: COCO metrics by the numpy backend (equal to pycocotools', tests/test_coco_eval.py; 2-3x faster)
METRICS_BACKEND = "numpy"


def _artifact_file(path: Path) -> Path:
    return next(Path(path).glob("*.xml")) if Path(path).is_dir() else Path(path)


def pooled_validation(work: Path, seeds: Sequence[int], count: int, imgsz: int) -> Path:
    """Render ``count`` validation images for each seed (once) and pool them in one COCO set:
    ``work/val_pool/val.json`` + ``images/``. Returns the pool folder."""
    from yolopose.core.fileio import atomic_write_text
    from yolopose.training.synth.writer import write_dataset

    pool = work / f"val_pool_{'-'.join(map(str, seeds))}_{count}_{imgsz}"
    if (pool / "val.json").exists():
        return pool
    (pool / "images").mkdir(parents=True, exist_ok=True)
    out: Dict[str, Any] = {"images": [], "annotations": []}
    for seed in seeds:
        folder = work / f"val_seed{seed}_{count}_{imgsz}"
        gt_path = folder / "annotations" / "person_keypoints_val.json"
        if not gt_path.exists():
            print(f"rendering {count} validation images of seed {seed} ...", flush=True)
            write_dataset(folder, 0, count, imgsz=imgsz, seed=seed, workers=max(1, os.cpu_count() or 1), preview=0)
        gt = json.loads(gt_path.read_text())
        ids = {}
        for im in gt["images"]:
            ids[im["id"]] = len(out["images"]) + 1
            name = f"s{seed}_{im['file_name']}"
            target = pool / "images" / name
            if not target.exists():
                os.link(folder / "images" / "val" / im["file_name"], target)
            out["images"].append({**im, "id": ids[im["id"]], "file_name": name})
        for ann in gt["annotations"]:
            out["annotations"].append({**ann, "id": len(out["annotations"]) + 1, "image_id": ids[ann["image_id"]]})
        out.update({k: v for k, v in gt.items() if k not in ("images", "annotations")})
    atomic_write_text(pool / "val.json", json.dumps(out))
    return pool


def _export(weights: str, out: Path, imgsz: Optional[int], recipes: Sequence[str], args: argparse.Namespace,
            qat: Optional[str]) -> List[Any]:
    """fp32 and the int8 recipes of every format (and the QAT checkpoint's int8), with their export times."""
    from yolopose.export import export

    def log(message: str) -> None:
        print(message, flush=True)

    calib = dict(calib=args.calib, calib_images=args.calib_images)
    results = []
    for label, kwargs in [("fp32", dict(precisions=("fp32",)))] + [
            (f"int8 {r}", dict(precisions=("int8",), int8_recipe=r, **calib)) for r in recipes]:
        t0 = time.perf_counter()
        rs = export(weights, list(args.formats), imgsz=imgsz, out=out / label.replace(" ", "_"), verify=not args.no_verify,
                    log=log, **kwargs)
        seconds = time.perf_counter() - t0
        for r in rs:
            r.label, r.export_s = label, seconds / len(rs)
        results += rs
    if qat:
        t0 = time.perf_counter()
        rs = export(qat, list(args.formats), imgsz=imgsz, precisions=("int8",), qat=True, out=out / "int8_qat",
                    verify=not args.no_verify, log=log, **calib)
        for r in rs:
            r.label, r.export_s = f"int8 qat ({r.int8_recipe})", (time.perf_counter() - t0) / len(rs)
        results += rs
    return results


def _latencies(paths: Sequence[Path], threads: int, runs: int) -> List[float]:
    """Median inference milliseconds of each model, timed in interleaved rounds on one image."""
    from yolopose import PoseEstimator

    estimators = [PoseEstimator(str(_artifact_file(p)), threads=threads) for p in paths]
    try:
        image = np.random.default_rng(0).integers(0, 256, (*estimators[0].metadata.imgsz, 3), dtype=np.uint8)
        inputs = [est.preprocess(image)[0] for est in estimators]
        for est, x in zip(estimators, inputs):
            for _ in range(3):
                est.infer(x)
        samples: List[List[float]] = [[] for _ in estimators]
        for _ in range(runs):
            for i, (est, x) in enumerate(zip(estimators, inputs)):
                t0 = time.perf_counter()
                est.infer(x)
                samples[i].append(time.perf_counter() - t0)
    finally:
        for est in estimators:
            est.close()
    return [statistics.median(s) * 1000.0 for s in samples]


def _accuracy(rows: List[Dict[str, Any]], gt: Path, images: Path, work: Path, resamples: int, reuse: bool) -> None:
    """Keypoint and box AP of every row's artifact on the pooled validation set (its detections
    kept in ``work/detections``; with ``reuse``, detections already there are scored again instead
    of running the artifact), and each int8 row's paired-bootstrap ratio to its format's fp32."""
    from yolopose.core import evaluation
    from yolopose.evaluate import evaluate_model

    truth = evaluation.load_ground_truth(gt)
    matched: Dict[str, Dict[str, Any]] = {}  # row key -> metric -> its detections matched image by image, once
    for row in rows:
        out = work / "detections" / f"{row['format']}_{row['label'].replace(' ', '_').replace('(', '').replace(')', '')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        if reuse and out.exists():
            dets = json.loads(out.read_text())
        else:
            dets = evaluate_model(str(_artifact_file(Path(row["path"]))), gt, images, results_json=out).detections
        # one evaluation per IoU type: a bootstrap resample then re-accumulates only the metric it needs
        matched[row["key"]] = {metric: evaluation.evaluate_per_image(truth, dets, (iou_type,), backend=METRICS_BACKEND)
                               for metric, iou_type in (("AP", "keypoints"), ("box_AP", "bbox"))}
        row["AP"], row["box_AP"] = (matched[row["key"]][m].metrics()[m] for m in ("AP", "box_AP"))
        print(f"{row['format']:9s} {row['label']:22s} keypoint AP {row['AP']:.4f}  box AP {row['box_AP']:.4f}", flush=True)
    for row in rows:
        base = f"{row['format']}|fp32"
        if row["key"] == base:
            continue
        for metric, key in (("AP", "kpt"), ("box_AP", "box")):
            r = bootstrap_ratio(matched[base][metric], matched[row["key"]][metric], resamples, metric=metric)
            row[f"{key}_ratio"], row[f"{key}_low"], row[f"{key}_high"] = r["ratio"], r["low"], r["high"]
        print(f"{row['format']:9s} {row['label']:22s} keypoint AP {row['kpt_ratio']:.1%} [{row['kpt_low']:.1%}, "
              f"{row['kpt_high']:.1%}] of fp32, box AP {row['box_ratio']:.1%}", flush=True)


def _table(rows: List[Dict[str, Any]], header: str) -> str:
    accuracy = "AP" in rows[0]
    cols = ["format", "artifact"] + (["keypoint AP", "% of fp32 [95% CI]", "box AP %"] if accuracy else []) + [
        "latency ms", "x fp32", "x full int8", "agreement OKS / IoU", "MiB"]
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        cells = [row["format"], row["label"]]
        if accuracy:
            pct = "" if "kpt_ratio" not in row else (
                f"{row['kpt_ratio']:.1%} [{row['kpt_low']:.1%}, {row['kpt_high']:.1%}]")
            cells += [f"{row['AP']:.4f}", pct, "" if "box_ratio" not in row else f"{row['box_ratio']:.1%}"]
        full = row.get("vs_full")
        agreement = "" if row.get("oks") is None or row["precision"] == "fp32" else (
            f"{row['oks']:.3f} / {row.get('box_iou', float('nan')):.3f}" + (" (warned)" if row.get("warned") else ""))
        cells += [f"{row['ms']:.2f}", f"{row['vs_fp32']:.2f}", "" if full is None else f"{full:.2f}", agreement,
                  f"{row['mib']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _chart(rows: List[Dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yolopose.core.fileio import atomic_path

    accuracy = "AP" in rows[0]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    markers = {"onnx": "o", "openvino": "s", "tflite": "^"}
    for row in rows:
        y = row.get("kpt_ratio", 1.0) * 100 if accuracy else row["ms"]
        x = row["vs_fp32"]
        ax.scatter(x, y, marker=markers.get(row["format"], "o"), s=60)
        ax.annotate(f"{row['format']} {row['label']}", (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("inference latency / fp32 of the same format")
    ax.set_ylabel("keypoint AP, % of fp32" if accuracy else "inference latency (ms)")
    if accuracy:
        ax.axhline(98, color="grey", lw=0.8, ls="--")
        ax.text(ax.get_xlim()[0], 98.1, " 98% target", fontsize=7, color="grey")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _rows(results: List[Any], model: str) -> List[Dict[str, Any]]:
    rows = []
    for r in results:
        rows.append({"model": model, "format": r.format, "label": r.label, "precision": r.precision,
                     "recipe": r.int8_recipe, "path": str(r.path), "key": f"{r.format}|{r.label}",
                     "mib": r.size_mb, "oks": r.kpt_oks, "box_iou": r.box_iou, "warned": any("drift" in n for n in r.notes),
                     "export_s": round(r.export_s, 1)})
    return rows


def _time_rows(rows: List[Dict[str, Any]], threads: int, runs: int) -> None:
    for fmt in {row["format"] for row in rows}:
        mine = [row for row in rows if row["format"] == fmt]
        for row, ms in zip(mine, _latencies([Path(row["path"]) for row in mine], threads, runs)):
            row["ms"] = ms
        fp32 = next(row["ms"] for row in mine if row["precision"] == "fp32")
        full = next((row["ms"] for row in mine if row["label"] == "int8 full"), None)
        for row in mine:
            row["vs_fp32"] = row["ms"] / fp32
            row["vs_full"] = None if full is None or row["precision"] == "fp32" else row["ms"] / full


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--weights", help="trained checkpoint: accuracy and latency (else --models: latency only)")
    parser.add_argument("--qat", help="a QAT checkpoint of the same model: its int8 artifacts join the table")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="registered architectures (latency only)")
    parser.add_argument("--imgsz", type=int, default=None, help="input size [default: the checkpoint's, else 640]")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES))
    parser.add_argument("--calib", default=None, help="calibration image folder [default: generated images]")
    parser.add_argument("--calib-images", type=int, default=300)
    parser.add_argument("--val-seeds", type=int, nargs="+", default=[61, 62])
    parser.add_argument("--val-images", type=int, default=500, help="validation images per seed")
    parser.add_argument("--resamples", type=int, default=200, help="paired-bootstrap resamples")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (each runs every artifact of a format once)")
    parser.add_argument("--no-verify", action="store_true", help="skip the exporter's verification")
    parser.add_argument("--work", default="runs/int8_speed", help="where artifacts, data and detections go")
    parser.add_argument("--reuse-exports", action="store_true",
                        help="take the artifacts (exports.json) and detections of an earlier run in --work instead of exporting and running them again")
    parser.add_argument("--out", default="docs/results")
    args = parser.parse_args(list(argv) or None)

    from yolopose import PoseEstimator
    from yolopose.core.fileio import atomic_write_text

    work = Path(args.work)
    cpu = f"{cpu_model()} ({', '.join(cpu_features()) or 'no AVX2'})"
    print(f"CPU: {cpu}; load {os.getloadavg()[0]:.1f}", flush=True)
    sources = [(args.weights, args.weights)] if args.weights else [(m, m) for m in args.models]
    rows: List[Dict[str, Any]] = []
    for weights, name in sources:
        model_work = work / Path(str(name)).stem
        exported = model_work / "exports.json"  # the export rows, for --reuse-exports
        if args.reuse_exports and exported.exists():
            rows_model = json.loads(exported.read_text())
            print(f"reusing the artifacts listed in {exported}", flush=True)
        else:
            rows_model = _rows(_export(weights, model_work / "artifacts", args.imgsz, args.recipes, args,
                                       args.qat if args.weights else None), Path(str(name)).stem)
            atomic_write_text(exported, json.dumps(rows_model, indent=1) + "\n")
        if args.weights:
            with PoseEstimator(str(_artifact_file(Path(rows_model[0]["path"])))) as est:
                imgsz = int(est.metadata.imgsz[0])
            pool = pooled_validation(work, args.val_seeds, args.val_images, imgsz)
            _accuracy(rows_model, pool / "val.json", pool / "images", model_work, args.resamples, args.reuse_exports)
        _time_rows(rows_model, args.threads, args.runs)
        rows += rows_model
    load = os.getloadavg()[0]
    what = (f"{args.weights} at its input size; {args.val_images} validation images of each seed {args.val_seeds}; "
            f"calibration: {args.calib_images} images of {args.calib or 'generated images'}" if args.weights else
            f"{', '.join(args.models)} (fresh weights) at {args.imgsz or 640} px")
    header = (f"{what}. CPU: {cpu}; {args.threads} engine thread(s), median of {args.runs} interleaved runs; "
              f"load {load:.1f}. Agreement: the exporter's keypoint OKS and box IoU with torch on held-out images.")
    tables = []
    for model in dict.fromkeys(row["model"] for row in rows):
        tables.append(f"### {model}\n\n" + _table([r for r in rows if r["model"] == model], header))
    text = "\n\n".join(tables)
    slow = [r for r in rows if r.get("recipe") == "mixed" and r.get("vs_full") and r["vs_full"] > MAX_MIXED_VS_FULL]
    text += (f"\n\nmixed vs full int8: at most {MAX_MIXED_VS_FULL:.1f}x " +
             ("met by every format." if not slow else "NOT met by " + ", ".join(f"{r['model']} {r['format']} {r['label']} ({r['vs_full']:.2f}x)" for r in slow)))
    print("\n" + text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "int8_speed.md", text + "\n")
    atomic_write_text(out / "int8_speed.json", json.dumps({"header": header, "rows": rows}, indent=2, default=str) + "\n")
    _chart(rows, out / "int8_speed.png", header[:120])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
