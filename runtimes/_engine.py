"""Private helpers shared by the engine adapters: imports, file checks, error translation."""
from __future__ import annotations

import contextlib
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Sequence

from yolopose.core.errors import BackendNotAvailableError, ModelError, YoloPoseError

__all__ = ["import_engine", "check_model_file", "engine_errors", "read_model_bytes", "model_data", "engine_message"]


def import_engine(modules: Sequence[str], backend: str, extra: str) -> ModuleType:
    """Import the first importable module of ``modules`` or explain which extra to install."""
    problems = []
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError as exc:  # not installed, or installed but broken (e.g. ABI mismatch)
            problems.append(f"{name}: {exc}")
    raise BackendNotAvailableError(
        f"the {backend!r} backend needs {' or '.join(m.split('.')[0] for m in modules)}, which cannot be imported "
        f"({'; '.join(problems)}). Install it with: pip install \"yolopose[{extra}]\""
    )


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


def read_model_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {str(path)!r}: {exc.strerror or exc}") from None
    except MemoryError:
        raise ModelError(f"model file {str(path)!r} ({Path(path).stat().st_size} bytes) does not fit in memory") from None


def model_data(runtime: Any) -> bytes:
    """The bytes of a runtime's model: given in memory, or read from its (checked) file."""
    if runtime.model_bytes is not None:
        return runtime.model_bytes.data
    check_model_file(runtime.path)
    return read_model_bytes(runtime.path)


# Lines of an engine's message that say where it was raised, not what is wrong, e.g. OpenVINO's
# "Exception from src/inference/src/cpp/core.cpp:84:" and "Check 'x' failed at src/...cpp:12:".
_LOCATION_LINE = re.compile(r"^(Exception from \S+:\d+:?|Check '.*' failed at \S+:\d+:?|\[ ?(GENERAL_ERROR|NOT_FOUND|NOT_IMPLEMENTED) ?\])$")
_MAX_MESSAGE = 500


def engine_message(exc: BaseException) -> str:
    """The part of an engine's exception text that says what is wrong.

    Engines put source locations first (OpenVINO: ``Exception from src/...cpp:84:``, then the
    cause several lines below); keep the lines that are not locations, joined with ``; ``.
    """
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    useful = [line for line in lines if not _LOCATION_LINE.match(line)]
    text = "; ".join(useful or lines) or type(exc).__name__
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


@contextlib.contextmanager
def engine_errors(path: Path, action: str) -> Iterator[None]:
    """Turn whatever an engine raises while loading/running ``path`` into a :class:`ModelError`."""
    try:
        yield
    except YoloPoseError:
        raise
    except MemoryError:
        raise ModelError(f"{str(path)!r}: {action} ran out of memory (the model needs more than this machine has, or is broken)") from None
    except Exception as exc:  # engines raise RuntimeError, ValueError, their own types...
        raise ModelError(f"{str(path)!r}: {action} failed: {engine_message(exc)}") from exc
