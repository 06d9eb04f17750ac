"""Checkpoints: a dict of plain types and tensors, written atomically, read with
``torch.load(weights_only=True)`` (never falling back to unsafe unpickling).

Fields (docs/architecture.md): ``format="yolopose-checkpoint"``, ``format_version=1``, ``config``
(:class:`ModelConfig` as a dict), ``model`` (state dict of the weights to use: the EMA when
training), ``imgsz``, ``epoch``, ``optimizer``, ``ema``, ``ema_updates``, ``train_args``,
``metrics``, ``qat`` (bool).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch
from torch import nn

from yolopose.core.errors import CheckpointError, ConfigError
from yolopose.core.fileio import atomic_path

from .models import ModelConfig, YoloPoseModel, create_model

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_FORMAT_VERSION", "checkpoint_dict", "save_checkpoint", "load_checkpoint", "model_from_checkpoint"]

CHECKPOINT_FORMAT = "yolopose-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]

_DEFAULTS: Dict[str, Any] = {
    "imgsz": None,
    "epoch": -1,
    "optimizer": None,
    "ema": None,
    "ema_updates": 0,
    "train_args": {},
    "metrics": {},
    "qat": False,
}


def _state_dict(value: Any) -> Any:
    """Modules and optimizers are stored as their state dicts; anything else as given."""
    return value.state_dict() if isinstance(value, (nn.Module, torch.optim.Optimizer)) else value


def checkpoint_dict(path: PathLike = "<checkpoint>", **fields: Any) -> Dict[str, Any]:
    """The checkpoint dict :func:`save_checkpoint` writes: defaults, then ``fields``, with modules
    and optimizers stored as state dicts. ``path`` only names the target in errors."""
    if "model" not in fields:
        raise CheckpointError(f"{path}: save_checkpoint needs the 'model' field")
    model = fields["model"]
    config = fields.get("config")
    if config is None and isinstance(model, YoloPoseModel):
        config = model.config
    if config is None:
        raise CheckpointError(f"{path}: save_checkpoint needs 'config' (or a YoloPoseModel as 'model')")
    ckpt: Dict[str, Any] = dict(_DEFAULTS)
    ckpt.update(fields)
    ckpt["format"] = CHECKPOINT_FORMAT
    ckpt["format_version"] = CHECKPOINT_FORMAT_VERSION
    ckpt["config"] = config.to_dict() if isinstance(config, ModelConfig) else dict(config)
    ckpt["model"] = _state_dict(model)
    for key in ("ema", "optimizer"):
        if ckpt[key] is not None:
            ckpt[key] = _state_dict(ckpt[key])
    if isinstance(ckpt["imgsz"], tuple):
        ckpt["imgsz"] = list(ckpt["imgsz"])
    ckpt["qat"] = bool(ckpt["qat"])
    return ckpt


def save_checkpoint(path: PathLike, **fields: Any) -> Path:
    """Write a checkpoint atomically and return its path.

    ``model`` (a module or a state dict) is required; ``config`` defaults to ``model.config`` when
    ``model`` is a :class:`YoloPoseModel`. ``ema`` and ``optimizer`` may be modules/optimizers or
    state dicts. Other fields are stored as given (plain types and tensors only).
    """
    ckpt = checkpoint_dict(path, **fields)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


def load_checkpoint(path: PathLike) -> Dict[str, Any]:
    """Read and check a checkpoint (on the CPU). :class:`CheckpointError`, naming the file, when
    it is missing, corrupt, unsafe to unpickle, not a yolopose checkpoint or of a newer format."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, truncated file, pickle refused by weights_only, ...
        raise CheckpointError(_load_failure(p, exc)) from None
    return _validate(ckpt, str(p))


# torch names what weights_only blocked as "GLOBAL module.name" ("Unsupported global: GLOBAL
# __main__.X was not an allowed global", "unsupported GLOBAL posix.system whose module ...")
_BLOCKED_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _load_failure(path: Path, exc: Exception) -> str:
    """A one-line reason ``torch.load(weights_only=True)`` refused ``path``.

    torch's own text advises re-running with ``weights_only=False``, which would run whatever
    code the file carries: that advice is never shown; the blocked call is named instead.
    """
    text = str(exc)
    blocked = _BLOCKED_GLOBAL.search(text)
    if blocked:
        return (
            f"{path}: refused: loading it would call {blocked.group(1)}, which a yolopose checkpoint never does; "
            "the file is not a yolopose checkpoint or it is unsafe"
        )
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    useful = [line for line in lines if "weights_only" not in line and "Weights only" not in line and "torch.load" not in line]
    if "Weights only load failed" in text:
        detail = f": {useful[0][:200]}" if useful else ""
        return f"{path}: not a readable checkpoint (corrupt, or pickle content a yolopose checkpoint never holds{detail}); it is not a yolopose checkpoint or it is unsafe"
    detail = f"{type(exc).__name__}: {useful[0][:300]}" if useful else type(exc).__name__
    return f"{path}: not a readable checkpoint (corrupt or truncated): {detail}"


def _validate(ckpt: Any, source: str) -> Dict[str, Any]:
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{source}: not a yolopose checkpoint (no format={CHECKPOINT_FORMAT!r} field)")
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT_VERSION or version < 1:
        raise CheckpointError(
            f"{source}: checkpoint format version {version!r} is not supported (this yolopose reads up to "
            f"{CHECKPOINT_FORMAT_VERSION}); upgrade yolopose"
        )
    for key in ("config", "model"):
        if not isinstance(ckpt.get(key), Mapping):
            raise CheckpointError(f"{source}: checkpoint lacks its {key!r} dict")
    return ckpt


def model_from_checkpoint(
    source: Union[PathLike, Mapping[str, Any]],
    num_keypoints: Optional[int] = None,
    weights: str = "model",
) -> Tuple[YoloPoseModel, Dict[str, Any]]:
    """Rebuild the model stored in a checkpoint (a path or an already loaded dict).

    ``weights`` picks the state dict (``"model"``, or ``"ema"`` when present). With
    ``num_keypoints`` given, a checkpoint for another keypoint count is refused. Returns
    ``(model in eval mode, checkpoint dict)``.
    """
    if isinstance(source, Mapping):
        name = "<checkpoint dict>"
        ckpt = _validate(dict(source), name)
    else:
        name = str(source)
        ckpt = load_checkpoint(source)
    try:
        config = ModelConfig.from_dict(ckpt["config"], source=name)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    if num_keypoints is not None and num_keypoints != config.num_keypoints:
        raise CheckpointError(
            f"{name}: checkpoint model {config.name!r} has {config.num_keypoints} keypoints, "
            f"but {num_keypoints} were asked for"
        )
    state = ckpt.get(weights)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{name}: checkpoint has no {weights!r} weights")
    model = create_model(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{name}: weights do not fit model {config.name!r} "
            f"({'; '.join(line.strip() for line in detail[:3])})"
        ) from None
    return model.eval(), ckpt
