"""COCO keypoint (OKS) and box (IoU) evaluation in numpy, the algorithm of pycocotools' COCOeval.

The steps and their order follow pycocotools exactly (matching greedy by score, crowd handling,
area ranges, 101-point interpolated precision), so that the numbers agree with it to floating
point. Per detection the matching is vectorized over IoU thresholds and ground truths.
Used by :mod:`yolopose.core.evaluation.coco`; not public.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..oks import oks_terms

__all__ = ["EvalParams", "KEYPOINT_PARAMS", "BBOX_PARAMS", "evaluate_images", "summary_stats"]

_EPS = np.spacing(1)
_IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
_REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True)
class EvalParams:
    """Area ranges (labelled) and detection caps of one COCO evaluation type."""

    iou_type: str
    area_ranges: Tuple[Tuple[float, float], ...]
    area_labels: Tuple[str, ...]
    max_dets: Tuple[int, ...]
    #: (is_ap, iou_threshold or None, area label, max_dets) for each summary number, in order.
    summary: Tuple[Tuple[bool, Optional[float], str, int], ...]


KEYPOINT_PARAMS = EvalParams(
    iou_type="keypoints",
    area_ranges=((0.0, 1e5**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2)),
    area_labels=("all", "medium", "large"),
    max_dets=(20,),
    summary=(
        (True, None, "all", 20), (True, 0.5, "all", 20), (True, 0.75, "all", 20),
        (True, None, "medium", 20), (True, None, "large", 20),
        (False, None, "all", 20), (False, 0.5, "all", 20), (False, 0.75, "all", 20),
        (False, None, "medium", 20), (False, None, "large", 20),
    ),
)

BBOX_PARAMS = EvalParams(
    iou_type="bbox",
    area_ranges=((0.0, 1e5**2), (0.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2)),
    area_labels=("all", "small", "medium", "large"),
    max_dets=(1, 10, 100),
    summary=(
        (True, None, "all", 100), (True, 0.5, "all", 100), (True, 0.75, "all", 100),
        (True, None, "small", 100), (True, None, "medium", 100), (True, None, "large", 100),
        (False, None, "all", 1), (False, None, "all", 10), (False, None, "all", 100),
        (False, None, "small", 100), (False, None, "medium", 100), (False, None, "large", 100),
    ),
)


@dataclass
class _Objects:
    """The ground truths or detections of one (image, category), as arrays."""

    bbox: np.ndarray  # (N, 4) xywh
    area: np.ndarray  # (N,)
    keypoints: np.ndarray  # (N, 3K)
    score: np.ndarray  # (N,) detections only
    crowd: np.ndarray  # (N,) bool, ground truths only
    ignore: np.ndarray  # (N,) bool, ground truths only

    def take(self, index: np.ndarray) -> "_Objects":
        return _Objects(*(getattr(self, f)[index] for f in ("bbox", "area", "keypoints", "score", "crowd", "ignore")))


def _as_objects(anns: List[Mapping[str, Any]], is_gt: bool, iou_type: str, num_values: int) -> _Objects:
    n = len(anns)
    bbox = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
    area = np.array([a["area"] for a in anns], dtype=np.float64).reshape(n)
    if iou_type == "keypoints":
        kpts = np.array([a["keypoints"] for a in anns], dtype=np.float64).reshape(n, num_values)
    else:
        kpts = np.zeros((n, 0))
    score = np.array([0.0 if is_gt else a["score"] for a in anns], dtype=np.float64).reshape(n)
    crowd = np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool).reshape(n)
    if is_gt:
        ignore = crowd.copy()
        if iou_type == "keypoints":
            ignore |= np.array([a["num_keypoints"] == 0 for a in anns], dtype=bool).reshape(n)
    else:
        ignore = np.zeros(n, dtype=bool)
    return _Objects(bbox, area, kpts, score, crowd, ignore)


def _box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes ``(D, 4)`` x ``(G, 4)``; for crowd ground truths the union is the detection."""
    da = dt[:, 2] * dt[:, 3]
    ga = gt[:, 2] * gt[:, 3]
    w = np.minimum(dt[:, None, 2] + dt[:, None, 0], gt[None, :, 2] + gt[None, :, 0]) - np.maximum(dt[:, None, 0], gt[None, :, 0])
    h = np.minimum(dt[:, None, 3] + dt[:, None, 1], gt[None, :, 3] + gt[None, :, 1]) - np.maximum(dt[:, None, 1], gt[None, :, 1])
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    union = np.where(crowd[None, :], da[:, None], da[:, None] + ga[None, :] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap, inter / union, 0.0)


def _oks(dt: _Objects, gt: _Objects, sigmas: np.ndarray) -> np.ndarray:
    """Object keypoint similarity ``(D, G)`` as pycocotools computes it (:func:`~yolopose.core.oks.oks_terms`
    over the labelled keypoints; none labelled: the distance to a box twice the ground truth's)."""
    k = len(sigmas)
    xd, yd = dt.keypoints[:, 0::3], dt.keypoints[:, 1::3]
    out = np.zeros((len(dt.score), len(gt.area)))
    for j in range(len(gt.area)):
        g = gt.keypoints[j]
        xg, yg, vg = g[0::3], g[1::3], g[2::3]
        visible = vg > 0
        if visible.any():
            dx, dy = xd - xg, yd - yg
        else:  # no labelled keypoint: distance to a box twice the size of the ground truth box
            bx, by, bw, bh = gt.bbox[j]
            x0, x1, y0, y1 = bx - bw, bx + bw * 2, by - bh, by + bh * 2
            z = np.zeros(k)
            dx = np.maximum(z, x0 - xd) + np.maximum(z, xd - x1)
            dy = np.maximum(z, y0 - yd) + np.maximum(z, yd - y1)
        terms = oks_terms(dx**2 + dy**2, gt.area[j] + _EPS, sigmas)
        if visible.any():
            terms = terms[:, visible]
        out[:, j] = np.sum(terms, axis=1) / terms.shape[1]
    return out


def _evaluate_image(
    dt: _Objects, gt: _Objects, ious: np.ndarray, area_range: Tuple[float, float], max_det: int
) -> Optional[Dict[str, np.ndarray]]:
    """Greedy matching of one (image, category, area range); ``dt`` is already sorted by score."""
    if len(gt.area) == 0 and len(dt.score) == 0:
        return None
    g_ignore = gt.ignore | (gt.area < area_range[0]) | (gt.area > area_range[1])
    g_order = np.argsort(g_ignore, kind="mergesort")
    g_ignore, g_crowd = g_ignore[g_order], gt.crowd[g_order]
    dt = dt.take(np.arange(min(len(dt.score), max_det)))
    n_t, n_g, n_d = len(_IOU_THRS), len(g_order), len(dt.score)
    gt_matched = np.zeros((n_t, n_g), dtype=bool)
    dt_matched = np.zeros((n_t, n_d), dtype=bool)
    dt_ignore = np.zeros((n_t, n_d), dtype=bool)
    if ious.size and n_g and n_d:
        ious = ious[:n_d, g_order]
        thr = np.minimum(_IOU_THRS, 1 - 1e-10)
        rows = np.arange(n_t)
        for d in range(n_d):
            row = ious[d]
            if row.max() < thr[0]:
                continue
            free = ~gt_matched | g_crowd[None, :]
            cand = free & (row[None, :] >= thr[:, None])  # (T, G)
            chosen = np.full(n_t, -1)
            for group in (~g_ignore, g_ignore):  # a regular match wins over one with an ignored gt
                c = cand & group[None, :] & (chosen < 0)[:, None]
                has = c.any(axis=1)
                if not has.any():
                    continue
                vals = np.where(c, row[None, :], -np.inf)
                last_max = n_g - 1 - np.argmax(vals[:, ::-1], axis=1)  # ties go to the later gt
                chosen = np.where(has, last_max, chosen)
            hit = chosen >= 0
            if not hit.any():
                continue
            t_hit, g_hit = rows[hit], chosen[hit]
            dt_matched[t_hit, d] = True
            dt_ignore[t_hit, d] = g_ignore[g_hit]
            gt_matched[t_hit, g_hit] = True
    outside = (dt.area < area_range[0]) | (dt.area > area_range[1])
    dt_ignore |= ~dt_matched & outside[None, :]
    return {"scores": dt.score, "matched": dt_matched, "dt_ignore": dt_ignore, "gt_ignore": g_ignore}


def _accumulate(evals: List[List[List[Optional[Dict[str, np.ndarray]]]]], params: EvalParams) -> Tuple[np.ndarray, np.ndarray]:
    """``evals[k][a][i]`` -> precision ``(T, R, K, A, M)`` and recall ``(T, K, A, M)`` (-1: no data)."""
    n_t, n_r, n_k, n_a, n_m = len(_IOU_THRS), len(_REC_THRS), len(evals), len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
    recall = -np.ones((n_t, n_k, n_a, n_m))
    for k in range(n_k):
        for a in range(n_a):
            per_image = [e for e in evals[k][a] if e is not None]
            if not per_image:
                continue
            for m, max_det in enumerate(params.max_dets):
                scores = np.concatenate([e["scores"][:max_det] for e in per_image])
                order = np.argsort(-scores, kind="mergesort")
                matched = np.concatenate([e["matched"][:, :max_det] for e in per_image], axis=1)[:, order]
                dt_ig = np.concatenate([e["dt_ignore"][:, :max_det] for e in per_image], axis=1)[:, order]
                gt_ig = np.concatenate([e["gt_ignore"] for e in per_image])
                n_pos = np.count_nonzero(~gt_ig)
                if n_pos == 0:
                    continue
                tp_sum = np.cumsum(matched & ~dt_ig, axis=1).astype(float)
                fp_sum = np.cumsum(~matched & ~dt_ig, axis=1).astype(float)
                for t in range(n_t):
                    tp, fp = tp_sum[t], fp_sum[t]
                    nd = len(tp)
                    rc = tp / n_pos
                    pr = tp / (fp + tp + _EPS)
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr  # precision envelope
                    idx = np.searchsorted(rc, _REC_THRS, side="left")
                    q = np.zeros(n_r)
                    valid = idx < nd
                    # pycocotools stops at the first recall threshold beyond the last detection
                    n_valid = int(np.argmin(valid)) if not valid.all() else n_r
                    q[:n_valid] = pr[idx[:n_valid]]
                    precision[t, :, k, a, m] = q
    return precision, recall


def _summarize(precision: np.ndarray, recall: np.ndarray, params: EvalParams) -> np.ndarray:
    stats = []
    for is_ap, iou_thr, area_label, max_det in params.summary:
        a = params.area_labels.index(area_label)
        m = params.max_dets.index(max_det)
        if is_ap:
            s = precision[..., a, m]
            if iou_thr is not None:
                s = s[np.where(iou_thr == _IOU_THRS)[0]]
        else:
            s = recall[..., a, m]
            if iou_thr is not None:
                s = s[np.where(iou_thr == _IOU_THRS)[0]]
        valid = s[s > -1]
        stats.append(float(np.mean(valid)) if valid.size else -1.0)
    return np.asarray(stats)


def evaluate_images(
    images: Sequence[int],
    categories: Sequence[int],
    gts: Sequence[Mapping[str, Any]],
    dts: Sequence[Mapping[str, Any]],
    params: EvalParams,
    sigmas: np.ndarray,
) -> List[List[List[Optional[Dict[str, np.ndarray]]]]]:
    """pycocotools' per-image matching (``COCOeval.evaluate``): ``evals[category][area range][image]``
    over the sorted image and category ids, for prepared annotations.

    ``gts`` carry ``image_id, category_id, bbox, area, iscrowd`` (and ``keypoints``,
    ``num_keypoints``); ``dts`` carry ``image_id, category_id, bbox, area, score`` (and
    ``keypoints``), with areas already computed the way ``COCO.loadRes`` does.
    """
    img_ids, cat_ids = sorted(set(images)), sorted(set(categories))
    num_values = 3 * len(sigmas)
    by_key_gt: Dict[Tuple[int, int], List[Mapping[str, Any]]] = {}
    by_key_dt: Dict[Tuple[int, int], List[Mapping[str, Any]]] = {}
    img_set, cat_set = set(img_ids), set(cat_ids)
    for store, anns in ((by_key_gt, gts), (by_key_dt, dts)):
        for ann in anns:
            if ann["image_id"] in img_set and ann["category_id"] in cat_set:
                store.setdefault((ann["image_id"], ann["category_id"]), []).append(ann)
    max_det = params.max_dets[-1]
    evals: List[List[List[Optional[Dict[str, np.ndarray]]]]] = [[[] for _ in params.area_ranges] for _ in cat_ids]
    for k, cat in enumerate(cat_ids):
        for img in img_ids:
            gt = _as_objects(by_key_gt.get((img, cat), []), True, params.iou_type, num_values)
            dt = _as_objects(by_key_dt.get((img, cat), []), False, params.iou_type, num_values)
            dt = dt.take(np.argsort(-dt.score, kind="mergesort")[:max_det])
            if len(gt.area) == 0 or len(dt.score) == 0:
                ious = np.zeros((0, 0))
            elif params.iou_type == "keypoints":
                ious = _oks(dt, gt, sigmas)
            else:
                ious = _box_iou(dt.bbox, gt.bbox, gt.crowd)
            for a, area_range in enumerate(params.area_ranges):
                evals[k][a].append(_evaluate_image(dt, gt, ious, area_range, max_det))
    return evals


def summary_stats(evals: List[List[List[Optional[Dict[str, np.ndarray]]]]], params: EvalParams) -> np.ndarray:
    """The summary numbers of pycocotools' ``COCOeval.stats`` from :func:`evaluate_images` output
    (any selection of its images, repeats allowed)."""
    precision, recall = _accumulate(evals, params)
    return _summarize(precision, recall, params)
