"""Measure the pose tracker on synthetic video: identity keeping and keypoint smoothing.

Sequences come from the synthetic figure renderer (``yolopose.training.synth``): articulated
people walking, crossing each other, passing behind an occluder, leaving the picture and coming
back. The renderer's annotations are the ground truth (ids, boxes, keypoints with COCO visibility).

Detections are, by default, that ground truth made realistic -- box and keypoint noise that grows
for hidden keypoints, lower scores for partly hidden people, missed detections and false
positives -- so the tracker is measured without depending on a trained model. With ``--model``,
the frames are rendered and run through that model instead.

Printed per scenario and in total, for the tracker and for an IoU-only association baseline:
ID switches, fragmentations, MOTA, IDF1 (identity accuracy), and keypoint jitter (RMS of the
second difference of the error against the truth), RMSE and lag, raw against smoothed.

    python benchmarks/tracking.py                       # ground truth + noise, all scenarios
    python benchmarks/tracking.py --model model.onnx    # a real model on rendered frames
    python benchmarks/tracking.py --json results.json --frames 90
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolopose.tracking import PoseTracker, TrackedPoses, jitter_metrics, linear_sum_assignment, mot_metrics
from yolopose.core.ops import box_iou
from yolopose.training.synth import Effects, PersonState, render, sample_appearance, sample_scene, walking_pose
from yolopose.training.synth.background import Shape

FPS = 30.0
MIN_KEYPOINTS = 5


# ---------------------------------------------------------------------------------------- scenes
@dataclass(frozen=True)
class Walker:
    """A person moving in a straight line with a walking gait (pixels, pixels per frame)."""

    x0: float
    y0: float
    vx: float
    height: float
    vy: float = 0.0
    grow: float = 0.0  # height change per frame (walking towards the camera)
    phase: float = 0.0
    stride: float = 1.0
    turn_at: Optional[int] = None  # frame where the walker turns round (vx -> -vx)

    def state(self, t: int, appearance) -> PersonState:
        if self.turn_at is not None and t > self.turn_at:
            x = self.x0 + self.vx * self.turn_at - self.vx * (t - self.turn_at)
            vx = -self.vx
        else:
            x, vx = self.x0 + self.vx * t, self.vx
        y = self.y0 + self.vy * t
        h = self.height + self.grow * t
        moving = abs(vx) + abs(self.vy) > 1e-6
        # gait frequency follows speed relative to size: about one stride cycle per 0.6 body heights
        freq = (math.hypot(vx, self.vy) / max(h, 1.0)) / 0.6 * 2 * math.pi
        pose = walking_pose(self.phase + freq * t, self.stride) if moving else walking_pose(self.phase, 0.2)
        yaw = math.copysign(math.pi / 2, vx) if abs(vx) > 1e-6 else 0.0
        return PersonState(x=x, y=y, height=h, pose=pose, appearance=appearance, yaw=yaw,
                           depth=-(y + 0.5 * h))


def _walking(w: int, h: int) -> Tuple[List[Walker], Tuple[Shape, ...]]:
    return [
        Walker(0.10 * w, 0.55 * h, 1.2, 0.45 * h),
        Walker(0.85 * w, 0.40 * h, -0.8, 0.30 * h, phase=1.0),
        Walker(0.45 * w, 0.45 * h, 0.15, 0.30 * h, vy=0.25, grow=0.25, phase=2.0),
        Walker(0.30 * w, 0.30 * h, 0.0, 0.25 * h),
    ], ()


def _crossing(w: int, h: int) -> Tuple[List[Walker], Tuple[Shape, ...]]:
    return [
        Walker(0.08 * w, 0.52 * h, 1.6, 0.50 * h),
        Walker(0.92 * w, 0.55 * h, -1.6, 0.52 * h, phase=2.0),
        Walker(0.20 * w, 0.40 * h, 1.0, 0.40 * h, vy=0.1, phase=4.0),
    ], ()


def _occlusion(w: int, h: int) -> Tuple[List[Walker], Tuple[Shape, ...]]:
    pillar = Shape("polygon", (0.42 * w, 0.0, 0.58 * w, 0.0, 0.58 * w, float(h), 0.42 * w, float(h)), (90, 80, 70))
    return [
        Walker(0.05 * w, 0.55 * h, 1.3, 0.50 * h),
        Walker(0.95 * w, 0.50 * h, -1.0, 0.42 * h, phase=1.5),
    ], (pillar,)


def _leaving(w: int, h: int) -> Tuple[List[Walker], Tuple[Shape, ...]]:
    return [
        Walker(0.75 * w, 0.55 * h, 2.0, 0.48 * h, turn_at=68),  # leaves right, back after ~0.5 s
        Walker(0.30 * w, 0.45 * h, -1.5, 0.40 * h, phase=1.0),  # leaves left for good
        Walker(-0.50 * w, 0.35 * h, 1.2, 0.36 * h, phase=3.0),  # enters from the left later
    ], ()


def _crowd(w: int, h: int) -> Tuple[List[Walker], Tuple[Shape, ...]]:
    return [
        Walker((0.05 + 0.15 * i) * w if i % 2 == 0 else (0.95 - 0.15 * i) * w, (0.48 + 0.02 * i) * h,
               (1.1 + 0.1 * i) * (1 if i % 2 == 0 else -1), (0.42 + 0.02 * i) * h, phase=float(i))
        for i in range(6)
    ], ()


SCENARIOS: Dict[str, Callable[[int, int], Tuple[List[Walker], Tuple[Shape, ...]]]] = {
    "walking": _walking,
    "crossing": _crossing,
    "occlusion": _occlusion,
    "leaving": _leaving,
    "crowd": _crowd,
}


@dataclass
class GroundTruth:
    ids: np.ndarray  # (N,)
    boxes: np.ndarray  # (N, 4) xyxy
    keypoints: np.ndarray  # (N, 17, 3) x, y, v
    visible_fraction: np.ndarray  # (N,)


def make_sequence(name: str, frames: int, size: Tuple[int, int], seed: int, with_images: bool):
    """Yield ``(image or None, GroundTruth)`` for each frame of a scenario."""
    h, w = size
    rng = np.random.default_rng(seed)
    walkers, occluders = SCENARIOS[name](w, h)
    if seed:  # vary speeds and places from seed to seed (seed 0 is the scenario as written)
        walkers = [replace(wk, vx=wk.vx * rng.uniform(0.85, 1.15), y0=wk.y0 + rng.normal(0, 0.03 * h)) for wk in walkers]
    base = sample_scene(rng, max(size), num_people=0)
    base = replace(base, size=size, occluders=occluders, effects=Effects(noise=2.0))
    looks = [sample_appearance(rng) for _ in walkers]
    for t in range(frames):
        persons = tuple(wk.state(t, looks[i]) for i, wk in enumerate(walkers))
        image, anns = render(replace(base, persons=persons), np.random.default_rng(seed * 100003 + t))
        # a person counts once at least MIN_KEYPOINTS of their keypoints are in the picture
        anns = [a for a in anns if a["num_keypoints"] >= MIN_KEYPOINTS]
        ids = np.array([a["person"] for a in anns], dtype=np.int64)
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in anns], dtype=np.float64).reshape(-1, 4)
        kpts = np.array([a["keypoints"] for a in anns], dtype=np.float64).reshape(-1, 17, 3)
        frac = np.array([a["visible_fraction"] for a in anns], dtype=np.float64)
        yield (image if with_images else None), GroundTruth(ids, boxes, kpts, frac)


# ---------------------------------------------------------------------------------------- detections
@dataclass(frozen=True)
class NoiseModel:
    box: float = 0.03  # std of box corners, fraction of the person's size sqrt(w h)
    keypoint: float = 0.03  # std of visible keypoints, fraction of the size (x3 when hidden)
    miss: float = 0.08  # probability that a person is not detected in a frame
    false_positive: float = 0.05  # probability of a spurious detection per frame


def simulate_detections(gt: GroundTruth, rng: np.random.Generator, noise: NoiseModel,
                        size: Tuple[int, int]) -> Tuple[Tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Noisy detections from the ground truth; returns ``((boxes, scores, keypoints), gt_index)``."""
    n = len(gt.ids)
    keep = rng.random(n) >= noise.miss
    idx = np.nonzero(keep)[0]
    boxes = gt.boxes[idx].copy()
    s = np.sqrt(np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0))
    boxes += rng.normal(0, 1, boxes.shape) * noise.box * s[:, None]
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2.0)
    v = gt.keypoints[idx, :, 2]
    kp = gt.keypoints[idx].copy()
    spread = np.where(v == 2, 1.0, 3.0)[..., None] * noise.keypoint * s[:, None, None]
    kp[..., :2] += rng.normal(0, 1, kp[..., :2].shape) * spread
    centre = (boxes[:, None, :2] + boxes[:, None, 2:]) / 2
    kp[..., :2] = np.where((v == 0)[..., None], centre + rng.normal(0, 0.2, kp[..., :2].shape) * s[:, None, None], kp[..., :2])
    kp[..., 2] = np.select([v == 2, v == 1], [rng.uniform(0.7, 0.95, v.shape), rng.uniform(0.2, 0.5, v.shape)],
                           rng.uniform(0.0, 0.1, v.shape))
    scores = np.clip(0.3 + 0.6 * gt.visible_fraction[idx] + rng.normal(0, 0.05, len(idx)), 0.05, 0.99)
    gt_index = idx.astype(np.int64)
    if rng.random() < noise.false_positive:
        h, w = size
        bh = rng.uniform(0.2, 0.5) * h
        x, y = rng.uniform(0, w - 0.4 * bh), rng.uniform(0, h - bh)
        fb = np.array([[x, y, x + 0.4 * bh, y + bh]])
        fk = np.c_[rng.uniform(x, x + 0.4 * bh, 17), rng.uniform(y, y + bh, 17), rng.uniform(0, 0.6, 17)][None]
        boxes, kp = np.r_[boxes, fb], np.r_[kp, fk]
        scores = np.r_[scores, rng.uniform(0.1, 0.6)]
        gt_index = np.r_[gt_index, -1]
    return (boxes, scores, kp), gt_index


def match_to_truth(boxes: np.ndarray, gt: GroundTruth, iou_threshold: float = 0.5) -> np.ndarray:
    """Ground-truth row of each detection box (-1: none) by IoU, one to one."""
    out = np.full(len(boxes), -1, dtype=np.int64)
    if len(boxes) and len(gt.ids):
        iou = box_iou(np.asarray(boxes, dtype=np.float64), gt.boxes)
        r, c = linear_sum_assignment(-iou)
        ok = iou[r, c] >= iou_threshold
        out[r[ok]] = c[ok]
    return out


# ---------------------------------------------------------------------------------------- runs
TRACKERS: Dict[str, Dict[str, float]] = {
    "pose tracker (IoU+OKS)": {},
    "IoU-only baseline": {"oks_weight": 0.0},
}


def run_scenario(name: str, seed: int, args: argparse.Namespace, estimator=None) -> Dict[str, Dict[str, float]]:
    size = (args.height, args.width)
    rng = np.random.default_rng(seed + 7)
    trackers = {label: (PoseTracker(fps=FPS, **kw), PoseTracker(fps=FPS, smooth=False, **kw))
                for label, kw in TRACKERS.items()}
    gt_frames: List[Tuple[np.ndarray, np.ndarray]] = []
    out_frames: Dict[str, List[Tuple[np.ndarray, np.ndarray]]] = {k: [] for k in trackers}
    ids_seen: Dict[int, int] = {}
    T = args.frames
    truth = np.full((T, 8, 17, 2), np.nan)
    vis = np.zeros((T, 8, 17), dtype=bool)
    est = {k: {"raw": np.full((T, 8, 17, 2), np.nan), "smooth": np.full((T, 8, 17, 2), np.nan)} for k in trackers}
    update_s = 0.0
    updates = 0
    for t, (image, gt) in enumerate(make_sequence(name, T, size, seed, with_images=estimator is not None)):
        gt_frames.append((gt.ids, gt.boxes))
        for row, pid in enumerate(gt.ids):
            truth[t, pid] = gt.keypoints[row, :, :2]
            vis[t, pid] = gt.keypoints[row, :, 2] == 2
            ids_seen[int(pid)] = 1
        if estimator is None:
            dets, det_gt = simulate_detections(gt, rng, NoiseModel(), size)
        else:
            poses = estimator.predict(image)
            dets = (poses.boxes, poses.scores, poses.keypoints)
            det_gt = match_to_truth(poses.boxes, gt)
        for label, (smooth_tr, raw_tr) in trackers.items():
            t0 = time.perf_counter()
            res: TrackedPoses = smooth_tr.update(dets, timestamp=t / FPS, image_size=size)
            update_s += time.perf_counter() - t0
            updates += 1
            raw = raw_tr.update(dets, timestamp=t / FPS, image_size=size)
            out_frames[label].append((res.ids, res.boxes))
            for kind, r in (("smooth", res), ("raw", raw)):
                for i, di in enumerate(r.detection_index):
                    g = det_gt[di]
                    if g >= 0:
                        est[label][kind][t, gt.ids[g]] = r.keypoints[i, :, :2]
    results: Dict[str, Dict[str, float]] = {}
    for label in trackers:
        m = mot_metrics(gt_frames, out_frames[label])
        ok_raw = vis & ~np.isnan(est[label]["raw"][..., 0])
        ok = ok_raw & ~np.isnan(est[label]["smooth"][..., 0])
        jr = jitter_metrics(np.nan_to_num(truth), np.nan_to_num(est[label]["raw"]), ok)
        js = jitter_metrics(np.nan_to_num(truth), np.nan_to_num(est[label]["smooth"]), ok)
        results[label] = {
            "people": len(ids_seen), "frames": m.num_frames, "gt_boxes": m.num_gt, "pred_boxes": m.num_pred,
            "id_switches": m.id_switches, "fragmentations": m.fragmentations,
            "false_positives": m.false_positives, "false_negatives": m.false_negatives,
            "mota": m.mota, "idf1": m.idf1, "pred_tracks": m.pred_tracks,
            "jitter_raw": jr.jitter, "jitter_smooth": js.jitter,
            "jitter_reduction": 1.0 - js.jitter / jr.jitter if jr.jitter > 0 else float("nan"),
            "rmse_raw": jr.rmse, "rmse_smooth": js.rmse, "lag_frames": js.lag,
            "ms_per_update": 1000.0 * update_s / max(updates, 1),
        }
    return results


def _table(rows: Sequence[Tuple[str, str, Dict[str, float]]]) -> str:
    head = ("scenario", "tracker", "people", "tracks", "IDsw", "frag", "MOTA", "IDF1",
            "jitter raw", "jitter smooth", "reduction", "RMSE raw", "RMSE smooth", "lag")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for scen, label, r in rows:
        lines.append(" | ".join([
            scen, label, str(r["people"]), str(r["pred_tracks"]), str(r["id_switches"]), str(r["fragmentations"]),
            f"{r['mota']:.3f}", f"{r['idf1']:.3f}", f"{r['jitter_raw']:.2f}", f"{r['jitter_smooth']:.2f}",
            f"{100 * r['jitter_reduction']:.0f}%", f"{r['rmse_raw']:.2f}", f"{r['rmse_smooth']:.2f}", str(r["lag_frames"]),
        ]))
    return "\n".join("| " + line + " |" for line in lines)


def _combine(rs: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Sum the counts of several runs; recompute MOTA and IDF1; average the jitter figures."""
    tot = {k: sum(r[k] for r in rs) for k in ("people", "pred_tracks", "id_switches", "fragmentations", "frames",
                                              "false_positives", "false_negatives", "gt_boxes", "pred_boxes")}
    tot["mota"] = 1.0 - (tot["false_negatives"] + tot["false_positives"] + tot["id_switches"]) / tot["gt_boxes"]
    idtp = sum(r["idf1"] * (r["gt_boxes"] + r["pred_boxes"]) / 2 for r in rs)
    tot["idf1"] = 2 * idtp / (tot["gt_boxes"] + tot["pred_boxes"])
    for k in ("jitter_raw", "jitter_smooth", "rmse_raw", "rmse_smooth", "ms_per_update"):
        tot[k] = float(np.mean([r[k] for r in rs]))
    tot["jitter_reduction"] = 1.0 - tot["jitter_smooth"] / tot["jitter_raw"]
    tot["lag_frames"] = max(r["lag_frames"] for r in rs)
    return tot


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=150, help="frames per scenario (30 fps)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--seeds", type=int, default=3, help="runs per scenario (seeds vary speeds, places, looks, noise)")
    p.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    p.add_argument("--model", default=None, help="run this model on rendered frames instead of noisy ground truth")
    p.add_argument("--conf", type=float, default=0.1, help="detection threshold with --model")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    estimator = None
    if args.model:
        from yolopose import PoseEstimator

        estimator = PoseEstimator(args.model, conf=args.conf)
    source = f"model {args.model}" if args.model else "ground truth + noise (box 3%, keypoints 3%/9% of size, 8% missed, 5% false positives)"
    print(f"# Pose tracking on synthetic sequences: {len(args.scenarios)} scenarios x {args.seeds} seeds x {args.frames} frames, "
          f"{args.width}x{args.height}, detections from {source}", flush=True)
    per: Dict[str, Dict[str, Dict[str, float]]] = {}
    t0 = time.perf_counter()
    for name in args.scenarios:
        runs = [run_scenario(name, args.seed + k, args, estimator) for k in range(args.seeds)]
        per[name] = {label: _combine([r[label] for r in runs]) for label in TRACKERS}
        print(f"  {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    rows = [(s, label, per[s][label]) for s in per for label in TRACKERS]
    totals = {label: _combine([per[s][label] for s in per]) for label in TRACKERS}
    rows += [("all", label, totals[label]) for label in TRACKERS]
    print(_table(rows))
    main_label = next(iter(TRACKERS))
    tot = totals[main_label]
    print(f"\n{main_label}: {tot['id_switches']} ID switches over {tot['people']} people, MOTA {tot['mota']:.3f}, "
          f"IDF1 {tot['idf1']:.3f}; keypoint jitter {tot['jitter_raw']:.2f} -> {tot['jitter_smooth']:.2f} px "
          f"({100 * tot['jitter_reduction']:.0f}% less), RMSE {tot['rmse_raw']:.2f} -> {tot['rmse_smooth']:.2f} px, "
          f"lag <= {tot['lag_frames']} frames; {tot['ms_per_update']:.2f} ms per update")
    if args.json:
        from yolopose.core.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps({"args": vars(args), "scenarios": per, "totals": totals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
