"""The ``yolopose`` command line (SDK only: never imports torch)."""
from __future__ import annotations

import click

from .. import __version__
from .lazy import LazyGroup

#: subcommand -> "module:attribute"; each entry is added by the issue that makes it work.
COMMANDS: dict = {
    "batch": "yolopose.cli.batch:batch",
    "bench": "yolopose.cli.bench:bench",
    "eval": "yolopose.cli.eval:eval_command",
    "info": "yolopose.cli.info:info",
    "predict": "yolopose.cli.predict:predict",
    "track": "yolopose.cli.track:track",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yolopose")
def main() -> None:
    """YOLO-Pose multi-person pose estimation on edge devices."""
