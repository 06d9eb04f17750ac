"""The work of one batch worker: read images and video frames, run the model, make rows.

:class:`BatchPredictor` holds one :class:`~yolopose.PoseEstimator`, loaded once; the local executor
runs one in-process and the Ray executor one per actor, so both produce the same rows. Every input
gives rows, never an exception: an image that cannot be read, a video that cannot be opened, a video
frame that cannot be decoded, or a model error on one image becomes an error row and the job goes
on; a video that ends before the frame count its header announces gets a row at frame
:data:`~yolopose.batch.rows.VIDEO_ENDED` saying how many frames are missing.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from ..core.errors import ConfigError
from ..core.ops.select import PostprocessSettings
from .rows import VIDEO_ENDED, Row, error_row, pose_row
from .sources import WorkItem

__all__ = ["BatchPredictor", "PredictorConfig", "STAGES"]

#: where a worker's time goes (seconds, summed over its inputs): ``read`` is video decoding,
#: ``preprocess`` image file decoding + letterbox (``PoseEstimator.preprocess``). With prefetch (the
#: default) these two run in the pipeline thread, overlapping inference: the sum can exceed the wall time.
STAGES = ("read", "preprocess", "inference", "postprocess")


@dataclass(frozen=True)
class PredictorConfig:
    """How each worker builds its estimator and samples videos (plain data: it is shipped to actors).

    ``model``: a model file (``None``: the bundled model); on a cluster it must exist on every node.
    ``postprocess``: how candidates become detections. ``threads``: engine threads per worker. ``every``: keep one video frame in ``every``.
    ``infer_batch``: images per engine call. 1 keeps every result bit-identical to
    ``PoseEstimator.predict``; larger batches suit GPUs. ``prefetch``: images or frames read and
    preprocessed ahead in a pipeline thread while the engine runs (0: no thread).
    """

    model: Optional[str] = None
    backend: str = "auto"
    device: str = "cpu"
    postprocess: PostprocessSettings = PostprocessSettings()
    threads: Optional[int] = None
    every: int = 1
    infer_batch: int = 1
    prefetch: int = 2

    def __post_init__(self) -> None:
        if int(self.every) < 1:
            raise ConfigError(f"every must be >= 1, got {self.every}")
        if int(self.infer_batch) < 1:
            raise ConfigError(f"infer_batch must be >= 1, got {self.infer_batch}")
        if int(self.prefetch) < 0:
            raise ConfigError(f"prefetch must be >= 0, got {self.prefetch}")
        if self.threads is not None and int(self.threads) < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")

    def to_dict(self) -> Dict[str, Any]:
        """Plain types only (shipped to Ray actors); :meth:`from_dict` is its inverse."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PredictorConfig":
        from ..core.settings import from_mapping

        return from_mapping(cls, data, "batch worker settings")

    def build_estimator(self) -> Any:
        from ..estimator import PoseEstimator

        return PoseEstimator(self.model, backend=self.backend, device=self.device, threads=self.threads,
                             postprocess=self.postprocess)


@dataclass
class _Pending:
    source: str
    frame: int
    x: np.ndarray
    transform: Any


@dataclass
class BatchPredictor:
    """Turns work items into rows with one estimator (see the module docstring)."""

    config: PredictorConfig
    estimator: Any = None
    seconds: Dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def __post_init__(self) -> None:
        if self.estimator is None:
            self.estimator = self.config.build_estimator()

    # ------------------------------------------------------------------ public
    def process(self, items: Iterable[Mapping[str, Any]]) -> List[Row]:
        """Rows for every work item (dicts from :meth:`WorkItem.to_dict`), in item order.

        Reading and preprocessing run in a pipeline thread (:attr:`PredictorConfig.prefetch`
        images or frames ahead) while the engine runs on the ones before."""
        from .._pipeline import Prefetch

        rows: List[Row] = []
        pending: List[_Pending] = []
        with Prefetch(self._prepared(items), depth=self.config.prefetch, name="yolopose-batch-read") as ahead:
            for errors, unit in ahead:
                rows.extend(errors)
                if unit is None:
                    continue
                pending.append(unit)
                if len(pending) >= self.config.infer_batch:
                    rows.extend(self._run(pending))
                    pending = []
        if pending:
            rows.extend(self._run(pending))
        return rows

    def _prepared(self, items: Iterable[Mapping[str, Any]]) -> Iterator[Tuple[List[Row], Optional[_Pending]]]:
        """``(error rows, unit)`` in input order: the rows that reading wrote before each
        preprocessed unit, then those after the item's last unit (with ``None``)."""
        for raw in items:
            item = WorkItem.from_dict(dict(raw))
            errors: List[Row] = []  # _units appends to this very list
            for unit in self._units(item, errors):
                yield list(errors), unit
                errors.clear()
            if errors:
                yield list(errors), None

    def __call__(self, batch: Any) -> Any:
        """Ray Data entry point: a ``pyarrow.Table`` of work items -> a table of rows."""
        from .rows import rows_to_arrow

        return rows_to_arrow(self.process(batch.to_pylist()))

    # ------------------------------------------------------------------ reading
    def _units(self, item: WorkItem, rows: List[Row]) -> Iterator[_Pending]:
        """Preprocessed images of an item; errors go straight to ``rows``."""
        if item.kind == "video":
            yield from self._video_units(item, rows)
            return
        t0 = time.perf_counter()
        try:
            x, transforms = self.estimator.preprocess([item.source])
        except Exception as exc:  # any failure is this input's error row, never the job's end
            rows.append(error_row(item.source, 0, _describe(exc, item.source)))
            return
        finally:
            self.seconds["preprocess"] += time.perf_counter() - t0
        yield _Pending(item.source, 0, x, transforms[0])

    def _video_units(self, item: WorkItem, rows: List[Row]) -> Iterator[_Pending]:
        from ..video import FrameError, VideoSource

        skip = set(item.skip)
        read = 0
        try:
            t0 = time.perf_counter()
            with VideoSource(item.source, stride=self.config.every) as video:
                for frame in video:
                    self.seconds["read"] += time.perf_counter() - t0
                    if isinstance(frame, FrameError):  # an undecodable frame, or the file ends early
                        where = VIDEO_ENDED if frame.kind == "ended" else frame.index
                        if where not in skip:
                            rows.append(error_row(item.source, where, frame.message))
                        t0 = time.perf_counter()
                        continue
                    read += 1
                    if frame.index not in skip:
                        t1 = time.perf_counter()
                        try:
                            x, transforms = self.estimator.preprocess([frame.image])
                        except Exception as exc:
                            rows.append(error_row(item.source, frame.index, _describe(exc, item.source)))
                        else:
                            yield _Pending(item.source, frame.index, x, transforms[0])
                        finally:
                            self.seconds["preprocess"] += time.perf_counter() - t1
                    t0 = time.perf_counter()
        except Exception as exc:  # cannot open, or broke off: one row about the whole file
            done = f" after {read} frames" if read else ""
            rows.append(error_row(item.source, -1, f"{_describe(exc, item.source)}{done}"))

    # ------------------------------------------------------------------ running
    def _run(self, pending: List[_Pending]) -> List[Row]:
        try:
            return self._infer(pending)
        except Exception as exc:
            if len(pending) == 1:
                p = pending[0]
                h, w = p.transform.src_shape
                return [error_row(p.source, p.frame, _describe(exc, p.source), h, w)]
        return [row for p in pending for row in self._run([p])]  # find the one that fails

    def _infer(self, pending: List[_Pending]) -> List[Row]:
        est = self.estimator
        t0 = time.perf_counter()
        x = pending[0].x if len(pending) == 1 else np.concatenate([p.x for p in pending])
        raw = est.infer(x)
        t1 = time.perf_counter()
        poses = est.postprocess(raw, [p.transform for p in pending])
        t2 = time.perf_counter()
        self.seconds["inference"] += t1 - t0
        self.seconds["postprocess"] += t2 - t1
        return [pose_row(p.source, p.frame, ps, *p.transform.src_shape) for p, ps in zip(pending, poses)]


def _describe(exc: BaseException, source: str = "") -> str:
    """The error column's text, naming ``source`` when the message does not (our errors usually
    name the file; a missing engine or a foreign exception does not)."""
    from ..core.errors import YoloPoseError

    text = str(exc) if isinstance(exc, YoloPoseError) else f"{type(exc).__name__}: {exc}"
    if source and source not in text and os.path.basename(source) not in text:
        text = f"{source}: {text}"
    return text
