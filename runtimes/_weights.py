"""Where a model's weights may come from: one rule for ONNX external data and OpenVINO ``.bin``.

A model file may pull in other files: an ONNX initializer's external data, an OpenVINO IR's
``.bin``. Both are checked here before any engine opens the model:

- a weights file must resolve inside the model's folder after following links (symbolic links
  and hard links can both point elsewhere; a hard link cannot be traced, so one is refused),
  unless the caller passes ``allow_weights_outside=True``, e.g. for a download cache whose
  snapshot folders link to blobs elsewhere;
- ONNX locations must be relative paths without ``..`` (the ONNX spec's rule) and must not be
  onnxruntime's in-memory marker ``*/_ORT_MEM_ADDR_/*``: onnxruntime refuses it in a file, but
  OpenVINO reads its ``offset`` as a memory address and crashes the process;
- each tensor's ``offset`` and ``length`` must be numbers inside the file, and the file must hold
  the bytes the tensor's shape and type need (an engine that maps the file would otherwise read
  past its end);
- models given as bytes may not reference external data at all.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List

from yolopose.core.errors import ModelError

from ._onnx_proto import ExternalTensor

__all__ = ["ORT_MEMORY_MARKER", "check_weights_file", "check_external_data", "refuse_external_data"]

#: onnxruntime's marker for "this tensor's data is at a memory address", never valid in a file
ORT_MEMORY_MARKER = "_ORT_MEM_ADDR_"


def _folder(model: Path) -> str:
    return os.path.realpath(os.path.dirname(os.path.abspath(model)))


def check_weights_file(model: Path, weights: Path, what: str, allow_outside: bool = False) -> None:
    """Refuse ``weights`` (a file ``model`` loads) unless it resolves inside the model's folder.

    ``what`` starts the message, e.g. ``"'m.xml' reads its weights from 'm.bin'"``.
    """
    folder = _folder(model)
    target = os.path.realpath(os.path.join(folder, weights) if not os.path.isabs(weights) else weights)
    if not os.path.isfile(target):
        raise ModelError(f"{what}, which does not exist next to the model (or is not a regular file)")
    if allow_outside:
        return
    hint = "pass allow_weights_outside=True (runtime option) to trust it"
    if os.path.commonpath([target, folder]) != folder or target == folder:
        raise ModelError(f"{what}, which resolves to {target!r} outside the model's folder {folder!r}; refusing to load it ({hint})")
    if os.stat(target).st_nlink > 1:
        raise ModelError(f"{what}, which is a hard link (it may point outside the model's folder); copy the file instead ({hint})")


def _number(text: str, key: str, where: str) -> int:
    if not text.isdigit():
        raise ModelError(f"{where}: external-data {key} {text!r} is not a non-negative number")
    return int(text)


def check_external_data(model: Path, refs: Iterable[ExternalTensor], allow_outside: bool = False) -> None:
    """Check every external-data reference of the ONNX file ``model`` (see the module docstring)."""
    name = str(model)
    sizes = {}
    for ref in refs:
        loc = ref.location
        where = f"{name!r} tensor {ref.tensor!r} references external data {loc!r}"
        if not loc:
            raise ModelError(f"{name!r} tensor {ref.tensor!r} is stored externally but names no file")
        if ORT_MEMORY_MARKER in loc:
            raise ModelError(f"{where}: {ORT_MEMORY_MARKER} is onnxruntime's in-memory marker and never valid in a model file")
        parts = loc.replace("\\", "/").split("/")
        if os.path.isabs(loc) or os.path.splitdrive(loc)[0] or loc.startswith(("/", "\\")) or "\x00" in loc or ".." in parts:
            raise ModelError(f"{where}: only relative locations inside the model's folder are allowed")
        if loc not in sizes:
            check_weights_file(model, Path(loc), where, allow_outside)
            sizes[loc] = os.path.getsize(os.path.join(_folder(model), loc))
        size = sizes[loc]
        offset = _number(ref.offset, "offset", where)
        length = None if ref.length is None else _number(ref.length, "length", where)
        if ref.nbytes is None:
            raise ModelError(f"{where}, but its shape or data type cannot be read from a file (negative dims or a string type)")
        span = ref.nbytes if length is None else length
        if span < ref.nbytes:
            raise ModelError(f"{where} with length {length}, but its shape and type need {ref.nbytes} bytes")
        if offset + span > size:
            raise ModelError(f"{where} at bytes {offset}..{offset + span}, past the end of that file ({size} bytes)")


def refuse_external_data(refs: List[ExternalTensor], label: str) -> None:
    """A model given as bytes has no folder: refuse any external-data reference."""
    if refs:
        raise ModelError(
            f"{label} references external data ({refs[0].location!r} for tensor {refs[0].tensor!r}); "
            "a model given as bytes must hold all its weights: load it from its file instead"
        )
