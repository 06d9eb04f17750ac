"""The backend registry: which engine reads which artifact, on which devices, from which extra.

Backends are data (:class:`BackendSpec`), not branches: auto-selection walks the registered
specs in priority order and takes the first that reads the file type, is installed and supports
the requested device family. Each engine adapter declares its spec once, as ``SPEC`` in its own
module (its engine modules and extra included, which the adapter imports through
:meth:`BackendSpec.import_engine`); the built-in adapters' modules are listed in
:data:`BUILTIN_ADAPTERS` and imported on the first lookup. Third parties can
:func:`register_backend` their own.

:func:`load_runtime` then runs the model file's checks (:mod:`yolopose.runtimes.model_checks`)
before the adapter is built.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple, Type, Union

from yolopose.core.errors import BackendNotAvailableError, ConfigError, DeviceNotAvailableError, ModelError
from yolopose.core.registry import Registry

from .base import Runtime, split_device
from .model_bytes import BytesLike, ModelBytes
from .model_checks import check_model

__all__ = [
    "BUILTIN_ADAPTERS",
    "BackendSpec",
    "register_backend",
    "list_backends",
    "get_backend",
    "backends_for",
    "select_backend",
    "resolve_model_path",
    "load_runtime",
]


@dataclass(frozen=True)
class BackendSpec:
    """How to find and load one engine adapter."""

    name: str
    target: str  #: ``"module:Class"`` of the :class:`Runtime` subclass, imported on first use
    suffixes: Tuple[str, ...]  #: artifact file types it reads, e.g. ``(".onnx",)``
    #: the engine modules the adapter imports, first importable wins (e.g. ``ai_edge_litert.interpreter``);
    #: the package of any one present means installed
    modules: Tuple[str, ...]
    extra: str  #: the ``pip install "yolopose[extra]"`` that installs it
    devices: Tuple[str, ...]  #: device families it can target (``"cpu"``, ``"cuda"``, ...)
    aliases: Tuple[str, ...] = ()
    priority: int = 100  #: lower first when several backends read a file type

    def installed(self) -> bool:
        """Whether the package of one of the engine modules is importable (without importing it)."""
        for name in self.modules:
            try:
                if importlib.util.find_spec(name.split(".")[0]) is not None:
                    return True
            except (ImportError, ValueError):  # a parent package missing or broken
                continue
        return False

    def import_engine(self) -> ModuleType:
        """Import the first importable engine module, or explain which extra to install
        (:class:`~yolopose.core.errors.BackendNotAvailableError`)."""
        problems = []
        for name in self.modules:
            try:
                return importlib.import_module(name)
            except ImportError as exc:  # not installed, or installed but broken (e.g. ABI mismatch)
                problems.append(f"{name}: {exc}")
        packages = " or ".join(dict.fromkeys(m.split(".")[0] for m in self.modules))
        raise BackendNotAvailableError(
            f"the {self.name!r} backend needs {packages}, which cannot be imported ({'; '.join(problems)}). "
            f"Install it with: {self.install_hint()}"
        )

    def runtime_class(self) -> Type[Runtime]:
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def install_hint(self) -> str:
        return f'pip install "yolopose[{self.extra}]"'


#: the modules of the built-in engine adapters, each declaring its ``SPEC`` (engines are imported
#: only when a model is loaded)
BUILTIN_ADAPTERS = (
    "yolopose.runtimes.onnx_runtime",
    "yolopose.runtimes.openvino_runtime",
    "yolopose.runtimes.tflite_runtime",
)


def _register_builtins() -> None:
    for module in BUILTIN_ADAPTERS:
        register_backend(importlib.import_module(module).SPEC)


_BACKENDS: Registry[BackendSpec] = Registry("backend", builtins=_register_builtins)


def register_backend(spec: BackendSpec, replace: bool = False) -> None:
    """Add ``spec`` to the registry (``replace=True`` to override one with the same name)."""
    _BACKENDS.register(spec.name, spec, aliases=spec.aliases, replace=replace)


def list_backends() -> List[BackendSpec]:
    """All registered backends, in auto-selection priority order."""
    return sorted(_BACKENDS.values(), key=lambda s: (s.priority, s.name))


def get_backend(name: str) -> BackendSpec:
    """The backend registered under ``name`` or one of its aliases (``"auto"`` is not one: see
    :func:`select_backend`)."""
    return _BACKENDS.get(str(name).strip().lower())


def backends_for(path: Union[str, Path]) -> List[BackendSpec]:
    """The registered backends that read this artifact's file type (installed or not)."""
    suffix = Path(path).suffix.lower()
    return [s for s in list_backends() if suffix in s.suffixes]


def resolve_model_path(path: Union[str, Path]) -> Path:
    """A model file; a folder holding exactly one model file (e.g. an OpenVINO export) is accepted."""
    p = Path(path).expanduser()
    if p.is_dir():
        known = {sfx for s in list_backends() for sfx in s.suffixes}
        found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in known)
        if len(found) != 1:
            what = ", ".join(f.name for f in found) or "none"
            raise ModelError(f"model folder {str(p)!r} must hold exactly one model file ({', '.join(sorted(known))}); found {what}")
        return found[0]
    if not p.exists():
        raise ModelError(f"model file {str(p)!r} does not exist")
    return p


def select_backend(path: Union[str, Path], backend: str = "auto", device: str = "cpu") -> BackendSpec:
    """The backend to run ``path`` on ``device``: the named one, or the first installed that fits."""
    path = Path(path)
    readers = backends_for(path)
    if not readers:
        known = sorted({sfx for s in list_backends() for sfx in s.suffixes})
        raise ModelError(f"{str(path)!r}: unsupported model file type {path.suffix!r}; expected one of {', '.join(known)}")
    family, _ = split_device(device)
    if backend != "auto":
        spec = get_backend(backend)
        if spec not in readers:
            raise ConfigError(
                f"backend {spec.name!r} cannot read {path.suffix} files ({str(path)!r}); "
                f"use one of: {', '.join(s.name for s in readers)}"
            )
        if not spec.installed():
            raise BackendNotAvailableError(f"backend {spec.name!r} is not installed. Install it with: {spec.install_hint()}")
        return spec
    installed = [s for s in readers if s.installed()]
    if not installed:
        hints = " or ".join(s.install_hint() for s in readers)
        raise BackendNotAvailableError(f"no installed backend can run {str(path)!r}. Install one with: {hints}")
    for spec in installed:
        if family in spec.devices:
            return spec
    offered = ", ".join(f"{s.name}: {', '.join(s.devices)}" for s in installed)
    raise DeviceNotAvailableError(f"no installed backend for {path.suffix} files supports device {device!r} ({offered})")


def load_runtime(
    path: Union[str, Path, BytesLike, ModelBytes],
    backend: str = "auto",
    device: str = "cpu",
    threads: Optional[int] = None,
    allow_weights_outside: bool = False,
    **options: Any,
) -> Runtime:
    """Load ``path`` with the named backend (or the auto choice) on ``device``.

    ``path`` is a model file, a folder holding one, or the bytes of an ONNX or TFLite model
    (``bytes``, ``bytearray``, ``memoryview``). The file's checks run first
    (:func:`~yolopose.runtimes.model_checks.check_model`; ``allow_weights_outside=True`` trusts
    weights files that resolve outside the model's folder). ``threads`` sets the engine's intra-op
    thread count; ``options`` go to the engine adapter (e.g. ``delegate="libedgetpu.so.1"`` for
    TFLite, ``provider_options={...}`` for onnxruntime, ``config={...}`` for OpenVINO).
    """
    model: Union[Path, ModelBytes]
    if isinstance(path, (bytes, bytearray, memoryview)):
        model = ModelBytes.from_bytes(path)
    elif isinstance(path, ModelBytes):
        model = path
    elif isinstance(path, (str, os.PathLike)):
        model = resolve_model_path(path)
    else:
        raise ConfigError(f"a model is a path, a folder or the bytes of an ONNX/TFLite model; got {type(path).__name__}")
    spec = select_backend(model.label if isinstance(model, ModelBytes) else model, backend, device)
    cls = spec.runtime_class()
    checked = check_model(model, allow_weights_outside=bool(allow_weights_outside))
    try:
        return cls(checked, device=device, threads=threads, **options)
    except TypeError as exc:
        raise ConfigError(f"backend {spec.name!r}: bad option ({exc})") from None
