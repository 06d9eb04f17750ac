"""Where a model's keypoints go wrong: the error of each keypoint on the people it finds.

COCO AP says how good the poses are; this says which keypoints cost it. Every ground-truth person
(not crowd, with labelled keypoints) is matched to a detection as COCO matches boxes (detections
by falling score, each to the unmatched person it overlaps most, box IoU >= ``iou``), among the
detections a user would see (score >= ``score``). For each labelled keypoint of a matched person:
the distance to the prediction relative to the person's size (``sqrt(area)``, COCO's OKS scale),
whether its own OKS term (``exp(-d^2 / (2 area (2 sigma)^2))``) reaches 0.5, and whether it is
*far off*: more than a quarter of the person's size away, a wrong place rather than an imprecise
one (a dead output channel, say), and, for keypoints with a mirror twin (COCO's left/right), whether
it is *swapped*: far off its own truth but within that distance of its twin's::

    from yolopose.core.evaluation import keypoint_errors
    report = keypoint_errors("person_keypoints_val.json", result.detections)
    print(report.table())
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from ..keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, oks_sigmas
from ..oks import oks_terms
from ..ops.nms import box_iou
from .coco import GroundTruth, _num_keypoints, load_ground_truth

__all__ = ["FAR_OFF", "LARGE_AREA", "KeypointError", "KeypointErrors", "keypoint_errors"]

#: an error above this fraction of the person's size counts as "far off"
FAR_OFF = 0.25
#: COCO's "large" people: area >= 96^2 pixels
LARGE_AREA = 96.0 ** 2


@dataclass(frozen=True)
class KeypointError:
    """One keypoint's errors over the matched people where it is labelled (``nan`` when none)."""

    name: str
    count: int  # labelled keypoints of matched people
    median: float  # median distance / person size
    p90: float  # 90th percentile of distance / person size
    hit: float  # share whose own OKS term is >= 0.5
    far: float  # share more than FAR_OFF of the person's size away
    far_large: float  # the same among large people (area >= 96^2)
    count_large: int
    swapped: float  # share far off its own truth and near its mirror twin's (nan without a twin)


@dataclass(frozen=True)
class KeypointErrors:
    """The per-keypoint errors and how many people they come from."""

    keypoints: List[KeypointError]
    people: int  # ground-truth people with labelled keypoints
    matched: int  # of them, matched to a detection
    score: float
    iou: float

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready (``nan`` as ``None``)."""
        def clean(row: Dict[str, Any]) -> Dict[str, Any]:
            return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}

        return {"people": self.people, "matched": self.matched, "score": self.score, "iou": self.iou,
                "keypoints": [clean(asdict(k)) for k in self.keypoints]}

    def table(self) -> str:
        """A text table, one row per keypoint (errors in % of the person's size)."""
        def pct(v: float) -> str:
            return "-" if np.isnan(v) else f"{100 * v:.1f}"

        lines = [f"keypoint errors on {self.matched} of {self.people} people matched at score >= {self.score:g}, "
                 f"box IoU >= {self.iou:g} (% of the person's size, sqrt(area); far: > {100 * FAR_OFF:.0f}%)",
                 f"{'keypoint':<16}{'n':>7}{'median':>8}{'p90':>8}{'OKS>=.5':>9}{'far':>7}{'swapped':>9}"
                 f"{'far (large people)':>20}"]
        for k in self.keypoints:
            large = f"{pct(k.far_large)} of {k.count_large}"
            lines.append(f"{k.name:<16}{k.count:>7}{pct(k.median):>8}{pct(k.p90):>8}{pct(k.hit):>9}{pct(k.far):>7}"
                         f"{pct(k.swapped):>9}{large:>20}")
        return "\n".join(lines)


def _keypoint_names(gt: Mapping[str, Any], num: int) -> Sequence[str]:
    for cat in gt["categories"]:
        if isinstance(cat, dict) and len(cat.get("keypoints") or ()) == num:
            return [str(n) for n in cat["keypoints"]]
    return COCO_KEYPOINT_NAMES if num == len(COCO_KEYPOINT_NAMES) else [f"kpt{i}" for i in range(num)]


def _xyxy(items: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The COCO ``bbox`` (xywh) of each item as an ``(N, 4)`` xyxy array."""
    boxes = np.asarray([item["bbox"] for item in items], dtype=np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def _matches(people: List[Mapping[str, Any]], dets: List[Mapping[str, Any]], iou: float):
    """(person, detection) pairs: detections by falling score, each to the free person it overlaps most."""
    if not people or not dets:
        return []
    dets = sorted(dets, key=lambda d: -float(d["score"]))
    overlaps = np.nan_to_num(box_iou(_xyxy(dets), _xyxy(people)), nan=0.0)  # NaN: empty boxes
    free = np.ones(len(people), dtype=bool)
    pairs = []
    for det, row in zip(dets, overlaps):
        overlap = np.where(free, row, -1.0)
        best = int(np.argmax(overlap))
        if overlap[best] >= iou:
            free[best] = False
            pairs.append((people[best], det))
    return pairs


def keypoint_errors(ground_truth: GroundTruth, detections: Sequence[Mapping[str, Any]], score: float = 0.25,
                    iou: float = 0.5) -> KeypointErrors:
    """Per-keypoint errors of ``detections`` (COCO results, as :func:`yolopose.evaluate.evaluate_model`
    returns them) against ``ground_truth`` (a COCO keypoint JSON path or dict)."""
    gt = load_ground_truth(ground_truth)
    people_by_image: Dict[Any, List[Mapping[str, Any]]] = {}
    for ann in gt["annotations"]:
        if not ann.get("iscrowd") and ann.get("keypoints") and ann.get("num_keypoints", 0) > 0:
            people_by_image.setdefault(ann["image_id"], []).append(ann)
    dets_by_image: Dict[Any, List[Mapping[str, Any]]] = {}
    for det in detections:
        if float(det["score"]) >= score:
            dets_by_image.setdefault(det["image_id"], []).append(det)
    pairs = [pair for image, people in people_by_image.items()
             for pair in _matches(people, dets_by_image.get(image, []), iou)]
    num = _num_keypoints(gt)
    sigmas = np.asarray(oks_sigmas(num), dtype=np.float64)
    truth = np.asarray([p["keypoints"] for p, _ in pairs], dtype=np.float64).reshape(-1, num, 3)
    pred = np.asarray([d["keypoints"] for _, d in pairs], dtype=np.float64).reshape(-1, num, 3)
    area = np.asarray([float(p["area"]) for p, _ in pairs], dtype=np.float64).reshape(-1, 1)
    dist2 = ((pred[..., :2] - truth[..., :2]) ** 2).sum(-1)
    rel = np.sqrt(dist2 / np.maximum(area, 1e-9))
    flip = COCO_FLIP_INDEX if num == len(COCO_FLIP_INDEX) else tuple(range(num))
    twin_rel = np.sqrt(((pred[..., :2] - truth[:, flip, :2]) ** 2).sum(-1) / np.maximum(area, 1e-9))
    swapped = (rel > FAR_OFF) & (twin_rel <= FAR_OFF) & (truth[:, flip, 2] > 0)
    oks = oks_terms(dist2, np.maximum(area, 1e-9), sigmas)
    labelled = truth[..., 2] > 0
    large = labelled & (area >= LARGE_AREA)
    rows = []
    for k, name in enumerate(_keypoint_names(gt, num)):
        r, o, rl = rel[labelled[:, k], k], oks[labelled[:, k], k], rel[large[:, k], k]
        some = r.size > 0
        has_twin = some and flip[k] != k
        rows.append(KeypointError(
            name=name, count=int(r.size),
            median=float(np.median(r)) if some else float("nan"),
            p90=float(np.percentile(r, 90)) if some else float("nan"),
            hit=float((o >= 0.5).mean()) if some else float("nan"),
            far=float((r > FAR_OFF).mean()) if some else float("nan"),
            far_large=float((rl > FAR_OFF).mean()) if rl.size else float("nan"),
            count_large=int(rl.size),
            swapped=float(swapped[labelled[:, k], k].mean()) if has_twin else float("nan"),
        ))
    people = sum(len(p) for p in people_by_image.values())
    return KeypointErrors(keypoints=rows, people=people, matched=len(pairs), score=score, iou=iou)
