"""What is checked before any engine sees a model: one step, chosen by the model's file type.

Model files are untrusted input. :func:`load_runtime <yolopose.runtimes.load_runtime>` hands every
model to :func:`check_model` first; it runs the check registered for the file's suffix and returns
a :class:`CheckedModel` (the path or in-memory bytes, the bytes it read, the key/value metadata it
found). Adapters are then built from the checked model and never repeat a check:

- ``.onnx`` (:func:`check_onnx`): the protobuf is walked without ``onnx`` (``_onnx_proto``); every
  standard node has the inputs the operator set requires (``_onnx_graph``); external-data
  references stay inside the model's folder, are no onnxruntime memory marker, and fit their
  file (``_weights``); a model given as bytes may reference none;
- ``.xml`` (:func:`check_openvino_ir`): the IR and its ``.bin`` are regular, non-empty files, the
  ``.bin`` inside the model's folder (``_weights``);
- ``.tflite`` (:func:`check_tflite`): the flatbuffer's structure (``_tflite_file``: indices in
  range, one writer per tensor, no writes to constants or inputs, buffers inside the file) and the
  metadata zip appended to it;
- any other suffix: a readable, non-empty regular file.

``allow_weights_outside=True`` lifts the folder rule (links into a download cache, say). A new
file type registers its check with :func:`register_model_check`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

from yolopose.core.errors import ModelError
from yolopose.core.registry import Registry

from .model_bytes import ModelBytes

__all__ = ["CheckedModel", "check_model", "check_model_file", "list_model_checks", "register_model_check"]


@dataclass(frozen=True)
class CheckedModel:
    """A model that passed the checks of its file type.

    ``path``: the file, or a label such as ``<model bytes>.onnx`` for ``model_bytes``; ``data``:
    the model's bytes when the check read them (ONNX, TFLite), so the engine loads what was
    checked; ``properties``: key/value metadata found in the file (yolopose's own under
    ``"yolopose"``; engines that read metadata themselves add theirs).
    """

    path: Path
    model_bytes: Optional[ModelBytes] = None
    data: Optional[bytes] = None
    properties: Dict[str, str] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()


#: the check of a file type: ``(model, allow_weights_outside) -> CheckedModel``
ModelCheck = Callable[[Union[Path, ModelBytes], bool], CheckedModel]

_CHECKS: Registry[ModelCheck] = Registry("model file check")


def register_model_check(suffix: str, check: ModelCheck, replace: bool = False) -> ModelCheck:
    """Run ``check`` on every model whose file name ends in ``suffix`` (e.g. ``".onnx"``)."""
    return _CHECKS.register(suffix.lower(), check, replace=replace)


def list_model_checks() -> List[str]:
    """The suffixes that have a check of their own."""
    return _CHECKS.names()


def check_model(model: Union[Path, ModelBytes], allow_weights_outside: bool = False) -> CheckedModel:
    """Run the check of ``model``'s file type (see the module docstring); :class:`ModelError`
    naming the file and the problem when it fails."""
    label = model.label if isinstance(model, ModelBytes) else Path(model)
    suffix = label.suffix.lower()
    if suffix in _CHECKS:
        return _CHECKS.get(suffix)(model, allow_weights_outside)
    if isinstance(model, ModelBytes):  # pragma: no cover - ModelBytes are ONNX or TFLite
        raise ModelError(f"{label}: no check for {suffix!r} models given as bytes")
    return CheckedModel(check_model_file(Path(model)))


# ---------------------------------------------------------------------------------- files
def check_model_file(path: Path, what: str = "model file") -> Path:
    """A readable, non-empty regular file, or a :class:`ModelError` naming it."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{what} {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelError(f"{what} {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise ModelError(f"{what} {str(path)!r} is empty")
    return path


def _read(model: Union[Path, ModelBytes]) -> bytes:
    """The bytes of a model: given in memory, or read from its (checked) file."""
    if isinstance(model, ModelBytes):
        return model.data
    path = check_model_file(model)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {str(path)!r}: {exc.strerror or exc}") from None
    except MemoryError:
        raise ModelError(f"model file {str(path)!r} ({path.stat().st_size} bytes) does not fit in memory") from None


def _checked(model: Union[Path, ModelBytes], data: Optional[bytes], properties: Dict[str, str]) -> CheckedModel:
    if isinstance(model, ModelBytes):
        return CheckedModel(model.label, model, data, properties)
    return CheckedModel(Path(model), None, data, properties)


# ---------------------------------------------------------------------------------- the built-in checks
def check_onnx(model: Union[Path, ModelBytes], allow_weights_outside: bool = False) -> CheckedModel:
    """An ONNX model's structure and external data (module docstring)."""
    from ._onnx_graph import check_onnx_nodes
    from ._onnx_proto import inspect_onnx
    from ._weights import check_external_data, refuse_external_data

    data = _read(model)
    path = model.label if isinstance(model, ModelBytes) else Path(model)
    facts = inspect_onnx(data, path)
    check_onnx_nodes(facts.nodes, path)
    if isinstance(model, ModelBytes):
        refuse_external_data(facts.external, str(path))
    else:
        check_external_data(path, facts.external, allow_weights_outside)
    return _checked(model, data, dict(facts.metadata_props))


def check_openvino_ir(model: Union[Path, ModelBytes], allow_weights_outside: bool = False) -> CheckedModel:
    """An OpenVINO IR: the ``.xml`` and its ``.bin`` (module docstring)."""
    from ._weights import check_weights_file

    if isinstance(model, ModelBytes):  # pragma: no cover - ModelBytes refuses IR
        raise ModelError("an OpenVINO IR cannot be loaded from bytes")
    path = check_model_file(Path(model))
    weights = check_model_file(path.with_suffix(".bin"), "OpenVINO weights file")
    check_weights_file(path, Path(weights.name), f"{str(path)!r} reads its weights from {weights.name!r}",
                       allow_weights_outside)
    return CheckedModel(path)


def check_tflite(model: Union[Path, ModelBytes], allow_weights_outside: bool = False) -> CheckedModel:
    """A TFLite flatbuffer's structure and its appended metadata (module docstring)."""
    from ._tflite_file import appended_properties, check_tflite_bytes

    data = _read(model)
    path = model.label if isinstance(model, ModelBytes) else Path(model)
    check_tflite_bytes(data, path)
    return _checked(model, data, appended_properties(data, path))


register_model_check(".onnx", check_onnx)
register_model_check(".xml", check_openvino_ir)
register_model_check(".tflite", check_tflite)
