"""COCO keypoint (OKS) and box evaluation of pose results: one implementation for training and SDK.

``evaluate(ground_truth, results)`` takes a COCO keypoint ground truth (a JSON file path or the
loaded dict) and a list of COCO result dicts::

    {"image_id": 1, "category_id": 1, "bbox": [x, y, w, h], "score": 0.9,
     "keypoints": [x1, y1, c1, x2, y2, c2, ...]}

and returns the summary metrics as a flat dict: ``AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm,
ARl`` (keypoints, OKS) and ``box_AP, box_AP50, box_AP75, box_APs, box_APm, box_APl, box_AR1,
box_AR10, box_AR100, box_ARs, box_ARm, box_ARl``. A value of ``-1`` means "no ground truth in that
range", as in pycocotools.

``evaluate_per_image`` matches the results image by image once and returns an
:class:`ImageEvaluation` whose ``metrics(images)`` accumulates any selection of the images, repeats
allowed: a bootstrap resample costs an accumulation, not a new evaluation.

Two backends compute the same numbers: ``"pycocotools"`` (the reference; ``pip install
"yolopose[eval]"``) and ``"numpy"`` (a port of its algorithm, for installs without it).
``backend="auto"`` picks pycocotools when it is installed.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import BackendNotAvailableError, ConfigError, DatasetError
from ..keypoints import COCO_OKS_SIGMAS, oks_sigmas
from ._numpy_cocoeval import BBOX_PARAMS, KEYPOINT_PARAMS, EvalParams, evaluate_images, summary_stats
from .annotations import check_coco, raise_problems

__all__ = [
    "KEYPOINT_METRICS",
    "BOX_METRICS",
    "IOU_TYPES",
    "ImageEvaluation",
    "available_backends",
    "evaluate",
    "evaluate_per_image",
    "format_metrics",
    "load_ground_truth",
]

KEYPOINT_METRICS: Tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
BOX_METRICS: Tuple[str, ...] = (
    "box_AP", "box_AP50", "box_AP75", "box_APs", "box_APm", "box_APl",
    "box_AR1", "box_AR10", "box_AR100", "box_ARs", "box_ARm", "box_ARl",
)
#: iou type -> (metric names in pycocotools' ``stats`` order, numpy parameters)
_IOU_TYPES: Dict[str, Tuple[Tuple[str, ...], EvalParams]] = {
    "keypoints": (KEYPOINT_METRICS, KEYPOINT_PARAMS),
    "bbox": (BOX_METRICS, BBOX_PARAMS),
}
IOU_TYPES: Tuple[str, ...] = tuple(_IOU_TYPES)

GroundTruth = Union[str, Path, Mapping[str, Any]]
Results = Sequence[Mapping[str, Any]]


# ---------------------------------------------------------------------------------- input checks
def load_ground_truth(source: GroundTruth) -> Dict[str, Any]:
    """Load and check a COCO ground truth (path or dict) -> a normalised deep copy.

    Missing ``area`` is taken as the box area and missing ``num_keypoints`` counted from the
    visibility flags. Every image, annotation and category is checked (types, finite numbers,
    ids that exist, keypoint counts: :mod:`yolopose.core.evaluation.annotations`); anything malformed raises
    :class:`~yolopose.core.errors.DatasetError` naming the file, the record and the field, and no record
    is ever dropped silently.
    """
    name = str(source) if isinstance(source, (str, Path)) else "<ground truth dict>"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DatasetError(f"{path}: COCO ground truth file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DatasetError(f"{path}: not a readable COCO JSON file ({type(exc).__name__}: {exc})") from None
    else:
        data = copy.deepcopy(dict(source))
    if not isinstance(data, dict):
        raise DatasetError(f"{name}: COCO ground truth must be a JSON object")
    check = check_coco(data, name)
    raise_problems(check)  # a metric without some records would be another metric: refuse, naming them
    data = check.data(data)
    for i, ann in enumerate(data["annotations"]):
        bbox = ann["bbox"]
        ann.setdefault("iscrowd", 0)
        ann.setdefault("area", float(bbox[2]) * float(bbox[3]))
        kpts = ann.get("keypoints")
        if kpts is not None:
            ann.setdefault("num_keypoints", int(np.count_nonzero(np.asarray(kpts[2::3], dtype=float) > 0)))
        ann.setdefault("id", i + 1)
    return data


def _num_keypoints(gt: Mapping[str, Any]) -> int:
    for ann in gt["annotations"]:
        if ann.get("keypoints") is not None:
            return len(ann["keypoints"]) // 3
    for cat in gt["categories"]:
        if cat.get("keypoints"):
            return len(cat["keypoints"])
    return len(COCO_OKS_SIGMAS)


def _check_results(results: Results, gt: Mapping[str, Any], iou_types: Sequence[str], num_values: int) -> List[Dict[str, Any]]:
    image_ids = {img["id"] for img in gt["images"]}
    out = []
    for i, res in enumerate(results):
        if not isinstance(res, Mapping):
            raise ConfigError(f"result #{i} is not a dict")
        for key in ("image_id", "category_id", "score"):
            if key not in res:
                raise ConfigError(f"result #{i} lacks {key!r}")
        if res["image_id"] not in image_ids:
            raise ConfigError(f"result #{i} refers to image_id {res['image_id']!r}, which is not in the ground truth")
        if "keypoints" in iou_types and len(res.get("keypoints", ())) != num_values:
            raise ConfigError(f"result #{i} has {len(res.get('keypoints', ()))} keypoint values, expected {num_values}")
        if "bbox" in iou_types and ("bbox" not in res and "keypoints" not in res):
            raise ConfigError(f"result #{i} has neither 'bbox' nor 'keypoints'")
        out.append(dict(res))
    return out


def _with_result_areas(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Areas and boxes of detections as ``COCO.loadRes`` sets them.

    Like pycocotools, the first result decides: with a ``bbox`` every area is the box area;
    otherwise box and area come from the keypoints' extent.
    """
    if not results:
        return results
    use_box = "bbox" in results[0] and len(results[0]["bbox"]) > 0
    for i, res in enumerate(results):
        res["id"] = i + 1
        res["iscrowd"] = 0
        if use_box:
            bb = res["bbox"]
            res["area"] = bb[2] * bb[3]
        else:
            s = res["keypoints"]
            x, y = s[0::3], s[1::3]
            x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
            res["area"] = (x1 - x0) * (y1 - y0)
            res["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    return results


# ---------------------------------------------------------------------------------- backends
#: A backend matches one result set image by image and returns ``stats(positions)``: pycocotools'
#: ``COCOeval.stats`` over the images at those positions of the sorted image ids (repeats allowed).
StatsOf = Callable[[Sequence[int]], np.ndarray]


def _numpy_backend(gt: Dict[str, Any], results: List[Dict[str, Any]], iou_type: str, sigmas: np.ndarray) -> StatsOf:
    params = _IOU_TYPES[iou_type][1]
    dts = _with_result_areas([dict(r) for r in results])
    images = [img["id"] for img in gt["images"]]
    cats = [c["id"] for c in gt["categories"]]
    evals = evaluate_images(images, cats, gt["annotations"], dts, params, sigmas)

    def stats(positions: Sequence[int]) -> np.ndarray:
        return summary_stats([[[per_area[i] for i in positions] for per_area in per_cat] for per_cat in evals], params)

    return stats


def _pycocotools_backend(gt: Dict[str, Any], results: List[Dict[str, Any]], iou_type: str, sigmas: np.ndarray) -> StatsOf:
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise BackendNotAvailableError(
            'COCO evaluation with backend "pycocotools" needs pycocotools: pip install "yolopose[eval]"'
        ) from None
    if not results:  # pycocotools cannot load an empty result list; the answer is known
        return _numpy_backend(gt, results, iou_type, sigmas)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(r) for r in results])
        evaluator = COCOeval(coco_gt, coco_dt, iou_type)
        if iou_type == "keypoints":
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.evaluate()
    # evalImgs is laid out [category][area range][image] over the evaluated (sorted) image ids
    per_image = evaluator.evalImgs
    n_images, n_areas = len(evaluator._paramsEval.imgIds), len(evaluator._paramsEval.areaRng)
    n_cats = len(evaluator._paramsEval.catIds) if evaluator._paramsEval.useCats else 1

    def stats(positions: Sequence[int]) -> np.ndarray:
        ev = copy.copy(evaluator)
        ev.params, ev._paramsEval = copy.copy(evaluator.params), copy.copy(evaluator._paramsEval)
        ev.params.imgIds = ev._paramsEval.imgIds = list(range(len(positions)))
        ev.evalImgs = [per_image[(k * n_areas + a) * n_images + i]
                       for k in range(n_cats) for a in range(n_areas) for i in positions]
        with contextlib.redirect_stdout(io.StringIO()):
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)

    return stats


_BACKENDS: Dict[str, Callable[[Dict[str, Any], List[Dict[str, Any]], str, np.ndarray], StatsOf]] = {
    "numpy": _numpy_backend,
    "pycocotools": _pycocotools_backend,
}


def available_backends() -> Tuple[str, ...]:
    """Backends usable in this environment (``numpy`` always)."""
    names = ["numpy"]
    try:
        import pycocotools.cocoeval  # noqa: F401
    except ImportError:
        return tuple(names)
    return ("pycocotools", *names)


# ---------------------------------------------------------------------------------- public API
class ImageEvaluation:
    """One result set matched against a ground truth once, image by image (COCO's evaluate step).

    ``image_ids``: the evaluated images, sorted. :meth:`metrics` accumulates the images at the
    given positions of ``image_ids`` (repeats allowed, e.g. a bootstrap resample), or all of them.
    """

    def __init__(self, image_ids: Sequence[Any], parts: Sequence[Tuple[Tuple[str, ...], StatsOf]]) -> None:
        self.image_ids = tuple(image_ids)
        self._parts = list(parts)

    def metrics(self, images: Optional[Sequence[int]] = None) -> Dict[str, float]:
        """The metrics (names as :func:`evaluate` returns them) of the images at positions
        ``images`` of :attr:`image_ids` (default: every image once)."""
        positions = range(len(self.image_ids)) if images is None else images
        out: Dict[str, float] = {}
        for names, stats in self._parts:
            out.update({n: float(v) for n, v in zip(names, stats(positions))})
        return out


def evaluate_per_image(
    ground_truth: GroundTruth,
    results: Results,
    iou_types: Sequence[str] = IOU_TYPES,
    backend: str = "auto",
    sigmas: Optional[Sequence[float]] = None,
) -> ImageEvaluation:
    """Match ``results`` against ``ground_truth`` image by image once (arguments as for
    :func:`evaluate`); the returned :class:`ImageEvaluation` gives the metrics of any selection
    of the images without matching again."""
    unknown = [t for t in iou_types if t not in _IOU_TYPES]
    if unknown or not iou_types:
        raise ConfigError(f"iou_types {list(iou_types)!r}: choose from {list(_IOU_TYPES)}")
    if backend == "auto":
        backend = available_backends()[0]
    if backend not in _BACKENDS:
        raise ConfigError(f"unknown COCO evaluation backend {backend!r}; choose from auto, {', '.join(_BACKENDS)}")
    gt = load_ground_truth(ground_truth)
    k = _num_keypoints(gt)
    sig = np.asarray(oks_sigmas(k) if sigmas is None else sigmas, dtype=np.float64)
    if "keypoints" in iou_types and len(sig) != k:
        raise ConfigError(f"{len(sig)} OKS sigmas for {k} keypoints")
    if "keypoints" in iou_types:
        missing = [a.get("id") for a in gt["annotations"] if a.get("keypoints") is None]
        if missing:
            raise DatasetError(f"{ground_truth if isinstance(ground_truth, (str, Path)) else '<ground truth dict>'}: "
                               f"annotation id {missing[0]!r} has no 'keypoints' (keypoint evaluation needs them)")
    checked = _check_results(results, gt, iou_types, 3 * k)
    parts = [(_IOU_TYPES[t][0], _BACKENDS[backend](gt, checked, t, sig)) for t in iou_types]
    return ImageEvaluation(sorted({img["id"] for img in gt["images"]}), parts)


def evaluate(
    ground_truth: GroundTruth,
    results: Results,
    iou_types: Sequence[str] = IOU_TYPES,
    backend: str = "auto",
    sigmas: Optional[Sequence[float]] = None,
) -> Dict[str, float]:
    """COCO metrics of ``results`` against ``ground_truth`` (see the module docstring).

    ``iou_types``: any of ``"keypoints"`` (OKS; metrics without prefix) and ``"bbox"`` (``box_``
    prefix). ``sigmas``: per-keypoint OKS sigmas (default: :func:`yolopose.core.keypoints.oks_sigmas`
    of the ground truth's keypoint count). ``backend``: ``"auto"``, ``"pycocotools"`` or ``"numpy"``.
    """
    return evaluate_per_image(ground_truth, results, iou_types, backend, sigmas).metrics()


def format_metrics(metrics: Mapping[str, float], title: str = "") -> str:
    """A small aligned text table of the metrics present (keypoint row, then box row)."""
    lines = [title] if title else []
    for label, names in (("keypoints", KEYPOINT_METRICS), ("box", BOX_METRICS)):
        present = [n for n in names if n in metrics]
        if not present:
            continue
        heads = [n.replace("box_", "") for n in present]
        width = max(6, *(len(h) for h in heads))
        lines.append(f"{'':10s}" + "".join(f"{h:>{width + 1}s}" for h in heads))
        lines.append(f"{label:10s}" + "".join(f"{metrics[n]:>{width + 1}.3f}" for n in present))
    return "\n".join(lines)
