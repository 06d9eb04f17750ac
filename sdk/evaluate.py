"""COCO accuracy of any model artifact through the SDK: predict every image, then score.

    from yolopose.evaluate import evaluate_model
    result = evaluate_model("s6.onnx", "person_keypoints_val2017.json", "val2017/")
    print(result.metrics["AP"], result.metrics["box_AP"])

Detections are produced by :class:`yolopose.PoseEstimator` (the deployed pre/postprocessing, at
:data:`~yolopose.core.ops.select.EVAL_POSTPROCESS` by default, the paper's evaluation settings) and scored with
:func:`yolopose.core.evaluation.evaluate`, the same function the training validator uses, so identical
detections give identical numbers. Results are built by :meth:`yolopose.Poses.to_coco`, which
writes exactly what the validator writes for the same detections (boxes and keypoints rounded to
3 decimals, scores to 5).
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .core import evaluation
from .core.ops.select import EVAL_POSTPROCESS, PostprocessSettings
from .core.errors import BackendNotAvailableError, ConfigError, DatasetError
from .core.fileio import atomic_write_text

__all__ = [
    "EvalResult",
    "coco_image_entries",
    "evaluate_model",
    "person_category_id",
    "predict_coco",
    "predict_coco_with_executor",
    "write_results_json",
]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class EvalResult:
    """Metrics (see :mod:`yolopose.core.evaluation` for the names), the detections and what was run."""

    metrics: Dict[str, float]
    detections: List[Dict[str, Any]]
    num_images: int
    seconds: float
    settings: Dict[str, Any] = field(default_factory=dict)
    #: the COCO keypoint ground truth the metrics were computed against, as loaded (not in ``to_dict``),
    #: so follow-up analyses such as :func:`yolopose.core.evaluation.keypoint_errors` need not read it again
    ground_truth: Optional[Dict[str, Any]] = field(default=None, repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready summary (without the detections)."""
        return {
            "metrics": dict(self.metrics),
            "num_images": self.num_images,
            "num_detections": len(self.detections),
            "seconds": round(self.seconds, 3),
            "settings": dict(self.settings),
        }


def person_category_id(gt: Mapping[str, Any]) -> int:
    """The id of the keypoint category of a COCO ground truth (``person``, id 1 in COCO)."""
    cats = gt.get("categories") or []
    for cat in cats:
        if cat.get("keypoints"):
            return int(cat["id"])
    for cat in cats:
        if cat.get("name") == "person":
            return int(cat["id"])
    return int(cats[0]["id"]) if cats else 1


def coco_image_entries(gt: Mapping[str, Any], images_dir: PathLike, source: str = "<ground truth>",
                       allow_outside: bool = False) -> List[Dict[str, Any]]:
    """``[{"id", "path"}]`` for every image of ``gt``, checking that each file exists in ``images_dir``.

    A ``file_name`` that is absolute or leaves ``images_dir`` with ``..`` is refused unless
    ``allow_outside`` (:func:`yolopose.core.evaluation.image_path`)."""
    from .core.evaluation import image_path

    folder = Path(images_dir)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder not found")
    out = []
    missing = []
    for i, img in enumerate(gt.get("images") or []):
        if not isinstance(img, Mapping) or "id" not in img or not img.get("file_name"):
            raise DatasetError(f"{source}: image entry #{i} lacks 'id' or 'file_name'")
        path = image_path(folder, str(img["file_name"]), f"{source}: images[{i}] (id {img['id']!r})", allow_outside)
        if not path.is_file():
            missing.append(str(path))
            continue
        out.append({"id": img["id"], "path": path})
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetError(f"{source}: image file {missing[0]} not found{more}; is --images the right folder?")
    if not out:
        raise DatasetError(f"{source}: the ground truth lists no images")
    return out


def predict_coco(
    estimator: Any,
    entries: Sequence[Mapping[str, Any]],
    category_id: int = 1,
    progress: bool = False,
    on_image: Optional[Callable[[int], None]] = None,
) -> List[Dict[str, Any]]:
    """Run ``estimator.predict`` on every entry of :func:`coco_image_entries`; return COCO results."""
    from ._progress import progress_bar

    results: List[Dict[str, Any]] = []
    with progress_bar(len(entries), desc="eval", enabled=progress, unit="img") as bar:
        for n, entry in enumerate(entries):
            poses = estimator.predict(entry["path"])
            results.extend(poses.to_coco(entry["id"], category_id))
            bar.update(1)
            if on_image is not None:
                on_image(n)
    return results


def write_results_json(path: PathLike, results: Sequence[Mapping[str, Any]]) -> Path:
    """Write COCO results atomically (a JSON list, one detection per line)."""
    body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in results)
    return atomic_write_text(path, "[\n" + body + "\n]\n" if results else "[]\n")


def _check_metrics_backend(name: str) -> None:
    if name == "auto":
        return
    if name not in evaluation.available_backends():
        if name == "pycocotools":
            raise BackendNotAvailableError(
                'COCO evaluation needs pycocotools: pip install "yolopose[eval]" (or use the numpy port: '
                "metrics_backend='numpy', --metrics-backend numpy)"
            )
        raise ConfigError(f"unknown COCO metrics backend {name!r}; choose from auto, pycocotools, numpy")


def _settings(model: str, data: PathLike, images: PathLike, backend: str, postprocess: PostprocessSettings,
              metrics_backend: str, **extra: Any) -> Dict[str, Any]:
    """What an :class:`EvalResult` records of how it was made (``extra``: e.g. the engine)."""
    return {
        "model": model,
        "data": str(data),
        "images": str(images),
        "backend": backend,
        **extra,
        **postprocess.to_dict(),
        "metrics_backend": metrics_backend if metrics_backend != "auto" else evaluation.available_backends()[0],
    }


def evaluate_model(
    model: Any,
    data: PathLike,
    images: PathLike,
    backend: str = "auto",
    device: Optional[str] = None,
    postprocess: PostprocessSettings = EVAL_POSTPROCESS,
    metrics_backend: str = "pycocotools",
    progress: bool = False,
    results_json: Optional[PathLike] = None,
    estimator_kwargs: Optional[Mapping[str, Any]] = None,
    executor: str = "process",
    executor_options: Optional[Mapping[str, Any]] = None,
    allow_outside_images: bool = False,
) -> EvalResult:
    """Evaluate a model (path, or a ready :class:`~yolopose.PoseEstimator`) on a COCO keypoint set.

    ``data`` is the COCO keypoint JSON, ``images`` the folder of its ``file_name`` entries.
    ``postprocess``: how candidates become detections (the paper's evaluation settings by default:
    every candidate down to score 0.001, NMS IoU 0.65).
    ``metrics_backend`` is checked before any image is run, so a missing pycocotools fails at once.
    The detections are written to ``results_json`` (COCO results format) when given.
    ``executor``: ``"process"`` (a loop in this process), or a batch executor
    (:mod:`yolopose.batch.executors`: ``"ray"``, ``"local"``; a model path only) with
    ``executor_options`` such as ``actors``, ``address``; the detections and metrics are identical.
    ``allow_outside_images``: read images whose ``file_name`` is absolute or leaves ``images``
    (refused by default). A malformed ground truth is a :class:`~yolopose.core.errors.DatasetError`
    naming the file, the record and the field (nothing is dropped silently).
    """
    if executor != "process" and not isinstance(model, (str, Path)):
        raise ConfigError(f"eval with executor={executor!r} needs a model path: each worker loads its own copy")
    _check_metrics_backend(metrics_backend)
    gt = evaluation.load_ground_truth(data)
    entries = coco_image_entries(gt, images, source=str(data), allow_outside=allow_outside_images)
    category = person_category_id(gt)
    extra: Dict[str, Any] = {}
    t0 = time.perf_counter()
    if executor == "process":
        estimator = _estimator(model, backend, device, postprocess, estimator_kwargs)
        model_name = str(model) if isinstance(model, (str, Path)) else type(model).__name__
        backend = str(getattr(estimator, "backend", backend))
        detections = predict_coco(estimator, entries, category_id=category, progress=progress)
    else:
        from .batch.predictor import PredictorConfig

        model_name, extra["executor"] = str(model), executor
        config = PredictorConfig(model=model_name, backend=backend, device=device or "cpu", postprocess=postprocess)
        detections = predict_coco_with_executor(config, entries, category, executor, progress, **dict(executor_options or {}))
    seconds = time.perf_counter() - t0
    if results_json is not None:
        write_results_json(results_json, detections)
    metrics = evaluation.evaluate(gt, detections, backend=metrics_backend)
    settings = _settings(model_name, data, images, backend, postprocess, metrics_backend, **extra)
    return EvalResult(metrics=metrics, detections=detections, num_images=len(entries), seconds=seconds, settings=settings,
                      ground_truth=gt)


def _estimator(model: Any, backend: str, device: Optional[str], postprocess: PostprocessSettings,
               estimator_kwargs: Optional[Mapping[str, Any]]) -> Any:
    """The estimator an in-process evaluation runs: ``model`` itself when it is one."""
    if not isinstance(model, (str, Path)):
        return model
    from .estimator import PoseEstimator

    kwargs: Dict[str, Any] = dict(estimator_kwargs or {})
    if device is not None:
        kwargs["device"] = device
    return PoseEstimator(model, backend=backend, postprocess=postprocess, **kwargs)


def predict_coco_with_executor(
    config: Any,
    entries: Sequence[Mapping[str, Any]],
    category_id: int = 1,
    executor: str = "ray",
    progress: bool = False,
    **executor_options: Any,
) -> List[Dict[str, Any]]:
    """COCO results for ``entries`` (:func:`coco_image_entries`) in entry order, the images run
    by a batch executor (``config``: the workers' :class:`~yolopose.batch.PredictorConfig`).

    Workers run the same estimator code with one image per engine call, and rows carry the poses as
    exact float32, so the detections, and therefore the metrics, equal :func:`predict_coco`'s. An
    image that fails is an error, as in the in-process eval."""
    from ._progress import progress_bar
    from .batch.executors import get_executor
    from .batch.rows import row_poses
    from .batch.sources import WorkItem

    ids = {os.path.abspath(e["path"]): e["id"] for e in entries}
    items = [WorkItem(path, "image") for path in ids]
    runner = get_executor(executor, dataclasses.replace(config, infer_batch=1), **executor_options)
    by_id: Dict[Any, List[Dict[str, Any]]] = {}
    try:
        with progress_bar(len(items), desc=f"eval ({executor})", enabled=progress, unit="img") as bar:
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
        raise DatasetError(f"the {executor} executor returned no result for {len(missing)} images (first: id {missing[0]})")
    return [det for e in entries for det in by_id[e["id"]]]
