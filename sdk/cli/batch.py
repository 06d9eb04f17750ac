"""``yolopose batch``: pose estimation over image and video archives (Ray Data or in-process)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import click

from ..core.cli import RegistryChoice, postprocess_options
from ._options import backend_option, executor_option

if TYPE_CHECKING:  # pragma: no cover
    from ..core.ops.select import PostprocessSettings

__all__ = ["batch"]


def _output_formats() -> Sequence[str]:
    """The output formats of :mod:`yolopose.batch.output` (``FORMATS``)."""
    from ..batch.output import FORMATS

    return list(FORMATS)


@click.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "-m", type=click.Path(path_type=str), default=None, help="Model file. Default: the bundled model.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=str), help="Output folder.")
@click.option("--format", "fmt", type=RegistryChoice(_output_formats), default="parquet", show_default=True,
              help="Output format (one row per image or video frame, with an error column).")
@executor_option("ray", help="Who runs the workers. ray: Ray Data actor pool (yolopose[ray]); local: this process, no Ray.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1), help="Keep one video frame in N.")
@click.option("--actors", default=None, type=click.IntRange(1), help="Ray actors (default: CPUs / threads-per-actor).")
@click.option("--threads-per-actor", default=1, show_default=True, type=click.IntRange(1), help="Engine threads per actor.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1), help="Inputs per actor call.")
@click.option("--address", default=None, help="Ray cluster to join: auto, ray://host:port. Default: a local Ray runtime.")
@click.option("--resume", is_flag=True, help="Continue a job in --out: skip the inputs it already wrote.")
@click.option("--overwrite", is_flag=True, help="Delete the results already in --out first.")
@backend_option()
@click.option("--device", default="cpu", show_default=True, help="Device for the engine.")
@postprocess_options()
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar with images/s on stderr.")
def batch(sources: Sequence[str], model: Optional[str], out: str, fmt: str, executor: str, every: int,
          actors: Optional[int], threads_per_actor: int, batch_size: int, address: Optional[str], resume: bool,
          overwrite: bool, backend: str, device: str, postprocess: PostprocessSettings, progress: bool) -> None:
    """Find people in every image and video frame of SOURCES; write one row per input to --out.

    SOURCES: image or video files, folders, glob patterns, .txt lists of paths. An input or a
    video frame that cannot be read gets a row with its error; the job goes on. A video that ends
    before the frame count its header announces is reported, and the exit code is then 1.

    \b
      yolopose batch archive/ "cams/*.mp4" --every 5 --out poses/
      yolopose batch list.txt --out poses/ --resume                  # continue a killed job
      yolopose batch s3_mount/ --address auto --actors 40 --out /shared/poses
    """
    from yolopose.batch import execute
    from yolopose.core.errors import YoloPoseError

    try:
        summary = execute(sources, out, model, format=fmt, executor=executor, every=every, resume=resume,
                          overwrite=overwrite, actors=actors, threads_per_actor=threads_per_actor,
                          batch_size=batch_size, address=address, backend=backend, device=device,
                          postprocess=postprocess, progress=progress)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary.format())
    if summary.ended_early:  # rows are missing: not a success, although every row written is whole
        raise click.ClickException(f"{summary.ended_early} video(s) ended early; the rows of their missing frames "
                                   f"are not in {summary.output} (see the rows at frame -2)")
