"""``yolopose bench``: latency and memory of one or more models on this machine."""
from __future__ import annotations

import sys
from dataclasses import replace
from typing import Optional, Sequence, Tuple

import click

from ._options import backend_choice

__all__ = ["bench"]


def _parse_imgsz(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[Tuple[int, int]]:
    if value is None:
        return None
    parts = value.replace("x", ",").split(",")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not SIZE or HEIGHT,WIDTH") from None
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) <= 0:
        raise click.BadParameter(f"{value!r} is not SIZE or HEIGHT,WIDTH with positive numbers")
    return nums[0], nums[1]


@click.command("bench", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("models", nargs=-1, required=False, metavar="[MODEL]...")
@click.option("--backend", "backends", multiple=True, metavar="NAME", type=backend_choice(),
              help="Inference engine (onnxruntime, openvino, tflite...); repeat to compare engines. "
                   "A model written MODEL@BACKEND[:DEVICE] uses that instead. Default: auto.")
@click.option("--device", default=None, metavar="NAME", help="Device for the engine (e.g. CPU, GPU, NPU).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Intra-op threads (default: the engine's).")
@click.option("--imgsz", callback=_parse_imgsz, default=None, metavar="SIZE|H,W",
              help="Input size for models with a dynamic input (default: the model's).")
@click.option("--warmup", type=click.IntRange(min=0), default=10, show_default=True, help="Untimed passes first.")
@click.option("--runs", type=click.IntRange(min=1), default=100, show_default=True, help="Timed passes.")
@click.option("--image", "image_path", type=click.Path(dir_okay=False), default=None,
              help="Image file to run on, timed from the file: decode included in pre ms and "
                   "also shown alone (default: a synthetic 1280x720 scene, from its pixels).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the full results as JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also draw a PNG bar chart of the stage times.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
def bench(
    models: Sequence[str],
    backends: Sequence[str],
    device: Optional[str],
    threads: Optional[int],
    imgsz: Optional[Tuple[int, int]],
    warmup: int,
    runs: int,
    image_path: Optional[str],
    json_path: Optional[str],
    plot_path: Optional[str],
    progress: bool,
) -> None:
    """Time MODEL(s) on this machine: preprocess, inference, postprocess and end to end.

    Without MODEL: the bundled default model (the one `yolopose predict` runs); the bundled files
    are also found by name (default_fp32.onnx, default_int8.tflite). Sizes are in MiB.

    Reports median, p90, p99, mean and FPS after warm-up, model file size, load time and peak
    resident memory, with ratios against the first model. Several models, backends or devices
    give one comparison table:

    \b
      yolopose bench s6.onnx s6_int8.tflite
      yolopose bench s6.onnx --backend onnxruntime --backend openvino
      yolopose bench s6.xml@openvino:CPU s6.xml@openvino:GPU --json bench.json --plot bench.png

    Ctrl-C stops early and prints what was measured so far.
    """
    from .._assets import default_model_path, resolve_bundled
    from .._progress import progress_bar
    from ..bench import expand_specs, format_report, run_benchmarks, save_chart
    from ..core.errors import YoloPoseError
    from ..core.fileio import atomic_write_text

    try:
        if not models:  # the bundled default, for each --backend asked for
            specs = expand_specs([f"{default_model_path(b)}@{b}" for b in backends] or [str(default_model_path())], (), device)
        else:  # a bundled file named alone (default_int8.tflite) is the package's when no such file is here
            specs = [replace(s, model=str(resolve_bundled(s.model))) for s in expand_specs(models, backends, device)]
        image, image_label = None, ""
        if image_path is not None:  # timed from the file: decode included, and shown alone
            image, image_label = image_path, image_path
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None

    with progress_bar(len(specs) * (warmup + runs), desc="bench", enabled=progress, unit="pass") as bar:
        def on_step(label: str, phase: str) -> None:
            bar.describe(f"{label} ({phase})")
            bar.update(1)

        try:
            report = run_benchmarks(specs, image=image, warmup=warmup, runs=runs, threads=threads, imgsz=imgsz,
                                    image_label=image_label, on_step=on_step)
        except YoloPoseError as exc:
            raise click.ClickException(str(exc)) from None

    click.echo(format_report(report))
    if json_path:
        atomic_write_text(json_path, report.to_json() + "\n")
        click.echo(f"JSON written to {json_path}")
    if plot_path:
        size = save_chart(report, plot_path)
        click.echo(f"chart written to {plot_path} ({size[0]}x{size[1]})")
    if report.interrupted:
        sys.exit(130)
    if any(r.error for r in report.results):
        sys.exit(1)
