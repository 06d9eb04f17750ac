"""``yolopose-train train``: train or fine-tune a YOLO-Pose model (also under ``torchrun``).

Its options are :class:`~yolopose.training.trainer.config.TrainConfig`'s fields (and the
validation's :class:`~yolopose.core.ops.select.PostprocessSettings`), generated from them: a new
training setting is one field there, not a parameter here.
"""
from __future__ import annotations

import click

from yolopose.core.cli import postprocess_options, settings_options
from yolopose.core.ops.select import EVAL_POSTPROCESS, PostprocessSettings
from yolopose.core.settings import option_of
from yolopose.training.trainer.config import TrainConfig

__all__ = ["train"]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


#: the validation's post-processing options, said to be the validation's
VALIDATION_OPTIONS = {
    name: option_of(PostprocessSettings, name).but(help="Validation: " + _lower_first(option_of(PostprocessSettings, name).help))
    for name in ("conf", "iou", "max_det", "max_nms")
}


@click.command("train")
@settings_options(TrainConfig, dest="cfg")
@postprocess_options(defaults=EVAL_POSTPROCESS, overrides=VALIDATION_OPTIONS)
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last.pt (same schedule, optimizer and EMA state); with an "
                   "explicit --epochs, the schedule is made that long from where the run stopped (shorter or longer).")
def train(cfg: TrainConfig, postprocess: PostprocessSettings, resume: bool) -> None:
    """Train YOLO-Pose on a keypoint dataset; multi-process with
    `torchrun --nproc_per_node N $(which yolopose-train) train ...`."""
    from yolopose.core.errors import YoloPoseError
    from yolopose.training.trainer import train as run_training

    try:
        cfg = cfg.replace(postprocess=postprocess)
        given = click.get_current_context().get_parameter_source("epochs") == click.core.ParameterSource.COMMANDLINE
        result = run_training(cfg, resume=resume, resume_epochs=cfg.epochs if resume and given else None)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    if result.rank != 0:
        return
    if result.best is not None:
        click.echo(f"best: {result.best} (fitness {result.best_fitness:.4f})")
    click.echo(f"last: {result.last}")
