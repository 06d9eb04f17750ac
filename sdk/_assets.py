"""The default model shipped inside the package (``yolopose/assets/default*.tflite|onnx``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Union

from .core.errors import ModelError

__all__ = ["default_model_candidates", "default_model_path", "resolve_bundled"]

_PATTERNS = ("default*.tflite", "default*.onnx")


def default_model_candidates() -> List[Path]:
    """Bundled default models, TFLite first (the edge format), then ONNX."""
    folder = Path(__file__).resolve().parent / "assets"
    found: List[Path] = []
    for pattern in _PATTERNS:
        found.extend(sorted(folder.glob(pattern)))
    return found


def default_model_path(backend: str = "auto") -> Path:
    """The bundled model to use with ``backend`` (the first one an installed engine can read)."""
    from yolopose.runtimes import backends_for, get_backend

    found = default_model_candidates()
    if not found:
        raise ModelError(
            "no default model is bundled with this yolopose installation (yolopose/assets/default*.tflite "
            "or default*.onnx); pass model='path/to/model.onnx', '.xml' or '.tflite'"
        )
    if backend != "auto":
        spec = get_backend(backend)
        for path in found:
            if spec in backends_for(path):
                return path
        raise ModelError(f"no bundled default model can be read by backend {spec.name!r} ({', '.join(p.name for p in found)})")
    for path in found:
        if any(s.installed() for s in backends_for(path)):
            return path
    return found[0]  # loading it explains which extra to install


def resolve_bundled(model: Union[str, "os.PathLike[str]"]) -> Union[str, "os.PathLike[str]"]:
    """``model`` itself, or the bundled model of that file name (``default_fp32.onnx``,
    ``default_int8.tflite``) when no such file exists here."""
    if os.path.exists(model) or os.path.dirname(os.fspath(model)):
        return model
    for path in default_model_candidates():
        if path.name == os.fspath(model):
            return path
    return model
