"""``yolopose-train val``: COCO keypoint and box metrics of a checkpoint on a dataset."""
from __future__ import annotations

import json
from typing import Optional

import click

from yolopose.core.cli import postprocess_options
from yolopose.core.ops.select import EVAL_POSTPROCESS, PostprocessSettings

__all__ = ["val"]


@click.command("val")
@click.option("--data", required=True, metavar="DIR_OR_YAML", help="Dataset (as for `train`); its validation split is used.")
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help="Checkpoint (best.pt / last.pt).")
@click.option("--imgsz", default=None, type=click.IntRange(min=32), help="Input size [default: the checkpoint's training size].")
@click.option("--batch", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="", show_default="auto", help="cpu, cuda, cuda:N or N.")
@click.option("--workers", default=None, type=click.IntRange(min=0), help="Data-loader workers [default: min(4, cpus)].")
@postprocess_options(defaults=EVAL_POSTPROCESS)
@click.option("--save-json", default=None, type=click.Path(dir_okay=False), help="Also write the COCO results (list of dicts) here.")
@click.option("--metrics-json", default=None, type=click.Path(dir_okay=False), help="Also write the metrics dict here.")
def val(
    data: str,
    weights: str,
    imgsz: Optional[int],
    batch: int,
    device: str,
    workers: Optional[int],
    postprocess: PostprocessSettings,
    save_json: Optional[str],
    metrics_json: Optional[str],
) -> None:
    """Validate a checkpoint: keypoint AP, AP50, AP75, APm, APl, AR (OKS) and box AP, with the
    SDK's decode and NMS and pycocotools."""
    from yolopose.core.errors import YoloPoseError
    from yolopose.core.fileio import atomic_write_text
    from yolopose.training.checkpoint import model_from_checkpoint
    from yolopose.training.trainer.config import default_workers
    from yolopose.training.trainer.distributed import select_device, set_threads
    from yolopose.training.trainer.loaders import build_val_data
    from yolopose.training.validator import Validator

    try:
        set_threads(world_size=1)
        dev = select_device(device)
        model, ckpt = model_from_checkpoint(weights)
        size = int(imgsz or ckpt.get("imgsz") or 640)
        dataset, collate, ground_truth, name = build_val_data(data, size)
        validator = Validator(
            dataset, collate, ground_truth, batch=batch, workers=default_workers() if workers is None else workers,
            device=dev, postprocess=postprocess,
        )
        result = validator(model.to(dev))
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.table() if result.images else "no images")
    click.echo(f"model {model.name} ({weights}) on {name} at {size} px")
    if save_json:
        atomic_write_text(save_json, json.dumps(result.results))
    if metrics_json:
        atomic_write_text(metrics_json, json.dumps(result.metrics, indent=2))
