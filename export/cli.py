"""The ``yolopose-export`` command line: its options are :class:`~yolopose.export.options.ExportOptions`'
fields (generated from them), plus the formats, the precision flags and ``--verbose``."""
from __future__ import annotations

import dataclasses
import sys
from typing import Optional, Tuple

import click

from yolopose.core import __version__
from yolopose.core.cli import RegistryChoice, settings_options
from yolopose.export.options import ExportOptions


def _formats():
    """The registered export formats (:func:`yolopose.export.list_formats`), read when the command
    line is parsed, so a format registered by another package is accepted too."""
    from yolopose.export import list_formats

    return list_formats()


def _show_tail(captured) -> None:
    """After a failure: the converters' last lines, which the quiet mode kept out of the terminal."""
    tail = captured.tail() if captured is not None else []
    if tail:
        click.echo("the converters' last output (all of it with --verbose):\n  " + "\n  ".join(tail), err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("weights")
@click.option("--format", "-f", "formats", multiple=True, type=RegistryChoice(_formats, extra=("all",)), default=("all",),
              show_default=True, help="Target format; repeat for several, 'all' for every one.")
@click.option("--int8", is_flag=True, help="Write int8 artifacts (PTQ with calibration, or from QAT with --qat).")
@click.option("--fp16", is_flag=True, help="Write fp16 artifacts.")
@click.option("--fp32/--no-fp32", "fp32", default=None,
              help="Also write fp32 artifacts [default: only when neither --int8 nor --fp16 is given].")
@settings_options(ExportOptions, dest="options")
@click.option("--verbose", "-v", is_flag=True, help="Show the converters' own output (torch.onnx, onnxsim, NNCF, OpenVINO, "
              "litert-torch), which is kept out of the terminal by default.")
@click.version_option(__version__, prog_name="yolopose-export")
def main(weights: str, formats: Tuple[str, ...], int8: bool, fp16: bool, fp32: Optional[bool], options: ExportOptions,
         verbose: bool) -> None:
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

    options = dataclasses.replace(options, precisions=select_precisions(fp32=fp32, fp16=fp16, int8=int8))
    if options.qat and not int8:
        raise click.UsageError("--qat selects where int8 quantization comes from; add --int8")
    if options.int8_recipe and not int8:
        raise click.UsageError("--int8-recipe applies to int8 artifacts; add --int8")

    captured = None
    try:
        with converter_output(verbose) as captured:
            def log(msg: str) -> None:
                click.echo(msg, file=captured.stream)

            results = export(weights, list(formats), options=options, log=log)
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
