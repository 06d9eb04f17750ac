"""Private helpers shared by the engine adapters: imports, file checks, error translation."""
from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from types import ModuleType
from typing import Iterator, Sequence

from yolopose.errors import BackendNotAvailableError, ModelError, YoloPoseError

__all__ = ["import_engine", "check_model_file", "engine_errors", "read_model_bytes"]


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


@contextlib.contextmanager
def engine_errors(path: Path, action: str) -> Iterator[None]:
    """Turn whatever an engine raises while loading/running ``path`` into a :class:`ModelError`."""
    try:
        yield
    except YoloPoseError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # engines raise RuntimeError, ValueError, their own types...
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{str(path)!r}: {action} failed: {message[:500]}") from exc
