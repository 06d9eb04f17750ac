"""COCO detections for ``yolopose eval --engine local|ray``: the images of a labelled set run
through a batch engine instead of a loop over ``PoseEstimator.predict``.

Workers run the same estimator code with one image per engine call, and rows carry the poses as
exact float32, so the detections, and therefore the metrics, are identical to the in-process eval.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..core.errors import DatasetError
from .engines import get_engine
from .predictor import PredictorConfig
from .rows import row_poses
from .sources import WorkItem

__all__ = ["engine_config", "predict_coco_engine"]


def predict_coco_engine(
    config: PredictorConfig,
    entries: Sequence[Mapping[str, Any]],
    category_id: int = 1,
    engine: str = "ray",
    progress: bool = False,
    **engine_options: Any,
) -> List[Dict[str, Any]]:
    """COCO results for ``entries`` (``{"id", "path"}``, see :func:`yolopose.evaluate.coco_image_entries`)
    in entry order. An image that fails is an error, as in the in-process eval."""
    from .._progress import progress_bar

    ids = {os.path.abspath(e["path"]): e["id"] for e in entries}
    items = [WorkItem(path, "image") for path in ids]
    runner = get_engine(engine, PredictorConfig(**{**config.to_dict(), "infer_batch": 1}), **engine_options)
    by_id: Dict[Any, List[Dict[str, Any]]] = {}
    try:
        with progress_bar(len(items), desc=f"eval ({engine})", enabled=progress, unit="img") as bar:
            for rows in runner.run(items):
                for row in rows:
                    if row["error"] is not None:
                        raise DatasetError(row["error"])
                    image_id = ids[row["source"]]
                    by_id[image_id] = row_poses(row).to_coco(image_id, category_id)
                bar.update(len(rows))
    finally:
        runner.close()
    missing = [i for i in ids.values() if i not in by_id]
    if missing:
        raise DatasetError(f"the {engine} engine returned no result for {len(missing)} images (first: id {missing[0]})")
    return [det for e in entries for det in by_id[e["id"]]]


def engine_config(model: Optional[str], backend: str, device: Optional[str], conf: float, iou: float,
                  threads: Optional[int] = None) -> PredictorConfig:
    """The workers' estimator settings for an eval run."""
    return PredictorConfig(model=model, backend=backend, device=device or "cpu", conf=conf, iou=iou, threads=threads)
