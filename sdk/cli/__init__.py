"""The ``yolopose`` command line (SDK only: never imports torch)."""
from __future__ import annotations

from ..core import __version__
from ..core.cli import lazy_group

#: subcommand -> "module:attribute", imported only when that subcommand runs.
COMMANDS: dict = {
    "batch": "yolopose.cli.batch:batch",
    "bench": "yolopose.cli.bench:bench",
    "eval": "yolopose.cli.eval:eval_command",
    "info": "yolopose.cli.info:info",
    "predict": "yolopose.cli.predict:predict",
    "track": "yolopose.cli.track:track",
}


@lazy_group("yolopose", __version__, COMMANDS)
def main() -> None:
    """YOLO-Pose multi-person pose estimation on edge devices."""
