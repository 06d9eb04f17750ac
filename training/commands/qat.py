"""``yolopose-train qat``: quantization-aware fine-tuning of a trained checkpoint."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from yolopose.core.cli import RegistryChoice
from yolopose.training.int8_recipes import DEFAULT_RECIPE, list_recipes

__all__ = ["qat"]


@click.command("qat")
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help="Trained checkpoint to fine-tune (from `yolopose-train train`).")
@click.option("--data", required=True, metavar="DIR_OR_YAML", help="Dataset, as for `yolopose-train train` (its train split is used).")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--imgsz", default=None, type=click.IntRange(min=32), help="Square input size [default: the checkpoint's].")
@click.option("--batch", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=1e-4, show_default=True, type=float, help="Initial learning rate (cosine to 0.1x).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=0), help="Data-loader worker processes.")
@click.option("--max-steps", default=None, type=click.IntRange(min=1), help="Stop each epoch after this many steps (smoke runs).")
@click.option("--no-augment", is_flag=True, help="Fine-tune without augmentation.")
@click.option("--hyp", default=None, metavar="JSON", help="Augmentation/loss overrides as JSON, as for `train`.")
@click.option("--int8-recipe", "recipe", default=DEFAULT_RECIPE, show_default=True, type=RegistryChoice(list_recipes),
              help="Layers kept float (export with the same recipe): mixed = float pose head and the neck layers "
                   "feeding it, the rest int8; full = every layer int8 (full-integer TFLite for int8-only NPUs).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", default="runs/qat/qat.pt", show_default=True, type=click.Path(dir_okay=False), help="QAT checkpoint to write.")
def qat(weights: str, data: str, epochs: int, imgsz: Optional[int], batch: int, lr: float, workers: int,
        max_steps: Optional[int], no_augment: bool, hyp: Optional[str], recipe: str, seed: int, out: str) -> None:
    """Fine-tune WEIGHTS with fake quantization that matches int8 deployment (BN folded,
    per-channel symmetric int8 weights, per-tensor int8 activations), then save a QAT checkpoint.
    Export it with `yolopose-export OUT --qat --int8`."""
    import torch
    from torch.utils.data import DataLoader

    from yolopose.core.errors import YoloPoseError
    from yolopose.training.checkpoint import load_checkpoint, model_from_checkpoint
    from yolopose.training.loss import LossHyp
    from yolopose.training.qat import QATSettings, build_quant_graph, qat_finetune, save_qat_checkpoint
    from yolopose.training.trainer.loaders import check_hyp, open_split

    try:
        hyp_dict = json.loads(hyp) if hyp else {}
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint="--hyp") from None
    try:
        torch.manual_seed(seed)
        check_hyp(hyp_dict)
        if load_checkpoint(weights).get("qat"):
            raise click.UsageError(f"{weights} is already a QAT checkpoint; pass the float checkpoint it came from")
        model, ckpt = model_from_checkpoint(weights)
        size = imgsz or (ckpt.get("imgsz")[0] if isinstance(ckpt.get("imgsz"), (list, tuple)) else ckpt.get("imgsz")) or 640
        dataset, collate, _ = open_split(data, "train", int(size), augment=not no_augment, hyp=hyp_dict)
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, collate_fn=collate,
                            drop_last=len(dataset) > batch, generator=torch.Generator().manual_seed(seed))
        click.echo(f"QAT: {model.config.name} from {weights}, {len(dataset)} images at {size}, {epochs} epochs, "
                   f"int8 recipe {recipe!r}", err=True)
        graph = build_quant_graph(model, int(size), qat=True, recipe=recipe)
        # the loss exactly as the trainer builds it (gains scaled by levels, classes and size)
        loss_hyp = LossHyp.from_mapping(hyp_dict).scaled(len(model.strides), model.num_classes, int(size))
        settings = QATSettings(epochs=epochs, lr=lr, max_steps_per_epoch=max_steps, hyp=loss_hyp)
        from tqdm import tqdm

        steps = min(len(loader), max_steps or len(loader))
        bar = tqdm(total=epochs * steps, desc="qat", unit="step", leave=False)

        def on_step(epoch: int, step: int, terms) -> None:
            bar.update(1)
            bar.set_postfix_str(f"epoch {epoch + 1}/{epochs} " + " ".join(f"{k} {v:.3f}" for k, v in terms.items()))

        try:
            metrics = qat_finetune(graph, model, loader, settings, on_step=on_step)
        finally:
            bar.close()
        path = save_qat_checkpoint(
            out, graph, model.config, epoch=epochs - 1, metrics={f"train/{k}": v for k, v in metrics.items()},
            train_args={"data": data, "epochs": epochs, "lr": lr, "batch": batch, "weights": str(weights), "qat": True},
        )
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"QAT checkpoint: {Path(path)}  (losses: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) + ")")
    click.echo(f"next: yolopose-export {path} --qat --int8 --format all")
