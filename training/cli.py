"""The ``yolopose-train`` command line."""
from __future__ import annotations

from yolopose.core import __version__
from yolopose.core.cli import lazy_group

#: subcommand -> "module:attribute", imported only when that subcommand runs.
COMMANDS: dict = {
    "convert": "yolopose.training.commands.convert:convert",
    "models": "yolopose.training.commands.models:models",
    "qat": "yolopose.training.commands.qat:qat",
    "synth": "yolopose.training.commands.synth:synth",
    "train": "yolopose.training.commands.train:train",
    "val": "yolopose.training.commands.val:val",
}


@lazy_group("yolopose-train", __version__, COMMANDS)
def main() -> None:
    """Train, fine-tune (QAT), validate and inspect YOLO-Pose models."""
