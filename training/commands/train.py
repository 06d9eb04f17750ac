"""``yolopose-train train``: train or fine-tune a YOLO-Pose model (also under ``torchrun``)."""
from __future__ import annotations

import json
from typing import Optional

import click

__all__ = ["train"]


@click.command("train")
@click.option("--data", required=True, metavar="DIR_OR_YAML", help="Dataset: a folder written by `yolopose-train synth`, a COCO keypoint or YOLO-pose folder, or a data YAML naming train/val.")
@click.option("--model", default=None, metavar="NAME", help="Model to train from scratch (see `yolopose-train models`). Optional with --weights.")
@click.option("--weights", default=None, type=click.Path(dir_okay=False), help="Checkpoint to fine-tune from (its number of keypoints must match the data).")
@click.option("--imgsz", default=640, show_default=True, type=click.IntRange(min=32), help="Square training/validation input size in pixels.")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--batch", default=16, show_default=True, type=click.IntRange(min=1), help="Total batch size over all processes.")
@click.option("--device", default="", show_default="auto", help="cpu, cuda, cuda:N or N; under torchrun each process takes its local rank's GPU.")
@click.option("--workers", default=None, type=click.IntRange(min=0), help="Data-loader worker processes per process [default: min(4, cpus)].")
@click.option("--out", default="runs/train", show_default=True, type=click.Path(file_okay=False), help="Run folder: last.pt, best.pt, results.csv, results.png.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last.pt (same schedule, optimizer and EMA state); with an "
                   "explicit --epochs, the schedule is made that long from where the run stopped (shorter or longer).")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="sgd", show_default=True,
              help="Nesterov SGD (the paper's), or AdamW (use --lr0 0.001; faster on short runs from scratch).")
@click.option("--lr0", default=0.01, show_default=True, type=float, help="Initial learning rate.")
@click.option("--lrf", default=0.2, show_default=True, type=float, help="Final learning rate as a fraction of --lr0 (cosine schedule).")
@click.option("--nbs", default=64, show_default=True, type=click.IntRange(min=1), help="Nominal batch size: gradients of smaller batches are accumulated up to it (YOLOv5).")
@click.option("--warmup-epochs", default=3.0, show_default=True, type=float, help="Warmup length in epochs (at least --warmup-min-iters iterations).")
@click.option("--warmup-min-iters", default=100, show_default=True, type=click.IntRange(min=0))
@click.option("--val-interval", default=1, show_default=True, type=click.IntRange(min=1), help="Validate every N epochs (and after the last).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--close-mosaic", default=0, show_default=True, type=click.IntRange(min=0),
              help="Train the last N epochs without mosaic (people at the scale validation sees).")
@click.option("--no-augment", is_flag=True, help="Train without augmentation (mosaic, affine, HSV, flip).")
@click.option("--hyp", default=None, metavar="JSON", help='Augmentation/loss overrides as JSON, e.g. \'{"mosaic": 0.5, "kpt": 0.2}\'.')
@click.option("--no-amp", is_flag=True, help="Train in float32 [default: float16 on CUDA, bfloat16 on CPUs with native bf16 (AMX, AVX512-BF16)].")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False), help="Where to keep the label cache.")
def train(
    data: str,
    model: Optional[str],
    weights: Optional[str],
    imgsz: int,
    epochs: int,
    batch: int,
    device: str,
    workers: Optional[int],
    out: str,
    resume: bool,
    optimizer: str,
    lr0: float,
    lrf: float,
    nbs: int,
    warmup_epochs: float,
    warmup_min_iters: int,
    val_interval: int,
    seed: int,
    close_mosaic: int,
    no_augment: bool,
    hyp: Optional[str],
    no_amp: bool,
    cache_dir: Optional[str],
) -> None:
    """Train YOLO-Pose on a keypoint dataset; multi-process with
    `torchrun --nproc_per_node N $(which yolopose-train) train ...`."""
    from yolopose.core.errors import YoloPoseError
    from yolopose.training.trainer import TrainConfig
    from yolopose.training.trainer import train as run_training

    try:
        hyp_dict = json.loads(hyp) if hyp else {}
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint="--hyp") from None
    if not isinstance(hyp_dict, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--hyp")
    try:
        cfg = TrainConfig(
            data=data, model=model, weights=weights, imgsz=imgsz, epochs=epochs,
            batch=batch, device=device, workers=workers, out=out, optimizer=optimizer, lr0=lr0, lrf=lrf, nbs=nbs, warmup_epochs=warmup_epochs,
            warmup_min_iters=warmup_min_iters, val_interval=val_interval, seed=seed, augment=not no_augment, close_mosaic=close_mosaic,
            hyp=hyp_dict, amp=not no_amp, cache_dir=cache_dir,
        )
        given = click.get_current_context().get_parameter_source("epochs") == click.core.ParameterSource.COMMANDLINE
        result = run_training(cfg, resume=resume, resume_epochs=epochs if resume and given else None)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    if result.rank != 0:
        return
    if result.best is not None:
        click.echo(f"best: {result.best} (fitness {result.best_fitness:.4f})")
    click.echo(f"last: {result.last}")
