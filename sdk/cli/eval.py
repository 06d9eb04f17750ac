"""``yolopose eval``: COCO keypoint and box accuracy of a model artifact through the SDK."""
from __future__ import annotations

import json
from typing import Optional

import click

from ..core.cli import postprocess_options
from ..core.ops.select import EVAL_POSTPROCESS, PostprocessSettings
from ..core.settings import option_of
from ._options import backend_option, executor_option

EVAL_CONF_OPTION = option_of(PostprocessSettings, "conf").but(
    help="Score threshold (low, as for COCO evaluation).")

__all__ = ["eval_command"]


@click.command("eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="COCO keypoint annotations (e.g. person_keypoints_val2017.json).")
@click.option("--images", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder holding the images named in --data.")
@backend_option()
@click.option("--device", default=None, help="Device for the engine (e.g. CPU, GPU).")
@postprocess_options(defaults=EVAL_POSTPROCESS, overrides={"conf": EVAL_CONF_OPTION})
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the detections as a COCO results JSON file.")
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the metrics (and settings) as JSON.")
@click.option("--metrics-backend", type=click.Choice(["pycocotools", "numpy", "auto"]), default="pycocotools",
              show_default=True, help="Who computes the COCO metrics: pycocotools (extra 'eval') or its numpy port.")
@click.option("--keypoint-errors", is_flag=True,
              help="Also print each keypoint's error on the people found (score >= 0.25): median and p90 in % of "
                   "the person's size, share with OKS >= 0.5, far off (> 25%), left/right swapped; kept in --metrics.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
@executor_option("process", extra=("process",),
                 help="Who runs the images. process: a loop here; ray: Ray Data actors (yolopose[ray]), same metrics; "
                      "local: the batch pipeline in-process.")
@click.option("--actors", default=None, type=click.IntRange(1), help="Ray actors (--executor ray; default: one per CPU).")
@click.option("--address", default=None, help="Ray cluster to join (--executor ray): auto, ray://host:port.")
@click.option("--allow-outside-images", is_flag=True,
              help="Read images whose file_name in --data is absolute or leaves --images with '..' (refused by default).")
def eval_command(
    model: str,
    data: str,
    images: str,
    backend: str,
    device: Optional[str],
    postprocess: PostprocessSettings,
    json_path: Optional[str],
    metrics_path: Optional[str],
    metrics_backend: str,
    keypoint_errors: bool,
    progress: bool,
    executor: str,
    actors: Optional[int],
    address: Optional[str],
    allow_outside_images: bool,
) -> None:
    """COCO keypoint AP (OKS) and box AP of MODEL on a COCO-format dataset.

    Runs every image of --data through the SDK exactly as deployed (letterbox, engine, decode,
    NMS) and scores the detections like the training validator does:

    \b
      yolopose eval s6_int8.tflite --data person_keypoints_val2017.json --images val2017/ --json dets.json
      yolopose eval model.onnx --data val.json --images val/ --keypoint-errors   # which keypoints cost AP
    """
    from ..core.evaluation import format_metrics
    from ..core.errors import YoloPoseError
    from ..evaluate import evaluate_model
    from ..core.fileio import atomic_write_text, check_writable

    try:
        for path, what in ((json_path, "detections"), (metrics_path, "metrics")):
            if path:  # before the images are run: a read-only or full disk is found at once
                check_writable(path, what)
        result = evaluate_model(model, data, images, backend=backend, device=device, postprocess=postprocess,
                                metrics_backend=metrics_backend, progress=progress, results_json=json_path,
                                executor=executor, executor_options={"actors": actors, "address": address},
                                allow_outside_images=allow_outside_images)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    s = result.settings
    click.echo(f"{model} ({s['backend']}) on {result.num_images} images of {data}: "
               f"{len(result.detections)} detections in {result.seconds:.1f} s; metrics by {s['metrics_backend']}")
    click.echo(format_metrics(result.metrics))
    summary = result.to_dict()
    if keypoint_errors:
        from ..core.evaluation import keypoint_errors as per_keypoint

        report = per_keypoint(result.ground_truth if result.ground_truth is not None else data, result.detections)
        click.echo(report.table())
        summary["keypoint_errors"] = report.to_dict()
    if json_path:
        click.echo(f"detections written to {json_path}")
    if metrics_path:
        try:
            atomic_write_text(metrics_path, json.dumps(summary, indent=2) + "\n")
        except YoloPoseError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"metrics written to {metrics_path}")
