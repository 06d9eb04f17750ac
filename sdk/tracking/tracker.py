"""Multi-person pose tracking: stable ids from frame to frame, numpy only.

Each person is a track with a constant-velocity Kalman filter on the box and a One Euro smoother on
the keypoints. Every frame:

1. all tracks predict their box for the frame (lost tracks keep moving, clamped inside the image,
   so a person walking behind something or out of the picture is looked for where they went);
2. confident detections are matched to tracks (active and lost) by a similarity that mixes box
   IoU and OKS between the detection's keypoints and the track's keypoints moved with the
   prediction; the Hungarian algorithm picks the best one-to-one matching;
3. remaining active tracks get a second chance with low-score detections (box IoU only: partly
   occluded people score low but are still there);
4. remaining lost tracks are matched by centre distance relative to their size, so a person who
   re-enters where they left within the memory keeps their id;
5. unmatched confident detections start tentative tracks, confirmed after ``min_hits`` frames;
   tracks not seen for ``memory`` seconds are dropped.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..core.errors import ConfigError
from .assignment import linear_sum_assignment
from .kalman import KalmanBoxFilter, xyxy_to_cxcywh
from ..core.oks import oks_matrix
from ..core.ops import box_iou
from .smoothing import KeypointSmoother
from .tracked import TrackedPoses

__all__ = ["PoseTracker"]

_TENTATIVE, _ACTIVE, _LOST = 0, 1, 2
_FORBIDDEN = 1e3


class _Track:
    """One person being tracked (internal)."""

    __slots__ = ("id", "kf", "state", "hits", "last_time", "last_box", "keypoints", "score", "smoother", "smoothed")

    def __init__(self, box: np.ndarray, keypoints: np.ndarray, score: float, t: float, smoother: Optional[KeypointSmoother]) -> None:
        self.id = -1
        self.kf = KalmanBoxFilter(box)
        self.state = _TENTATIVE
        self.hits = 1
        self.last_time = t
        self.last_box = np.asarray(box, dtype=np.float64)
        self.keypoints = np.asarray(keypoints, dtype=np.float64)
        self.score = float(score)
        self.smoother = smoother
        self.smoothed = self._smooth(self.keypoints, t)

    def _smooth(self, keypoints: np.ndarray, t: float) -> np.ndarray:
        if self.smoother is None or keypoints.shape[0] == 0:
            return keypoints
        # Smooth relative to the Kalman box centre: the filter's constant-velocity model carries
        # the walking motion without lag and the One Euro filter only sees the limbs' own motion.
        w, h = self.last_box[2:] - self.last_box[:2]
        centre = self.kf.x[:2]
        rel = keypoints.copy()
        rel[:, :2] -= centre
        out = self.smoother(rel, t=t, scale=float(np.sqrt(max(w * h, 1.0))))
        out[:, :2] += centre
        return out

    def predicted_keypoints(self) -> np.ndarray:
        """The last keypoints moved and scaled from the last matched box onto the predicted box."""
        src = xyxy_to_cxcywh(self.last_box)
        dst = self.kf.x[:4]
        kp = self.keypoints.copy()
        if kp.shape[0]:
            ratio = dst[2:4] / np.maximum(src[2:4], 1e-6)
            kp[:, :2] = (kp[:, :2] - src[:2]) * ratio + dst[:2]
        return kp

    def update(self, box: np.ndarray, keypoints: np.ndarray, score: float, t: float) -> None:
        self.kf.update(box, confidence=score)
        self.last_box = np.asarray(box, dtype=np.float64)
        self.keypoints = np.asarray(keypoints, dtype=np.float64)
        self.score = float(score)
        self.last_time = t
        self.hits += 1
        self.smoothed = self._smooth(self.keypoints, t)


class PoseTracker:
    """Gives every detected person a stable id across the frames of a video.

    Args:
        high_conf: detections scoring at least this are matched first and may start tracks.
        low_conf: detections between ``low_conf`` and ``high_conf`` only extend existing tracks.
        min_similarity: least combined IoU/OKS similarity for a match.
        oks_weight: weight of OKS in the similarity (``1 - oks_weight`` for box IoU); where fewer
            than 3 keypoints are confident in both, IoU alone is used.
        min_hits: frames a new track needs before it is reported and gets an id (tracks found in
            the first frame are reported at once).
        memory: seconds a lost track is kept, to be found again after an occlusion or a short
            exit from the picture.
        reentry_radius: a lost track may take a new detection whose centre lies within this many
            track sizes (``sqrt(w h)``) of where the track is predicted to be.
        smooth: smooth keypoints (confidence-aware One Euro filter) and report the Kalman box; off:
            report the detections as they are.
        fps: frame rate assumed when ``update`` is called without timestamps.
        kpt_conf: least keypoint confidence for a keypoint to count in OKS.
        smoother: keyword arguments for :class:`~yolopose.tracking.KeypointSmoother`.
    """

    def __init__(
        self,
        high_conf: float = 0.5,
        low_conf: float = 0.1,
        min_similarity: float = 0.2,
        oks_weight: float = 0.5,
        min_hits: int = 2,
        memory: float = 2.0,
        reentry_radius: float = 1.0,
        smooth: bool = True,
        fps: float = 30.0,
        kpt_conf: float = 0.3,
        smoother: Optional[Dict[str, Any]] = None,
    ) -> None:
        if not 0.0 <= low_conf <= high_conf <= 1.0:
            raise ConfigError(f"PoseTracker needs 0 <= low_conf <= high_conf <= 1 (got {low_conf}, {high_conf})")
        if not 0.0 <= oks_weight <= 1.0:
            raise ConfigError(f"PoseTracker oks_weight must be in [0, 1], got {oks_weight}")
        if min_hits < 1 or memory < 0 or fps <= 0 or reentry_radius < 0:
            raise ConfigError("PoseTracker needs min_hits >= 1, memory >= 0, reentry_radius >= 0 and fps > 0")
        self.high_conf = float(high_conf)
        self.low_conf = float(low_conf)
        self.min_similarity = float(min_similarity)
        self.oks_weight = float(oks_weight)
        self.min_hits = int(min_hits)
        self.memory = float(memory)
        self.reentry_radius = float(reentry_radius)
        self.smooth = bool(smooth)
        self.fps = float(fps)
        self.kpt_conf = float(kpt_conf)
        self.smoother_args = dict(smoother or {})
        self.smoother_args.setdefault("freq", self.fps)
        KeypointSmoother(**self.smoother_args)  # validate the arguments now, not at the first person
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart ids at 1."""
        self._tracks: List[_Track] = []
        self._next_id = 1
        self._frame = 0
        self._time: Optional[float] = None

    @property
    def num_tracks(self) -> int:
        """Tracks held now (active, tentative and lost)."""
        return len(self._tracks)

    # ------------------------------------------------------------------ public API
    def update(
        self,
        detections: Any,
        timestamp: Optional[float] = None,
        image_size: Optional[Tuple[int, int]] = None,
    ) -> TrackedPoses:
        """Fold in one frame's detections and return the tracked people of that frame.

        ``detections``: a :class:`yolopose.Poses` (or anything with ``boxes (N, 4)`` xyxy, ``scores
        (N,)`` and ``keypoints (N, K, 3)``), or a ``(boxes, scores, keypoints)`` tuple.
        ``timestamp``: seconds (default: frame number / ``fps``). ``image_size``: ``(height, width)``
        of the frame, to keep lost tracks inside the picture.
        """
        boxes, scores, kpts = _as_arrays(detections)
        t = self._frame / self.fps if timestamp is None else float(timestamp)
        if self._time is not None and t <= self._time:
            raise ConfigError(f"PoseTracker timestamps must increase (got {t} after {self._time})")
        dt = 1.0 if self._time is None else (t - self._time) * self.fps
        first_frame = self._time is None
        self._time = t
        self._frame += 1

        for tr in self._tracks:
            tr.kf.predict(dt)
            if tr.state == _LOST and image_size is not None:
                _clamp_centre(tr.kf, image_size)

        high = np.nonzero(scores >= self.high_conf)[0]
        low = np.nonzero((scores >= self.low_conf) & (scores < self.high_conf))[0]
        matched: Dict[int, int] = {}  # track index -> detection index

        # 1. confident detections against all tracks (IoU + OKS)
        cand = list(range(len(self._tracks)))
        pairs = self._match(cand, high, boxes, kpts, self._similarity, self.min_similarity)
        matched.update(pairs)
        left_high = np.setdiff1d(high, list(pairs.values()))
        # 2. low-score detections extend active tracks (IoU only)
        cand = [i for i, tr in enumerate(self._tracks) if i not in matched and tr.state == _ACTIVE]
        pairs = self._match(cand, low, boxes, kpts, self._similarity, max(self.min_similarity, 0.3))
        matched.update(pairs)
        # 3. lost tracks take what is left by distance (re-entry, long occlusion)
        cand = [i for i, tr in enumerate(self._tracks) if i not in matched and tr.state == _LOST]
        pairs = self._match(cand, left_high, boxes, kpts, self._distance_similarity, 1e-9)
        matched.update(pairs)
        left_high = np.setdiff1d(left_high, list(pairs.values()))

        found: List[Tuple[_Track, int]] = []  # (track, detection row) seen in this frame
        for ti, di in matched.items():
            tr = self._tracks[ti]
            if tr.state == _LOST and tr.smoother is not None:
                tr.smoother.reset()  # found again: do not slide from where it was last seen
            tr.update(boxes[di], kpts[di], float(scores[di]), t)
            if tr.state == _LOST or (tr.state == _TENTATIVE and tr.hits >= self.min_hits):
                self._activate(tr)
            found.append((tr, di))
        survivors: List[_Track] = []
        for i, tr in enumerate(self._tracks):
            if i not in matched:
                if tr.state == _TENTATIVE:
                    continue  # a one-off detection: forget it
                if tr.state != _LOST:
                    tr.state = _LOST
                    tr.kf.x[6:8] = 0.0  # while unseen, keep the size; the position keeps moving
                if t - tr.last_time > self.memory:
                    continue
            survivors.append(tr)
        self._tracks = survivors

        for di in left_high:
            smoother = KeypointSmoother(**self.smoother_args) if self.smooth else None
            tr = _Track(boxes[di], kpts[di], float(scores[di]), t, smoother)
            if first_frame or self.min_hits <= 1:
                self._activate(tr)
            self._tracks.append(tr)
            found.append((tr, int(di)))
        return self._report(found, boxes, kpts, scores)

    # ------------------------------------------------------------------ internals
    def _activate(self, tr: _Track) -> None:
        if tr.id < 0:
            tr.id = self._next_id
            self._next_id += 1
        tr.state = _ACTIVE

    def _match(self, track_idx, det_idx, boxes, kpts, similarity, threshold) -> Dict[int, int]:
        if not len(track_idx) or not len(det_idx):
            return {}
        tracks = [self._tracks[i] for i in track_idx]
        det_idx = np.asarray(det_idx, dtype=np.int64)
        sim = similarity(tracks, boxes[det_idx], kpts[det_idx])
        cost = np.where(sim >= threshold, 1.0 - sim, _FORBIDDEN)
        rows, cols = linear_sum_assignment(cost)
        keep = cost[rows, cols] < _FORBIDDEN
        return {track_idx[r]: int(det_idx[c]) for r, c in zip(rows[keep], cols[keep])}

    def _iou_similarity(self, tracks: List[_Track], boxes: np.ndarray, kpts: np.ndarray) -> np.ndarray:
        pred = np.stack([tr.kf.box for tr in tracks])
        return box_iou(pred, boxes.astype(np.float64))

    def _similarity(self, tracks: List[_Track], boxes: np.ndarray, kpts: np.ndarray) -> np.ndarray:
        iou = self._iou_similarity(tracks, boxes, kpts)
        if kpts.shape[1] == 0 or self.oks_weight == 0.0:
            return iou
        pred = np.stack([tr.kf.box for tr in tracks])
        areas = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
        track_kpts = np.stack([tr.predicted_keypoints() for tr in tracks])
        oks, counted = oks_matrix(track_kpts, kpts, areas, min_conf=self.kpt_conf)
        mixed = (1.0 - self.oks_weight) * iou + self.oks_weight * oks
        return np.where(counted >= 3, mixed, iou)

    def _distance_similarity(self, tracks: List[_Track], boxes: np.ndarray, kpts: np.ndarray) -> np.ndarray:
        pred = np.stack([tr.kf.x[:4] for tr in tracks])  # cx, cy, w, h
        det = xyxy_to_cxcywh(boxes)
        size_t = np.sqrt(np.maximum(pred[:, 2] * pred[:, 3], 1.0))
        dist = np.linalg.norm(pred[:, None, :2] - det[None, :, :2], axis=-1) / size_t[:, None]
        # heights, not areas: a person coming back through a side border shows a narrow box
        ratio = det[None, :, 3] / np.maximum(pred[:, None, 3], 1.0)
        ok = (ratio > 0.5) & (ratio < 2.0) & (dist < self.reentry_radius)
        return np.where(ok, 1.0 - dist / max(self.reentry_radius, 1e-9), 0.0)

    def _report(self, found: List[Tuple[_Track, int]], boxes: np.ndarray, kpts: np.ndarray, scores: np.ndarray) -> TrackedPoses:
        rows = sorted(((tr.id, di, tr) for tr, di in found if tr.state == _ACTIVE), key=lambda r: r[0])
        if not rows:
            return TrackedPoses.empty(kpts.shape[1])
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        det_index = np.asarray([r[1] for r in rows], dtype=np.int64)
        tracks = [r[2] for r in rows]
        if self.smooth:
            out_boxes = np.stack([tr.kf.box for tr in tracks]).astype(np.float32)
            out_kpts = np.stack([tr.smoothed for tr in tracks]).astype(np.float32)
        else:
            out_boxes = boxes[det_index].astype(np.float32)
            out_kpts = kpts[det_index].astype(np.float32)
        return TrackedPoses(ids, out_boxes, scores[det_index].astype(np.float32), out_kpts, det_index)


def _clamp_centre(kf: KalmanBoxFilter, image_size: Tuple[int, int]) -> None:
    """Keep a lost track's predicted centre inside the picture (it left, it will come back there)."""
    h, w = image_size
    kf.x[0] = min(max(kf.x[0], 0.0), float(w))
    kf.x[1] = min(max(kf.x[1], 0.0), float(h))


def _as_arrays(detections: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(detections, (tuple, list)) and len(detections) == 3:
        boxes, scores, kpts = detections
    else:
        try:
            boxes, scores, kpts = detections.boxes, detections.scores, detections.keypoints
        except AttributeError:
            raise ConfigError(
                f"PoseTracker.update needs Poses (boxes, scores, keypoints) or a (boxes, scores, keypoints) tuple, "
                f"got {type(detections).__name__}"
            ) from None
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    kpts = np.asarray(kpts, dtype=np.float64)
    n = boxes.shape[0]
    if kpts.size == 0 and kpts.ndim != 3:
        kpts = np.zeros((n, 0, 3))
    if scores.shape[0] != n or kpts.ndim != 3 or kpts.shape[0] != n or kpts.shape[2] != 3:
        raise ConfigError(
            f"PoseTracker.update: inconsistent detections: boxes {boxes.shape}, scores {scores.shape}, keypoints {kpts.shape}"
        )
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise ConfigError("PoseTracker.update: detections contain NaN or inf boxes/scores")
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if not valid.all():
        # zero-area boxes cannot be tracked; give them a score of 0 so they are ignored
        scores = np.where(valid, scores, -1.0)
    return boxes, scores, kpts
