"""Private helpers shared by the engine adapters: what an engine raises, told as a ModelError."""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator

from yolopose.core.errors import ModelError, YoloPoseError

__all__ = ["engine_errors", "engine_message"]


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
