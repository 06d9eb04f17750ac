"""Batch inference over image and video archives, in this process or on Ray Data.

    import yolopose.batch
    out = yolopose.batch.run(["archive/", "cams/*.mp4"], "poses/", every=5)   # Ray, local runtime
    rows = yolopose.batch.read_rows(out)                                       # list of dicts

``executor="local"`` runs the same pipeline without Ray (the reference the Ray executor is tested
against); ``address="ray://head:10001"`` runs it on a cluster. :func:`pose_dataset` gives the lazy
Ray ``Dataset`` of pose rows for work that continues in Ray. Rows: :mod:`yolopose.batch.rows`.
Ray (``pip install "yolopose[ray]"``) is imported only when the Ray executor runs.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .job import BatchSummary, execute, run
from .output import FORMATS, read_rows
from .predictor import BatchPredictor, PredictorConfig
from .rows import COLUMNS, row_poses
from .sources import WorkItem, expand_sources

__all__ = [
    "COLUMNS",
    "FORMATS",
    "BatchPredictor",
    "BatchSummary",
    "PredictorConfig",
    "WorkItem",
    "execute",
    "expand_sources",
    "pose_dataset",
    "read_rows",
    "row_poses",
    "run",
]


def pose_dataset(
    sources: Sequence[str],
    model: Optional[str] = None,
    *,
    every: int = 1,
    actors: Optional[int] = None,
    threads_per_actor: int = 1,
    batch_size: int = 16,
    **estimator_options: Any,
) -> Any:
    """A lazy Ray ``Dataset`` with one pose row per image / sampled video frame of ``sources``.

    ``estimator_options``: any :class:`PredictorConfig` field (``backend``, ``device``,
    ``postprocess``, ``infer_batch``...).
    Nothing runs until the dataset is consumed (``ds.write_parquet(...)``, ``ds.iter_rows()``...).
    """
    from . import executors

    config = PredictorConfig(model=model, every=every, **estimator_options)
    return executors.pose_dataset(expand_sources(sources), config, actors, threads_per_actor, batch_size)
