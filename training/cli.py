"""The ``yolopose-train`` command line."""
from __future__ import annotations

import click

from yolopose import __version__
from yolopose.cli.lazy import LazyGroup

#: subcommand -> "module:attribute"; each entry is added by the issue that makes it work.
COMMANDS: dict = {
    "convert": "yolopose.training.commands.convert:convert",
    "models": "yolopose.training.commands.models:models",
    "qat": "yolopose.training.commands.qat:qat",
    "synth": "yolopose.training.commands.synth:synth",
    "train": "yolopose.training.commands.train:train",
    "val": "yolopose.training.commands.val:val",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yolopose-train")
def main() -> None:
    """Train, fine-tune (QAT), validate and inspect YOLO-Pose models."""
