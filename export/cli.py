"""The ``yolopose-export`` command line."""
from __future__ import annotations

import sys
from typing import Optional, Tuple

import click

from yolopose.core import __version__
from yolopose.training.int8_recipes import DEFAULT_RECIPE, get_recipe, list_recipes



class _FormatChoice(click.Choice):
    """The registered export formats (:func:`yolopose.export.list_formats`) and ``all``, read when
    the command line is parsed, so a format registered by another package is accepted too."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self):
        from yolopose.export import list_formats

        return (*list_formats(), "all")

    @choices.setter
    def choices(self, value) -> None:  # click's constructor sets it; the registry is the source
        pass


def _parse_imgsz(value: Optional[str]):
    """``--imgsz`` text: ``640`` or ``HxW`` (``384x640``, ``384,640``)."""
    if value is None:
        return None
    parts = value.lower().replace(",", "x").split("x")
    try:
        nums = [int(p) for p in parts if p]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size like 640 or 384x640 (height x width)") from None
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise click.BadParameter(f"{value!r} is not a size like 640 or 384x640 (height x width)")


def _show_tail(captured) -> None:
    """After a failure: the converters' last lines, which the quiet mode kept out of the terminal."""
    tail = captured.tail() if captured is not None else []
    if tail:
        click.echo("the converters' last output (all of it with --verbose):\n  " + "\n  ".join(tail), err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("weights")
@click.option("--format", "-f", "formats", multiple=True, type=_FormatChoice(), default=("all",),
              show_default=True, help="Target format; repeat for several, 'all' for every one.")
@click.option("--imgsz", default=None, help="Input size: 640 or HxW such as 384x640 [default: the checkpoint's, else 640].")
@click.option("--int8", is_flag=True, help="Write int8 artifacts (PTQ with calibration, or from QAT with --qat).")
@click.option("--fp16", is_flag=True, help="Write fp16 artifacts.")
@click.option("--fp32/--no-fp32", "fp32", default=None,
              help="Also write fp32 artifacts [default: only when neither --int8 nor --fp16 is given].")
@click.option("--calib", "--data", "calib", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of calibration images (e.g. a `yolopose-train synth` dataset) [default: generated images].")
@click.option("--calib-images", default=64, show_default=True, type=click.IntRange(1), help="Calibration images to use.")
@click.option("--qat", is_flag=True, help="Take int8 quantization from a QAT checkpoint (`yolopose-train qat`).")
@click.option("--int8-recipe", type=click.Choice(list_recipes()), default=None,
              help="Layers the int8 artifacts keep float. " + " ".join(f"{name}: {get_recipe(name).summary}." for name in list_recipes())
                   + f" [default: {DEFAULT_RECIPE}; a QAT checkpoint's own recipe]")
@click.option("--int8-weight-bits", type=click.Choice(["8", "7"]), default="8", show_default=True,
              help="Bits of the int8 ONNX/OpenVINO weights. 7 can help on x86 CPUs without VNNI (AVX2 only), whose "
                   "int8 convolutions saturate 16-bit sums of 8-bit products (`yolopose bench` prints the CPU's "
                   "flags), but costs QAT-tuned weights accuracy: compare with `yolopose eval`. The TFLite keeps 8.")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1), help="Fixed batch size.")
@click.option("--dynamic", is_flag=True, help="Dynamic batch dimension (ONNX, OpenVINO).")
@click.option("--out", "-o", default="exports", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--no-verify", is_flag=True, help="Skip running each artifact against torch.")
@click.option("--trained-on", default=None, metavar="TEXT",
              help="What the weights were trained on, for the metadata [default: the training data's folder name].")
@click.option("--description", default=None, metavar="TEXT", help="Free-text model description for the metadata.")
@click.option("--verbose", "-v", is_flag=True, help="Show the converters' own output (torch.onnx, onnxsim, NNCF, OpenVINO, "
              "litert-torch), which is kept out of the terminal by default.")
@click.version_option(__version__, prog_name="yolopose-export")
def main(weights: str, formats: Tuple[str, ...], imgsz: Optional[str], int8: bool, fp16: bool, fp32: Optional[bool],
         calib: Optional[str], calib_images: int, qat: bool, int8_recipe: Optional[str], int8_weight_bits: str, batch: int, dynamic: bool, out: str, no_verify: bool,
         trained_on: Optional[str], description: Optional[str], verbose: bool) -> None:
    """Export WEIGHTS (a checkpoint, or a registered model name for fresh weights) to ONNX,
    OpenVINO IR and/or TFLite; every artifact carries yolopose metadata and is verified against torch.

    \b
    Examples:
      yolopose-export runs/train/best.pt --format all --int8 --fp32
      yolopose-export runs/qat/qat.pt --format tflite --int8 --qat
      yolopose-export yolov5s6-pose-lite --format openvino --imgsz 640 --int8
    """
    from yolopose.core.errors import ExportError, YoloPoseError
    from yolopose.export import export, op_histograms, summary_table
    from yolopose.export._quiet import converter_output
    from yolopose.export.options import select_precisions

    precisions = select_precisions(fp32=fp32, fp16=fp16, int8=int8)
    if qat and not int8:
        raise click.UsageError("--qat selects where int8 quantization comes from; add --int8")
    if int8_recipe and not int8:
        raise click.UsageError("--int8-recipe applies to int8 artifacts; add --int8")

    captured = None
    try:
        with converter_output(verbose) as captured:
            def log(msg: str) -> None:
                click.echo(msg, file=captured.stream)

            results = export(
                weights, list(formats), imgsz=_parse_imgsz(imgsz), precisions=precisions, calib=calib,
                calib_images=calib_images, qat=qat, int8_recipe=int8_recipe, int8_weight_bits=int(int8_weight_bits),
                batch=batch, dynamic=dynamic, out=out, verify=not no_verify, trained_on=trained_on,
                description=description, log=log,
            )
    except YoloPoseError as exc:
        click.echo(f"error: {exc}", err=True)
        if isinstance(exc, ExportError):
            _show_tail(captured)
        sys.exit(1)
    except Exception:
        _show_tail(captured)
        raise
    click.echo(summary_table(results))
    hist = op_histograms(results)
    if hist:
        click.echo("\nTFLite operators:\n" + hist)
    for r in results:
        for note in r.notes:
            click.echo(f"note ({r.path.name}): {note}")


if __name__ == "__main__":  # pragma: no cover
    main()
