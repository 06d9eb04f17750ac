"""Helpers for tests that feed hostile model files: load them in a child process (a native crash
then fails the test instead of killing pytest) and build structurally broken models.

``load_in_child(paths)`` runs ``PoseEstimator(path).predict(black image)`` for each path in one
child process and returns one result dict per path: ``{"ok": True}`` or ``{"error": class name,
"message": text, "yolopose": bool}``. When the child dies by a signal, the test fails naming the
file it was loading.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

_CHILD = r"""
import json, sys
import numpy as np
from yolopose import PoseEstimator
from yolopose.core.errors import YoloPoseError

jobs = json.loads(sys.stdin.read())
for job in jobs:
    print(json.dumps({"start": job["path"]}), flush=True)
    try:
        est = PoseEstimator(job["path"], backend=job["backend"], runtime_options=job["options"])
        est.predict(np.zeros((48, 40, 3), np.uint8))
        est.close()
        result = {"ok": True}
    except YoloPoseError as exc:
        result = {"error": type(exc).__name__, "message": str(exc), "yolopose": True}
    except BaseException as exc:
        result = {"error": type(exc).__name__, "message": str(exc), "yolopose": False}
    print(json.dumps(result), flush=True)
"""


def load_in_child(
    paths: Sequence[Path], backend: str = "auto", options: Optional[Mapping[str, Any]] = None, timeout: float = 600
) -> List[Dict[str, Any]]:
    jobs = [{"path": str(p), "backend": backend, "options": dict(options or {})} for p in paths]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps(jobs), capture_output=True, text=True, timeout=timeout
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    started = [line["start"] for line in lines if "start" in line]
    results = [line for line in lines if "start" not in line]
    if proc.returncode != 0:
        how = f"signal {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        where = started[-1] if started else "(before the first model)"
        raise AssertionError(f"the child process died by {how} while loading {where}\n{proc.stderr[-3000:]}")
    assert len(results) == len(jobs), proc.stderr[-3000:]
    return results


def cli(*args: str) -> Tuple[int, str, str]:
    """Run the ``yolopose`` command line in a child process: ``(exit code, stdout, stderr)``."""
    proc = subprocess.run(
        [sys.executable, "-c", "from yolopose.cli import main; main()", *args], capture_output=True, text=True, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_line_error(result: Tuple[int, str, str], *needles: str) -> None:
    """A :func:`cli` result that failed cleanly: exit code 1, one ``Error:`` line, no traceback."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("Error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


# ----------------------------------------------------------------------------- TFLite structure
def tflite_object_api():
    """The TFLite schema's object API (``ai_edge_litert``) and ``flatbuffers``, or skip."""
    import pytest

    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    flatbuffers = pytest.importorskip("flatbuffers")
    return schema, flatbuffers


def edit_tflite(data: bytes, edit) -> bytes:
    """Unpack a TFLite flatbuffer, call ``edit(model, subgraph0)``, pack it again."""
    schema, flatbuffers = tflite_object_api()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    edit(model, model.subgraphs[0])
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tflite_index_slots(data: bytes) -> Tuple[List[int], int]:
    """Byte positions of every operator input/output tensor index in subgraph 0, and the tensor count.

    Overwriting an int32 at one of these positions changes the graph's structure in place.
    """
    from yolopose.runtimes._flatbuffer import root_table

    graph = root_table(data).tables(2)[0]
    slots = []
    for op in graph.tables(3):
        for field in (1, 2):
            start = op.vector_offset(field)
            if start is not None:
                slots.extend(start + 4 * i for i in range(op.vector_length(field, 4)))
    return slots, len(graph.tables(0))
