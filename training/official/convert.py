"""Official checkpoint -> yolopose checkpoint (in memory or on disk)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from yolopose.training.checkpoint import checkpoint_dict, save_checkpoint
from yolopose.training.models import YoloPoseModel, create_model

from .architecture import official_config
from .mapping import map_official_state
from .paper import guess_imgsz, paper_entry, published_sizes
from .reader import read_official

__all__ = ["convert_official", "save_converted", "converted_model", "ASSUMED_IMGSZ"]

PathLike = Union[str, "os.PathLike[str]"]
#: the input size recorded when neither ``imgsz`` nor the file name gives one (the authors' 640 models)
ASSUMED_IMGSZ = 640


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def converted_model(path: PathLike, imgsz: Optional[int] = None) -> Tuple[YoloPoseModel, Dict[str, Any]]:
    """Read the official checkpoint at ``path`` and return ``(our model in eval mode, source facts)``.

    ``imgsz`` is the size the checkpoint was trained for: given, else read from the file or
    folder name, else :data:`ASSUMED_IMGSZ`; the source facts record it and where it came from
    (``imgsz_from``: ``"argument"``, ``"file name"`` or ``"assumed"``). It selects the paper
    figures recorded there (none for an assumed size: they would be a guess) and is the
    checkpoint's input size, which export uses by default."""
    p = Path(path)
    weights = read_official(p)
    config, layout, facts = official_config(weights)
    model = create_model(config)
    model.load_state_dict(map_official_state(weights, config, layout, model.state_dict()), strict=True)
    named = guess_imgsz(p)
    size, size_from = (imgsz, "argument") if imgsz is not None else (named, "file name") if named else (ASSUMED_IMGSZ, "assumed")
    entry = paper_entry(facts["base"], str(facts["variant"]), size) if size_from != "assumed" else None
    source: Dict[str, Any] = {
        "kind": "official-yolo-pose",
        "file": p.name,
        "sha256": _sha256(p),
        "weights": weights.weights,
        "variant": facts["variant"],
        "depth_multiple": facts["depth_multiple"],
        "width_multiple": facts["width_multiple"],
        "registry_base": facts["base"],
        "code": "TexasInstruments/edgeai-yolov5 (branch yolo-pose), GPL-3.0",
        "paper": entry.as_dict() if entry else None,
        "imgsz": size,
        "imgsz_from": size_from,
        "published_sizes": published_sizes(facts["base"], str(facts["variant"])),
    }
    return model.eval(), {"source": source, "imgsz": size}


def convert_official(path: PathLike, imgsz: Optional[int] = None) -> Dict[str, Any]:
    """The yolopose checkpoint dict (as :func:`~yolopose.training.checkpoint.load_checkpoint`
    returns) for the official checkpoint at ``path``; see :func:`converted_model`."""
    model, info = converted_model(path, imgsz)
    size = info["imgsz"]
    return checkpoint_dict(path, model=model, imgsz=[size, size], source=info["source"])


def save_converted(path: PathLike, out: PathLike, imgsz: Optional[int] = None) -> Tuple[Path, Dict[str, Any]]:
    """Convert the official checkpoint ``path`` and write it as a yolopose checkpoint ``out``
    (atomically). Returns ``(out, checkpoint dict)``."""
    ckpt = convert_official(path, imgsz)
    fields = {k: v for k, v in ckpt.items() if k not in ("format", "format_version")}
    return save_checkpoint(out, **fields), ckpt
