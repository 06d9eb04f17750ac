"""The output row of a batch job: one per image or video frame, the same in every format.

=========== ============================ ==================================================
column      type                         meaning
=========== ============================ ==================================================
source      string                       absolute path of the image or video file
frame       int64                        frame number in a video; 0 for an image; -1 for a
                                         row about a whole video (it could not be read);
                                         -2 for a row saying that a video ended before the
                                         frame count its header announces (rows are missing)
width       int32                        image width in pixels (0 when it could not be read)
height      int32                        image height in pixels (0 when it could not be read)
boxes       list<list<float32>[4]>       per person ``x1, y1, x2, y2`` in image pixels
scores      list<float32>                per person score
keypoints   list<list<list<float32>[3]>> per person, per keypoint ``x, y, confidence``
error       string (null)                why the input has no poses; null when it was read
=========== ============================ ==================================================

Rows travel as plain dicts of Python lists (float32 values converted to Python floats, which is
exact), so a row read back gives bit-identical :class:`~yolopose.Poses`.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

import numpy as np

from ..core.results import Poses

__all__ = ["COLUMNS", "VIDEO_ENDED", "WHOLE_VIDEO", "arrow_schema", "error_row", "key", "pose_row", "row_poses",
           "rows_to_arrow"]

COLUMNS = ("source", "frame", "width", "height", "boxes", "scores", "keypoints", "error")
#: ``frame`` of a row about a whole video that could not be read (or broke off)
WHOLE_VIDEO = -1
#: ``frame`` of the row of a video that ended before its announced frame count: its rows are missing
VIDEO_ENDED = -2
Row = Dict[str, Any]


def pose_row(source: str, frame: int, poses: Poses, height: int, width: int) -> Row:
    """The row of an image (or frame) that was read and run."""
    return {
        "source": source,
        "frame": int(frame),
        "width": int(width),
        "height": int(height),
        "boxes": poses.boxes.tolist(),
        "scores": poses.scores.tolist(),
        "keypoints": poses.keypoints.tolist(),
        "error": None,
    }


def error_row(source: str, frame: int, error: str, height: int = 0, width: int = 0) -> Row:
    """The row of an input that could not be read or run: no poses, ``error`` says why."""
    return {
        "source": source,
        "frame": int(frame),
        "width": int(width),
        "height": int(height),
        "boxes": [],
        "scores": [],
        "keypoints": [],
        "error": str(error) or "unknown error",
    }


def row_poses(row: Mapping[str, Any], num_keypoints: int = 17, **kwargs: Any) -> Poses:
    """A row back to :class:`~yolopose.Poses` (empty for error rows)."""
    scores = np.asarray(row.get("scores") or [], dtype=np.float32)
    if len(scores) == 0:
        return Poses.empty(num_keypoints, **kwargs)
    boxes = np.asarray(_lists(row["boxes"]), dtype=np.float32).reshape(-1, 4)
    kpts = np.asarray(_lists(row["keypoints"]), dtype=np.float32)
    return Poses(boxes, scores, kpts.reshape(len(scores), -1, 3), **kwargs)


def _lists(value: Any) -> Any:
    """Nested numpy object arrays (how pandas reads Parquet lists) -> nested lists."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [_lists(v) for v in value]
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def arrow_schema() -> Any:
    """The pyarrow schema of the rows."""
    import pyarrow as pa

    f32 = pa.float32()
    return pa.schema(
        [
            ("source", pa.string()),
            ("frame", pa.int64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("boxes", pa.list_(pa.list_(f32, 4))),
            ("scores", pa.list_(f32)),
            ("keypoints", pa.list_(pa.list_(pa.list_(f32, 3)))),
            ("error", pa.string()),
        ]
    )


def rows_to_arrow(rows: Sequence[Row]) -> Any:
    """Rows -> a ``pyarrow.Table`` with :func:`arrow_schema`."""
    import pyarrow as pa

    return pa.Table.from_pylist(list(rows), schema=arrow_schema())


def key(row: Mapping[str, Any]) -> tuple:
    """``(source, frame)``: what identifies a row (used by ``--resume``)."""
    return str(row["source"]), int(row["frame"])
