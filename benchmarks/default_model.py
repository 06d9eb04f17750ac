"""Helpers of examples/build_default_model.sh: pick the bundled sample images, write the results page.

    python benchmarks/default_model.py samples --data runs/default/synth --out sdk/assets/samples --count 3
    python benchmarks/default_model.py report --run runs/default --out docs/results/default_model.md

``samples`` copies held-out images (the *val* split, never trained on) that show several clearly
visible people, with their ground truth as a small COCO file (``annotations.json``), which the test
of the bundled model checks its detections against. ``report`` gathers the training metrics, the
``yolopose eval`` metrics of both bundled artifacts and the ``yolopose bench`` timings into one
Markdown page.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List

import click

from yolopose.core.fileio import atomic_write_text

METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "box_AP")


@click.group()
def main() -> None:
    """Bundled default model: sample images and results page."""


@main.command()
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False), help="Synthetic dataset folder.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Where to put the samples.")
@click.option("--count", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--min-people", default=2, show_default=True, type=int)
@click.option("--max-people", default=4, show_default=True, type=int)
@click.option("--min-height", default=70.0, show_default=True, type=float, help="Every person at least this tall (px).")
def samples(data: str, out: str, count: int, min_people: int, max_people: int, min_height: float) -> None:
    """Copy COUNT held-out images with MIN..MAX well visible people, and their ground truth."""
    root = Path(data)
    gt = json.loads((root / "annotations" / "person_keypoints_val.json").read_text(encoding="utf-8"))
    by_image: Dict[int, List[Dict[str, Any]]] = {}
    for ann in gt["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    chosen = []
    for image in sorted(gt["images"], key=lambda im: im["id"]):
        anns = by_image.get(image["id"], [])
        if not min_people <= len(anns) <= max_people:
            continue
        if all(a["bbox"][3] >= min_height and a["num_keypoints"] >= 14 for a in anns):
            chosen.append(image)
        if len(chosen) == count:
            break
    if len(chosen) < count:
        raise click.ClickException(f"only {len(chosen)} val images of {data} match; relax --min-height or the counts")
    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.jpg"):
        old.unlink()
    ids = {im["id"] for im in chosen}
    images = []
    for i, im in enumerate(chosen, 1):
        name = f"synthetic_{i}.jpg"
        shutil.copyfile(root / "images" / "val" / im["file_name"], dest / name)
        images.append({**im, "file_name": name})
    subset = {
        "info": {**gt.get("info", {}), "description": "held-out samples of the yolopose synthetic set (val split)"},
        "images": images,
        "annotations": [a for a in gt["annotations"] if a["image_id"] in ids],
        "categories": gt["categories"],
    }
    atomic_write_text(dest / "annotations.json", json.dumps(subset, indent=1) + "\n")
    people = len(subset["annotations"])
    click.echo(f"{len(images)} samples with {people} people -> {dest}")


def _load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _fmt(v: Any) -> str:
    return "-" if v is None or (isinstance(v, (int, float)) and v < 0) else f"{v:.3f}"


@main.command()
@click.option("--run", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--seeds", default="", help="Space-separated seeds of the held-out sets evaluated by the build script.")
def report(run: str, out: str, seeds: str) -> None:
    """Write the Markdown results page of the bundled model from RUN's eval and bench files."""
    root = Path(run)
    artifacts = (("default_fp32", "ONNX fp32 (`default_fp32.onnx`)"), ("default_int8", "TFLite int8, QAT (`default_int8.tflite`)"))
    splits = [("", "validation split of the training seed")] + [(f"_seed{s}", f"held-out seed {s}") for s in seeds.split()]
    rows = []
    for suffix, split in splits:
        ap = {}
        for tag, label in artifacts:
            result = _load(root / f"eval_{tag}{suffix}.json")
            metrics = result.get("metrics", {})
            if not metrics:
                continue
            ap[tag] = metrics.get("AP")
            images = result.get("num_images", "?")
            rows.append(f"| {split} ({images} images) | {label} | " + " | ".join(_fmt(metrics.get(k)) for k in METRICS) + " |")
        if ap.get("default_fp32") and ap.get("default_int8") is not None:
            rows.append(f"| {split} | int8 / fp32 keypoint AP | {100 * ap['default_int8'] / ap['default_fp32']:.1f}% |" + " |" * (len(METRICS) - 1))
    lines = [
        "# The bundled default model",
        "",
        "Trained by `examples/build_default_model.sh` on the **synthetic** figure set of `yolopose-train synth`",
        "(not COCO). Metrics: COCO keypoint OKS AP with pycocotools through the SDK (`yolopose eval`, conf 0.001,",
        "NMS IoU 0.65), on the validation split of the training set's seed and on sets rendered with seeds the model never saw.",
        "",
        "| split | artifact | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
        *rows,
    ]
    bench = _load(root / "bench_default.json")
    if bench:
        sysinfo = bench.get("system", {})
        cores = sysinfo.get("cores", "?")
        cores = cores.get("usable", "?") if isinstance(cores, dict) else cores
        lines += [
            "",
            f"`yolopose bench` on {sysinfo.get('cpu', '?')} ({cores} cores), "
            f"{bench.get('settings', {}).get('threads', '-')} threads, median ms:",
            "",
            "| artifact | size MiB | preprocess | inference | postprocess | total | FPS |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in bench.get("results", []):
            st = r.get("stages", {})
            med = {k: st.get(k, {}).get("median_ms") for k in ("preprocess", "inference", "postprocess", "total")}
            fps = 1000.0 / med["total"] if med["total"] else 0.0
            lines.append(
                f"| {Path(r['model']).name} ({r.get('backend')}) | {r.get('file_size_bytes', 0) / 2**20:.2f} | "
                + " | ".join(f"{med[k]:.1f}" if med[k] is not None else "-" for k in med)
                + f" | {fps:.1f} |"
            )
    atomic_write_text(out, "\n".join(lines) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
