"""Keep the converters' own chatter out of the user's terminal.

torch.onnx, onnxsim, NNCF, OpenVINO, litert-torch and the TFLite converter print hundreds of
lines per export (deprecation notices, "Remove trivial rescale op", absl and oneDNN banners,
progress of their internal passes), some from Python, some from C++ straight to file
descriptors 1 and 2. :func:`converter_output` sends all of it to a temporary file while an export
runs and hands back a stream for yolopose's own messages; the last lines are kept for the error
message when something fails.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import Iterator, List, TextIO

__all__ = ["CapturedOutput", "converter_output"]


class CapturedOutput:
    """What :func:`converter_output` holds: ``stream`` for our own messages, and after the block
    :meth:`tail` of what the converters printed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._text = ""

    def tail(self, lines: int = 15) -> List[str]:
        """The last non-empty lines the converters printed."""
        return [line for line in self._text.splitlines() if line.strip()][-lines:]


def _real_stderr() -> bool:
    """Whether ``sys.stderr`` writes to file descriptor 2 (a terminal or a file, not a test harness)."""
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def converter_output(verbose: bool = False) -> Iterator[CapturedOutput]:
    """Inside the block, Python's ``sys.stdout``/``sys.stderr`` and (when they are the process's
    own) file descriptors 1 and 2 go to a temporary file; ``verbose=True`` changes nothing.
    Yields a :class:`CapturedOutput` whose ``stream`` reaches the real stderr."""
    if verbose:
        yield CapturedOutput(sys.stderr)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    sink = tempfile.TemporaryFile(mode="w+b", buffering=0)  # unbuffered: Python and C++ writes share its offset
    text_sink = io.TextIOWrapper(sink, encoding="utf-8", errors="replace", write_through=True)
    redirect_fds = _real_stderr()
    saved = [os.dup(1), os.dup(2)] if redirect_fds else []
    own = os.fdopen(os.dup(saved[1]), "w", buffering=1) if redirect_fds else sys.stderr
    captured = CapturedOutput(own)
    old_out, old_err = sys.stdout, sys.stderr
    try:
        if redirect_fds:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
        sys.stdout = sys.stderr = text_sink
        yield captured
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        text_sink.flush()
        if redirect_fds:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            own.close()
        sink.seek(0)
        captured._text = sink.read().decode("utf-8", errors="replace")
        captured.stream = sys.stderr
        text_sink.close()
