"""``yolopose-train synth``: write a synthetic multi-person keypoint dataset in COCO format."""
from __future__ import annotations

import os
import time
from pathlib import Path

import click

__all__ = ["synth"]


@click.command("synth")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (images/, annotations/, data.yaml, preview.jpg).")
@click.option("--train", "train", default=2000, show_default=True, type=click.IntRange(min=0),
              help="Number of training images.")
@click.option("--val", "val", default=200, show_default=True, type=click.IntRange(min=0),
              help="Number of validation images.")
@click.option("--imgsz", default=320, show_default=True, type=click.IntRange(min=32),
              help="Longer image side in pixels.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same dataset).")
@click.option("--workers", default=min(4, os.cpu_count() or 1), show_default=True, type=click.IntRange(min=1),
              help="Worker processes (the output does not depend on it).")
@click.option("--preview", default=16, show_default=True, type=click.IntRange(min=0),
              help="Samples in preview.jpg (0: no preview).")
def synth(out: Path, train: int, val: int, imgsz: int, seed: int, workers: int, preview: int) -> None:
    """Render articulated synthetic people (0-8 per image, occlusion, truncation, clutter) with COCO
    keypoint annotations, for training and measuring the whole pipeline without COCO."""
    from tqdm import tqdm

    from yolopose.training.synth.writer import write_dataset

    start = time.perf_counter()
    with tqdm(total=train + val, desc="synth", unit="img", dynamic_ncols=True) as bar:
        summary = write_dataset(out, train, val, imgsz=imgsz, seed=seed, workers=workers, preview=preview,
                                progress=bar.update)
    elapsed = time.perf_counter() - start
    for split, info in summary["splits"].items():
        click.echo(f"{split}: {info['images']} images, {info['people']} people -> {info['annotations']}")
    click.echo(f"data: {Path(out) / 'data.yaml'}")
    if "preview" in summary:
        click.echo(f"preview: {summary['preview']}")
    click.echo(f"done in {elapsed:.1f} s")
