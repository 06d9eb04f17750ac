"""Import the authors' YOLO-Pose checkpoints (TexasInstruments edgeai-yolov5, branch ``yolo-pose``).

>>> from yolopose.training.official import save_converted
>>> save_converted("Yolov5s6_pose_640.pt", "yolov5s6_pose_640_yolopose.pt")   # doctest: +SKIP

:func:`read_official` reads a file without running any code from it; :func:`official_config`
builds the matching :class:`~yolopose.training.models.ModelConfig` (``head_layout="official"``);
:func:`map_official_state` maps every tensor by name and shape; :func:`is_official_checkpoint`
tells such a file from ours. See ``docs/official-checkpoints.md``.
"""
from __future__ import annotations

from .architecture import official_config
from .convert import convert_official, converted_model, save_converted
from .detect import is_official_checkpoint
from .mapping import map_official_state
from .paper import PAPER_CHECKPOINTS, PaperEntry, paper_entry
from .reader import OfficialWeights, read_official

__all__ = [
    "PAPER_CHECKPOINTS",
    "OfficialWeights",
    "PaperEntry",
    "convert_official",
    "converted_model",
    "is_official_checkpoint",
    "map_official_state",
    "official_config",
    "paper_entry",
    "read_official",
    "save_converted",
]
