"""Tell an official checkpoint from a yolopose one without unpickling anything."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from .reader import official_globals_in

__all__ = ["is_official_checkpoint"]

PathLike = Union[str, "os.PathLike[str]"]


def is_official_checkpoint(path: PathLike) -> bool:
    """True when the file's pickle names the authors' model classes (``models.yolo.*``,
    ``models.common.*``), or it is a plain state dict with their layer names (``model.0....``)
    and no yolopose ``format`` field. Reading the names runs nothing; the state-dict check loads
    with ``weights_only=True``."""
    p = Path(path)
    if not p.is_file():
        return False
    names = official_globals_in(p)
    if any(n.startswith(("models.yolo.", "models.common.")) for n in names):
        return True
    if any(n.startswith("yolopose") for n in names) or not names:
        return False
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:
        return False
    if isinstance(data, dict) and "format" not in data:
        inner = data.get("state_dict", data)
        return isinstance(inner, dict) and any(isinstance(k, str) and k.startswith("model.0.") for k in inner)
    return False
