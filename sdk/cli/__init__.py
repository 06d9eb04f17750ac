"""The ``yolopose`` command line (SDK only: never imports torch)."""
from __future__ import annotations

import click

from .. import __version__
from .lazy import LazyGroup

#: subcommand -> "module:attribute"; each entry is added by the issue that makes it work.
COMMANDS: dict = {}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yolopose")
def main() -> None:
    """YOLO-Pose multi-person pose estimation on edge devices."""
