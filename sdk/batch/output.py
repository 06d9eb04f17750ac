"""Output folders of batch jobs: part files written atomically, resume keys, final assembly.

A job writes ``DIR/part-<run>-<n>.<ext>`` files, each through :func:`yolopose.core.fileio.atomic_path`
(a killed job leaves only whole parts), and ``DIR/summary.json`` at the end. One job at a time
owns ``DIR`` (:meth:`OutputFolder.lock`, a lock the OS drops when the job dies, however it dies);
the next job in it removes the temporary part files a killed job left and logs them. Formats:

- ``parquet``: the parts are the result (read the folder with pandas/pyarrow/Ray);
- ``jsonl``: one JSON object per row; coordinates rounded to 3 decimals, scores to 5;
- ``coco``: parts in JSON Lines, assembled at the end into ``DIR/poses_coco.json``, a COCO
  keypoint file (images with ``frame`` and ``error``; one annotation per person with its ``score``;
  keypoints with ``v=2`` at confidence >= 0.5, else ``0, 0, 0``; raw confidences in
  ``keypoint_scores``), ready to serve as pre-labels.
"""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from ..core.errors import ConfigError, DatasetError
from ..core.fileio import atomic_path, atomic_write_text, folder_lock, remove_stale_temps, temp_pattern, write_error
from ..core.registry import Registry
from .rows import Row, key, rows_to_arrow

__all__ = ["FORMATS", "OutputFolder", "PartWriter", "read_rows"]

PART_PREFIX = "part-"
COCO_FILE = "poses_coco.json"
SUMMARY_FILE = "summary.json"
#: keypoint confidence from which a COCO pre-label marks a keypoint visible.
COCO_VISIBLE_CONF = 0.5


class _Parquet:
    suffix = ".parquet"

    def write(self, path: Path, rows: Sequence[Row]) -> None:
        import pyarrow.parquet as pq

        pq.write_table(rows_to_arrow(rows), path)

    def read(self, path: Path, columns: Optional[Sequence[str]] = None) -> List[Row]:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path, columns=list(columns) if columns else None).to_pylist()
        except Exception as exc:
            raise DatasetError(f"{path}: cannot read this part file ({exc})") from None


class _Jsonl:
    suffix = ".jsonl"

    def write(self, path: Path, rows: Sequence[Row]) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(_rounded(row), separators=(",", ":")) + "\n")

    def read(self, path: Path, columns: Optional[Sequence[str]] = None) -> List[Row]:
        out = []
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{path}:{n}: not a JSON row ({exc})") from None
                    out.append({c: row.get(c) for c in columns} if columns else row)
        return out


def _rounded(row: Row) -> Row:
    r = dict(row)
    r["boxes"] = [[round(v, 3) for v in b] for b in row["boxes"]]
    r["scores"] = [round(v, 5) for v in row["scores"]]
    r["keypoints"] = [[[round(x, 3), round(y, 3), round(c, 5)] for x, y, c in p] for p in row["keypoints"]]
    return r


class _Coco(_Jsonl):
    def finish(self, folder: Path, rows: List[Row]) -> Path:
        from ..core.keypoints import COCO_KEYPOINT_NAMES, COCO_SKELETON

        images, annotations = [], []
        for image_id, row in enumerate(sorted(rows, key=key), 1):
            images.append({"id": image_id, "file_name": row["source"], "frame": row["frame"], "width": row["width"],
                           "height": row["height"], "error": row.get("error")})
            for box, score, kpts in zip(row["boxes"], row["scores"], row["keypoints"]):
                flat, visible = [], 0
                for x, y, c in kpts:
                    if c >= COCO_VISIBLE_CONF:
                        flat += [x, y, 2]
                        visible += 1
                    else:
                        flat += [0, 0, 0]
                x1, y1, x2, y2 = box
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                    "bbox": [x1, y1, round(x2 - x1, 3), round(y2 - y1, 3)], "area": round((x2 - x1) * (y2 - y1), 3),
                    "score": score, "keypoints": flat, "num_keypoints": visible,
                    "keypoint_scores": [c for _, _, c in kpts],
                })
        categories = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINT_NAMES),
                       "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON]}]
        doc = {"info": {"description": "yolopose batch predictions"}, "images": images,
               "annotations": annotations, "categories": categories}
        path = folder / COCO_FILE
        atomic_write_text(path, json.dumps(doc, separators=(",", ":")) + "\n")
        return path


#: output format name -> how its part files are written (``suffix``, ``write``) and read (``read``),
#: and what is made of them at the end (``finish``, optional); the choices of ``yolopose batch --format``
FORMATS: Registry[Any] = Registry("batch output format")
FORMATS.register("parquet", _Parquet())
FORMATS.register("jsonl", _Jsonl())
FORMATS.register("coco", _Coco())


def _format(name: str) -> Any:
    return FORMATS.get(name)  # ConfigError listing the known formats


class OutputFolder:
    """The output folder of a job in one format: its parts, what they hold, the final files."""

    def __init__(self, path: Any, fmt: str = "parquet") -> None:
        self.path = Path(path)
        self.format_name = fmt
        self.format = _format(fmt)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"output {str(self.path)!r} exists and is not a folder")

    def parts(self) -> List[Path]:
        """Part files present, oldest name first; parts of another format are an error."""
        if not self.path.is_dir():
            return []
        parts = sorted(p for p in self.path.iterdir() if p.name.startswith(PART_PREFIX) and p.is_file())
        foreign = [p for p in parts if p.suffix != self.format.suffix]
        if foreign:
            raise ConfigError(f"{self.path} holds {foreign[0].name}, not {self.format_name} output; "
                              "choose the format it was written in, or another folder")
        return parts

    def lock(self) -> Any:
        """Own the folder while the job runs (see :func:`yolopose.core.fileio.folder_lock`): a second
        job fails at once with :class:`~yolopose.core.errors.FolderInUseError`."""
        return folder_lock(self.path, "yolopose batch job")

    def prepare(self, resume: bool, overwrite: bool) -> Set[Tuple[str, int]]:
        """Check the folder for a new run; returns the keys already written (``resume``).

        Call it holding :meth:`lock`: temporary part files in the folder are then a killed job's
        litter, and are removed (and logged) here."""
        if self.path.is_dir():  # names like .part-<run>-<n>.jsonl.XXXXXXXX.jsonl.tmp, of any format
            remove_stale_temps(self.path, temp_pattern(r"part-[A-Za-z0-9_-]+\.[a-z]+", r"\.[a-z]+"), f"a part of {self.path}")
        parts = self.parts() if self.path.is_dir() else []
        if parts and overwrite:
            try:
                for p in parts:
                    p.unlink()
                for name in (COCO_FILE, SUMMARY_FILE):
                    (self.path / name).unlink(missing_ok=True)
            except OSError as exc:
                raise write_error(self.path, exc, "remove the old results") from None
            parts = []
        if parts and not resume:
            raise ConfigError(f"{self.path} already holds {len(parts)} part files; "
                              "use --resume to continue that job or --overwrite to start again")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.path, exc, "create the output folder") from None
        return {key(r) for p in parts for r in self.format.read(p, columns=("source", "frame"))}

    def rows(self) -> Iterator[Row]:
        for p in self.parts():
            yield from self.format.read(p)

    def finish(self) -> Path:
        """Assemble the final file where the format has one; returns the job's output path."""
        finish = getattr(self.format, "finish", None)
        return finish(self.path, list(self.rows())) if finish else self.path

    def write_summary(self, summary: Dict[str, Any]) -> Path:
        return atomic_write_text(self.path / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")


class PartWriter:
    """Buffers rows and writes them as atomic part files of about ``rows_per_part`` rows, or
    sooner once ``flush_seconds`` have passed, so a killed job loses at most that much work."""

    def __init__(self, folder: OutputFolder, rows_per_part: int = 1000, flush_seconds: float = 30.0) -> None:
        if int(rows_per_part) < 1:
            raise ConfigError(f"rows_per_part must be >= 1, got {rows_per_part}")
        self.folder = folder
        self.rows_per_part = int(rows_per_part)
        self.flush_seconds = float(flush_seconds)
        self.run_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        self.parts_written = 0
        self.seconds = 0.0
        self._buffer: List[Row] = []
        self._last = time.monotonic()

    def add(self, rows: Iterable[Row]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.rows_per_part or time.monotonic() - self._last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._buffer:
            return
        t0 = time.perf_counter()
        fmt = self.folder.format
        name = f"{PART_PREFIX}{self.run_id}-{self.parts_written:05d}{fmt.suffix}"
        with atomic_path(self.folder.path / name, suffix=fmt.suffix) as tmp:
            fmt.write(tmp, self._buffer)
        self.parts_written += 1
        self._buffer = []
        self.seconds += time.perf_counter() - t0


def read_rows(path: Any) -> List[Row]:
    """Every row of a batch output folder (any format), sorted by source and frame."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no batch output folder here")
    suffixes = {p.suffix for p in folder.iterdir() if p.name.startswith(PART_PREFIX)}
    if not suffixes:
        return []
    if len(suffixes) > 1:
        raise DatasetError(f"{folder}: part files of several formats ({', '.join(sorted(suffixes))})")
    name = next(n for n in FORMATS.names() if FORMATS.get(n).suffix in suffixes)
    return sorted(OutputFolder(folder, name).rows(), key=key)
