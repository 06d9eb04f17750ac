"""A safe reader for the authors' YOLO-Pose checkpoints (TexasInstruments edgeai-yolov5, branch
``yolo-pose``).

Their ``train.py`` saves a dict whose ``model`` and ``ema`` entries are whole pickled
``models.yolo.Model`` objects (float16). Unpickling such an object normally imports the authors'
classes and runs their code. Here nothing from the file runs: the file is read with
``torch.load(weights_only=True)``, and each class name the authors' files use (``models.common``
blocks, ``models.yolo.Model``/``Detect``, torch ``nn`` modules, numpy scalars and arrays) is mapped
to an inert placeholder of ours that only records the pickled attributes. Any other global, and
any ``__reduce__`` payload, is refused by torch's restricted unpickler and reported as
:class:`~yolopose.core.errors.CheckpointError`. A plain ``state_dict`` saved from their model is read too.
"""
from __future__ import annotations

import io
import os
import pickletools
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch

from yolopose.core.errors import CheckpointError

__all__ = ["OfficialObject", "OfficialWeights", "read_official", "official_globals_in", "OFFICIAL_CLASS_NAMES"]

PathLike = Union[str, "os.PathLike[str]"]

#: Classes the authors' checkpoints pickle, by their full import name.
OFFICIAL_CLASS_NAMES: Tuple[str, ...] = tuple(
    [f"models.common.{n}" for n in ("Focus", "ConvFocus", "Conv", "DWConv", "C3", "SPP", "Bottleneck", "Concat", "Contract")]
    + [f"models.yolo.{n}" for n in ("Model", "Detect")]
    + [
        "torch.nn.modules.conv.Conv2d",
        "torch.nn.modules.batchnorm.BatchNorm2d",
        "torch.nn.modules.activation.SiLU",
        "torch.nn.modules.activation.ReLU",
        "torch.nn.modules.activation.Hardswish",
        "torch.nn.modules.activation.LeakyReLU",
        "torch.nn.modules.linear.Identity",
        "torch.nn.modules.container.Sequential",
        "torch.nn.modules.container.ModuleList",
        "torch.nn.modules.pooling.MaxPool2d",
        "torch.nn.modules.upsampling.Upsample",
    ]
)
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


class OfficialObject:
    """Inert stand-in for one pickled object of the authors' model: it keeps the pickled attribute
    dict in :attr:`attrs` and has no behaviour. ``official_name`` is the class it stands for."""

    official_name = ""

    def __init__(self) -> None:
        self.attrs: Dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise CheckpointError(f"unexpected pickled state for {self.official_name}: {type(state).__name__}")
        self.attrs = state


_PLACEHOLDERS: Dict[str, type] = {
    name: type(f"Official{name.rsplit('.', 1)[-1]}", (OfficialObject,), {"official_name": name})
    for name in OFFICIAL_CLASS_NAMES
}


class _DTypeSpec:
    """Stand-in for ``numpy.dtype`` as pickled: the type code and byte order, numeric types only."""

    def __init__(self, code: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(code, str) or code.lstrip("<>|=")[:1] not in ("b", "i", "u", "f", "?"):
            raise CheckpointError(f"refusing non-numeric numpy dtype {code!r} in an official checkpoint")
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def dtype(self) -> np.dtype:
        order = "" if self.code[:1] in "<>|=" else ("<" if self.byteorder == "=" else self.byteorder)
        return np.dtype(order + self.code if order != "|" else self.code)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """Stand-in for ``numpy.core.multiarray.scalar``: numeric scalars as Python numbers."""
    if not isinstance(dtype, _DTypeSpec) or not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("refusing a numpy scalar that is not a plain number")
    return np.frombuffer(bytes(data), dtype=dtype.dtype(), count=1)[0].item()


class _ArraySpec:
    """Stand-in for ``numpy.ndarray`` as pickled; numeric arrays become :attr:`array`."""

    def __init__(self) -> None:
        self.array: Optional[np.ndarray] = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise CheckpointError("refusing an unexpected numpy array state")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _DTypeSpec) or not isinstance(raw, (bytes, bytearray)):
            raise CheckpointError("refusing a numpy array that is not a plain numeric array")
        arr = np.frombuffer(bytes(raw), dtype=dtype.dtype()).copy()
        self.array = arr.reshape(tuple(shape), order="F" if fortran else "C")


def _numpy_reconstruct(cls: Any, shape: Any = None, code: Any = None) -> _ArraySpec:
    """Stand-in for ``numpy.core.multiarray._reconstruct``."""
    if cls is not _ArraySpec:
        raise CheckpointError("refusing a numpy array subclass")
    return _ArraySpec()


def _safe_globals() -> List[Tuple[Any, str]]:
    allowed: List[Tuple[Any, str]] = [(cls, name) for name, cls in _PLACEHOLDERS.items()]
    allowed += [(_DTypeSpec, "numpy.dtype"), (_ArraySpec, "numpy.ndarray")]
    for module in _NUMPY_MODULES:
        allowed += [(_numpy_scalar, f"{module}.scalar"), (_numpy_reconstruct, f"{module}._reconstruct")]
    return allowed


def _pickle_bytes(path: Path) -> Optional[bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            return zf.read(names[0]) if names else None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None


def official_globals_in(path: PathLike) -> List[str]:
    """The global names the checkpoint's pickle refers to, read without unpickling anything
    (empty for a file that is not a torch zip archive)."""
    data = _pickle_bytes(Path(path))
    if data is None:
        return []
    found = set()
    strings: List[str] = []
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                found.add(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # a malformed pickle: the real load reports it
        return sorted(found)
    return sorted(found)


@dataclass
class OfficialWeights:
    """What an official checkpoint holds, as plain data.

    ``state``: the weights under the authors' names (``model.0.conv.conv.weight``, ...), as stored
    (float16 in ``train.py`` files). ``modules``: module path -> official class name (empty for a
    plain state dict). ``attrs``: module path -> its plain attributes (numbers, strings, lists).
    ``yaml``: the model's configuration dict, ``stride``: its strides, when the file holds the model
    object. ``weights``: which entry was read (``"ema"``, ``"model"`` or ``"state_dict"``)."""

    source: str
    state: "OrderedDict[str, torch.Tensor]"
    weights: str
    modules: Dict[str, str] = field(default_factory=dict)
    attrs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    yaml: Optional[Dict[str, Any]] = None
    stride: Optional[Tuple[float, ...]] = None
    epoch: Optional[int] = None


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def _walk(obj: OfficialObject, prefix: str, out: OfficialWeights, source: str) -> None:
    attrs = obj.attrs
    out.modules[prefix] = obj.official_name
    out.attrs[prefix] = {k: v for k, v in attrs.items() if not k.startswith("_") and _plain(v)}
    skip = set(attrs.get("_non_persistent_buffers_set") or ())
    dot = f"{prefix}." if prefix else ""
    for group in ("_parameters", "_buffers"):
        entries = attrs.get(group) or {}
        if not isinstance(entries, Mapping):
            raise CheckpointError(f"{source}: module {prefix or '<root>'} has a malformed {group}")
        for name, tensor in entries.items():
            if tensor is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{source}: {dot}{name} is not a tensor ({type(tensor).__name__})")
            out.state[f"{dot}{name}"] = tensor.detach()
    for name, child in (attrs.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, OfficialObject):
            raise CheckpointError(f"{source}: module {dot}{name} is a {type(child).__name__}, not a known module")
        _walk(child, f"{dot}{name}", out, source)


def _from_model_object(model: OfficialObject, weights: str, source: str, epoch: Any) -> OfficialWeights:
    if model.official_name != "models.yolo.Model":
        raise CheckpointError(f"{source}: {weights!r} is a {model.official_name}, not a models.yolo.Model")
    out = OfficialWeights(source=source, state=OrderedDict(), weights=weights)
    root = model.attrs.get("_modules", {}).get("model")
    if not isinstance(root, OfficialObject):
        raise CheckpointError(f"{source}: the model object has no layer list")
    _walk(root, "model", out, source)
    yaml_dict = model.attrs.get("yaml")
    out.yaml = dict(yaml_dict) if isinstance(yaml_dict, Mapping) else None
    stride = model.attrs.get("stride")
    if isinstance(stride, torch.Tensor):
        out.stride = tuple(float(s) for s in stride.flatten().tolist())
    out.epoch = epoch if isinstance(epoch, int) else None
    return out


def _from_state_dict(state: Mapping[str, Any], source: str) -> OfficialWeights:
    out = OfficialWeights(source=source, state=OrderedDict(), weights="state_dict")
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{source}: a state dict must map names to tensors; {name!r} does not")
        out.state[name] = tensor.detach()
    if not any(k.startswith("model.0.") for k in out.state):
        raise CheckpointError(f"{source}: not an official YOLO-Pose state dict (no 'model.0.' weights)")
    return out


def read_official(path: PathLike) -> OfficialWeights:
    """Read an official checkpoint (``train.py`` dict with the pickled model, a release file
    stripped by their ``strip_optimizer``, or a plain ``state_dict``) without running any code
    from it. The EMA weights are taken when present, as the authors' own loader does."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except CheckpointError as exc:
        raise CheckpointError(f"{p}: {exc}") from None
    except Exception as exc:  # refused global, corrupt zip, truncated file, ...
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        useful = [line for line in lines if "Unsupported" in line or "unrecognized" in line] or lines[:1]
        detail = f"{type(exc).__name__}: {useful[0]}" if useful else type(exc).__name__
        raise CheckpointError(
            f"{p}: not a readable official YOLO-Pose checkpoint (corrupt, truncated or holding code that "
            f"is not part of the authors' model; nothing from it was run): {detail}"
        ) from None
    if isinstance(ckpt, OfficialObject):
        return _from_model_object(ckpt, "model", str(p), None)
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"{p}: not an official YOLO-Pose checkpoint (a {type(ckpt).__name__})")
    for key in ("ema", "model"):
        if isinstance(ckpt.get(key), OfficialObject):
            return _from_model_object(ckpt[key], key, str(p), ckpt.get("epoch"))
    inner = ckpt.get("state_dict", ckpt)
    if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
        return _from_state_dict(inner, str(p))
    raise CheckpointError(f"{p}: not an official YOLO-Pose checkpoint (no 'model' object and no state dict)")
