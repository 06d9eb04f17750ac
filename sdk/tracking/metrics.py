"""Tracking quality measures: CLEAR-MOT (MOTA, ID switches), IDF1, and keypoint jitter / lag.

Frames are given as ``(ids, boxes)`` pairs: ``ids (N,)`` integers and ``boxes (N, 4)`` xyxy, one
pair per frame for the ground truth and one for the tracker's output.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..core.errors import ConfigError
from .assignment import linear_sum_assignment
from ..core.ops import box_iou

__all__ = ["MOTMetrics", "mot_metrics", "JitterMetrics", "jitter_metrics"]

Frame = Tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class MOTMetrics:
    """CLEAR-MOT counts and scores plus the identity F1 (IDF1) of a tracking run."""

    num_frames: int
    num_gt: int  # ground-truth boxes over all frames
    num_pred: int  # tracker boxes over all frames
    matches: int
    false_negatives: int
    false_positives: int
    id_switches: int
    fragmentations: int
    mota: float  # 1 - (FN + FP + IDSW) / num_gt
    motp: float  # mean IoU of the matches
    idf1: float  # 2 IDTP / (num_gt + num_pred), identities matched once for the whole sequence
    gt_tracks: int
    pred_tracks: int

    def as_dict(self) -> Dict[str, float]:
        """A JSON-ready dict."""
        return asdict(self)


def _check(frames: Sequence[Frame], name: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    out = []
    for i, (ids, boxes) in enumerate(frames):
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if ids.shape[0] != boxes.shape[0]:
            raise ConfigError(f"{name} frame {i}: {ids.shape[0]} ids for {boxes.shape[0]} boxes")
        if len(np.unique(ids)) != len(ids):
            raise ConfigError(f"{name} frame {i}: an id appears twice")
        out.append((ids, boxes))
    return out


def mot_metrics(gt: Sequence[Frame], pred: Sequence[Frame], iou_threshold: float = 0.5) -> MOTMetrics:
    """CLEAR-MOT (Bernardin and Stiefelhagen, 2008) and IDF1 (Ristani et al., 2016).

    Per frame, ground truth keeps its previous partner when they still overlap by
    ``iou_threshold``; the rest is matched by the Hungarian algorithm on IoU. An id switch is a
    ground-truth person matched to another tracker id than at their previous match; a
    fragmentation is a ground-truth track that resumes being tracked after a gap.
    """
    if len(gt) != len(pred):
        raise ConfigError(f"ground truth has {len(gt)} frames but the tracker output {len(pred)}")
    gt_f, pred_f = _check(gt, "ground truth"), _check(pred, "tracker output")
    last_partner: Dict[int, int] = {}  # gt id -> tracker id at its last match
    tracked_prev: Dict[int, bool] = {}
    num_gt = num_pred = matches = fn = fp = idsw = frag = 0
    iou_sum = 0.0
    co: Dict[Tuple[int, int], int] = {}  # (gt id, pred id) -> frames matched (for IDF1)
    gt_count: Dict[int, int] = {}
    pred_count: Dict[int, int] = {}
    for (g_ids, g_boxes), (p_ids, p_boxes) in zip(gt_f, pred_f):
        num_gt += len(g_ids)
        num_pred += len(p_ids)
        for g in g_ids:
            gt_count[int(g)] = gt_count.get(int(g), 0) + 1
        for p in p_ids:
            pred_count[int(p)] = pred_count.get(int(p), 0) + 1
        iou = box_iou(g_boxes, p_boxes) if len(g_ids) and len(p_ids) else np.zeros((len(g_ids), len(p_ids)))
        # IDF1 co-occurrence: every overlapping (gt, pred) pair, matched one-to-one per frame
        if iou.size:
            r, c = linear_sum_assignment(np.where(iou >= iou_threshold, -iou, 0.0))
            for i, j in zip(r, c):
                if iou[i, j] >= iou_threshold:
                    key = (int(g_ids[i]), int(p_ids[j]))
                    co[key] = co.get(key, 0) + 1
        pairs: Dict[int, int] = {}
        p_index = {int(p): j for j, p in enumerate(p_ids)}
        for i, g in enumerate(g_ids):  # keep last frame's correspondences that still hold
            j = p_index.get(last_partner.get(int(g), -10**9))
            if j is not None and iou[i, j] >= iou_threshold and j not in pairs.values():
                pairs[i] = j
        free_g = [i for i in range(len(g_ids)) if i not in pairs]
        free_p = [j for j in range(len(p_ids)) if j not in pairs.values()]
        if free_g and free_p:
            sub = iou[np.ix_(free_g, free_p)]
            r, c = linear_sum_assignment(np.where(sub >= iou_threshold, -sub, 0.0))
            for i, j in zip(r, c):
                if sub[i, j] >= iou_threshold:
                    pairs[free_g[i]] = free_p[j]
        for i, j in pairs.items():
            g, p = int(g_ids[i]), int(p_ids[j])
            if g in last_partner and last_partner[g] != p:
                idsw += 1
            if g in tracked_prev and not tracked_prev[g]:
                frag += 1
            last_partner[g] = p
            iou_sum += float(iou[i, j])
        for i, g in enumerate(g_ids):
            tracked_prev[int(g)] = i in pairs
        matches += len(pairs)
        fn += len(g_ids) - len(pairs)
        fp += len(p_ids) - len(pairs)
    idtp = 0
    if co:
        g_list = sorted(gt_count)
        p_list = sorted(pred_count)
        m = np.zeros((len(g_list), len(p_list)))
        gi = {g: i for i, g in enumerate(g_list)}
        pi = {p: j for j, p in enumerate(p_list)}
        for (g, p), n in co.items():
            m[gi[g], pi[p]] = n
        r, c = linear_sum_assignment(m, maximize=True)
        idtp = int(m[r, c].sum())
    total = num_gt + num_pred
    return MOTMetrics(
        num_frames=len(gt_f),
        num_gt=num_gt,
        num_pred=num_pred,
        matches=matches,
        false_negatives=fn,
        false_positives=fp,
        id_switches=idsw,
        fragmentations=frag,
        mota=1.0 - (fn + fp + idsw) / num_gt if num_gt else float("nan"),
        motp=iou_sum / matches if matches else float("nan"),
        idf1=2.0 * idtp / total if total else float("nan"),
        gt_tracks=len(gt_count),
        pred_tracks=len(pred_count),
    )


@dataclass(frozen=True)
class JitterMetrics:
    """Jitter and error of a keypoint trajectory against the truth, in pixels.

    ``jitter``: RMS of the second temporal difference of the error (frame-to-frame shake that the
    true motion does not explain); ``rmse``: RMS error; ``lag``: the time shift in frames (0 to 10)
    that best aligns the trajectory with the truth.
    """

    jitter: float
    rmse: float
    lag: int


def jitter_metrics(truth: np.ndarray, estimate: np.ndarray, valid: np.ndarray = None) -> JitterMetrics:
    """Compare ``(T, ..., 2)`` estimated positions with the true ones (``valid (T, ...)`` masks points)."""
    truth = np.asarray(truth, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if truth.shape != est.shape or truth.shape[-1] != 2 or truth.shape[0] < 3:
        raise ConfigError(f"jitter_metrics needs two (T>=3, ..., 2) arrays of one shape, got {truth.shape} and {est.shape}")
    ok = np.ones(truth.shape[:-1], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    err = est - truth
    acc = err[2:] - 2 * err[1:-1] + err[:-2]
    acc_ok = ok[2:] & ok[1:-1] & ok[:-2]
    jitter = float(np.sqrt((acc[acc_ok] ** 2).sum(-1).mean())) if acc_ok.any() else float("nan")
    rmse = float(np.sqrt((err[ok] ** 2).sum(-1).mean())) if ok.any() else float("nan")
    best, lag = np.inf, 0
    for s in range(0, min(11, truth.shape[0] - 1)):
        e = est[s:] - truth[: truth.shape[0] - s]
        m = ok[s:] & ok[: truth.shape[0] - s]
        if m.any():
            v = float((e[m] ** 2).sum(-1).mean())
            if v < best - 1e-12:
                best, lag = v, s
    return JitterMetrics(jitter=jitter, rmse=rmse, lag=lag)
