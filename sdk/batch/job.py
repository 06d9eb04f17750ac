"""``yolopose.batch.run``: a whole batch job, from SOURCE arguments to an output folder."""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..core.errors import ConfigError
from ..core.ops.select import PostprocessSettings
from .executors import get_executor
from .output import OutputFolder, PartWriter
from .predictor import STAGES, PredictorConfig
from .rows import VIDEO_ENDED
from .sources import expand_sources, with_resume

__all__ = ["BatchSummary", "execute", "run"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class BatchSummary:
    """What a job did. ``rows``: rows written by this run; ``images``/``frames``: those of still images /
    video frames (error rows included; a row about a whole unreadable video is neither);
    ``skipped``: inputs already written by an earlier run (``resume``); ``ended_early``: videos
    that stopped before the frame count their header announces (their rows are missing; each has
    an error row at frame :data:`~yolopose.batch.rows.VIDEO_ENDED`), ``missing``: their sources."""

    output: str
    executor: str
    workers: int
    inputs: int = 0
    skipped: int = 0
    rows: int = 0
    images: int = 0
    frames: int = 0
    people: int = 0
    errors: int = 0
    ended_early: int = 0
    missing: List[str] = field(default_factory=list)
    seconds: float = 0.0
    write_seconds: float = 0.0
    stage_seconds: Dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Rows (images and frames) per second of wall time."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d.update(images_per_second=round(self.rate, 2),
                 images_per_second_per_worker=round(self.rate / max(1, self.workers), 2))
        d["seconds"] = round(self.seconds, 3)
        d["write_seconds"] = round(self.write_seconds, 3)
        return d

    def format(self) -> str:
        return (f"{self.images} images, {self.frames} video frames, {self.people} people, {self.errors} errors "
                f"in {self.seconds:.1f} s: {self.rate:.1f} images/s, {self.rate / max(1, self.workers):.1f} per "
                f"{'actor' if self.executor == 'ray' else 'worker'} ({self.workers} x {self.executor})"
                + (f"; {self.skipped} inputs already done" if self.skipped else "") + f"\noutput: {self.output}"
                + (f"\n{self.ended_early} video(s) ended before the frame count their header announces, so their "
                   f"rows are missing: {', '.join(self.missing[:3])}{' ...' if len(self.missing) > 3 else ''}"
                   if self.ended_early else ""))


def execute(
    sources: Sequence[PathLike],
    out: PathLike,
    model: Optional[PathLike] = None,
    *,
    format: str = "parquet",
    executor: str = "ray",
    every: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    actors: Optional[int] = None,
    threads_per_actor: int = 1,
    batch_size: int = 16,
    address: Optional[str] = None,
    backend: str = "auto",
    device: str = "cpu",
    postprocess: Optional[PostprocessSettings] = None,
    infer_batch: int = 1,
    rows_per_part: int = 1000,
    flush_seconds: float = 30.0,
    progress: bool = False,
) -> BatchSummary:
    """Run a batch job and return its :class:`BatchSummary` (see :func:`run` for the arguments).

    The output folder is held for the whole job: a second job on it fails at once with
    :class:`~yolopose.core.errors.FolderInUseError`; one that cannot be written is a
    :class:`~yolopose.core.errors.WriteError` naming it."""
    if resume and overwrite:
        raise ConfigError("resume and overwrite exclude each other")
    if int(batch_size) < 1 or int(threads_per_actor) < 1 or (actors is not None and int(actors) < 1):
        raise ConfigError(f"batch_size, threads_per_actor and actors must be >= 1, got {batch_size}, "
                          f"{threads_per_actor}, {actors}")
    config = PredictorConfig(model=None if model is None else str(model), backend=backend, device=device,
                             postprocess=postprocess or PostprocessSettings(),
                             threads=None if executor == "ray" else threads_per_actor, every=every,
                             infer_batch=infer_batch)
    folder = OutputFolder(out, format)
    items = expand_sources([str(s) for s in sources])
    with folder.lock():
        return _execute(folder, items, config, executor=executor, resume=resume, overwrite=overwrite, actors=actors,
                        threads_per_actor=threads_per_actor, batch_size=batch_size, address=address,
                        rows_per_part=rows_per_part, flush_seconds=flush_seconds, progress=progress)


def _execute(folder: OutputFolder, items: Sequence[Any], config: PredictorConfig, *, executor: str, resume: bool,
             overwrite: bool, actors: Optional[int], threads_per_actor: int, batch_size: int, address: Optional[str],
             rows_per_part: int, flush_seconds: float, progress: bool) -> BatchSummary:
    """:func:`execute` once the output folder is held."""
    from .._progress import progress_bar

    done = folder.prepare(resume=resume, overwrite=overwrite)
    todo = with_resume(items, done)
    runner = get_executor(executor, config, batch_size=batch_size, actors=actors, threads_per_actor=threads_per_actor,
                        address=address)
    summary = BatchSummary(output=str(folder.path), executor=executor, workers=runner.workers, inputs=len(items),
                           skipped=len(items) - len(todo))
    writer = PartWriter(folder, rows_per_part=rows_per_part, flush_seconds=flush_seconds)
    videos = {i.source for i in todo if i.kind == "video"}
    t0 = time.perf_counter()
    try:
        with progress_bar(None if videos else len(todo), desc=f"batch ({executor})", enabled=progress, unit="img") as bar:
            if todo:
                for rows in runner.run(todo):
                    writer.add(rows)
                    frames = sum(r["source"] in videos and r["frame"] >= 0 for r in rows)
                    summary.frames += frames
                    summary.images += sum(r["source"] not in videos for r in rows)
                    summary.rows += len(rows)
                    summary.people += sum(len(r["scores"]) for r in rows)
                    summary.errors += sum(r["error"] is not None for r in rows)
                    ended = [r["source"] for r in rows if r["frame"] == VIDEO_ENDED]
                    summary.ended_early += len(ended)
                    summary.missing.extend(ended)
                    bar.update(len(rows))
        writer.flush()
    except BaseException:
        try:  # the rows already received are whole: keep them for --resume (Ctrl-C, a lost cluster)
            writer.flush()
        except Exception:
            pass  # the error that stopped the job is the one to report
        raise
    finally:
        runner.close()
        summary.workers = runner.workers
    summary.seconds = time.perf_counter() - t0
    summary.write_seconds = writer.seconds
    predictor = getattr(runner, "predictor", None)
    if predictor is not None:
        summary.stage_seconds = {s: round(predictor.seconds[s], 3) for s in STAGES}
    summary.output = str(folder.finish())
    folder.write_summary(summary.to_dict())
    return summary


def run(sources: Sequence[PathLike], out: PathLike, model: Optional[PathLike] = None, **options: Any) -> Path:
    """Pose estimation over image folders, globs, ``.txt`` lists and videos; returns the output path.

    Args:
        sources: see :mod:`yolopose.batch.sources`.
        out: the output folder (``parquet``/``jsonl`` parts; ``coco`` also ``poses_coco.json``,
            which is then the returned path).
        model: a model file; ``None`` for the bundled model.
        format: ``"parquet"`` (default), ``"jsonl"`` or ``"coco"``.
        executor: ``"ray"`` (default; Ray Data, extra ``yolopose[ray]``) or ``"local"`` (this process):
            who runs the workers (:mod:`yolopose.batch.executors`).
        every: keep one video frame in ``every``.
        resume: skip inputs written by an earlier run into ``out``. overwrite: delete its parts first.
        actors: Ray actors (default: one per ``threads_per_actor`` CPUs of the cluster).
        threads_per_actor: engine threads (and CPUs reserved) per actor.
        batch_size: work items per actor call. address: an existing Ray cluster (``"auto"``,
            ``"ray://host:port"``); default a local Ray runtime sized to this machine.
        backend, device: as for :class:`~yolopose.PoseEstimator`.
        postprocess: how candidates become detections (default: ``PostprocessSettings()``, the
            estimator's defaults).
        infer_batch: images per engine call (1: results bit-identical to ``PoseEstimator.predict``).
        rows_per_part, flush_seconds: a part file is written every so many rows or seconds.
        progress: show a progress bar with images/s on stderr.

    Every input gives rows (one per image, one per sampled frame): unreadable ones get an error
    row (``error`` column), and the job goes on. A video that ends before the frame count its
    header announces gets a row at frame -2 and is counted in ``BatchSummary.ended_early`` (the
    CLI then exits with code 1). The summary is in ``out/summary.json``.
    """
    return Path(execute(sources, out, model, **options).output)
