"""Joint-angle pose parameters of a synthetic figure, their limits, and plausible pose samplers.

Angles are radians in the figure's own frame. Limb directions start from "hanging straight down":
``*_flex`` swings a limb forward (180 deg points the arm straight up in front), ``*_abd`` swings it
out to the figure's side, ``*_elbow`` / ``*_knee`` bend the lower segment (elbows forward, knees
backward) and ``*_twist`` turns that bending plane about the upper segment.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Callable, Dict, Tuple

import numpy as np

__all__ = ["Pose", "POSE_LIMITS", "POSE_SAMPLERS", "sample_pose", "walking_pose", "clip_pose"]

_D = math.pi / 180.0


@dataclass(frozen=True)
class Pose:
    """Joint angles (radians) of one figure. All defaults: standing upright, arms down."""

    torso_pitch: float = 0.0  # bend forward (+) / lean back (-)
    torso_roll: float = 0.0  # lean towards the figure's left (+)
    head_yaw: float = 0.0  # turn the head towards the figure's left (+)
    head_pitch: float = 0.0  # nod down (+)
    l_shoulder_flex: float = 0.0
    l_shoulder_abd: float = 0.1
    l_elbow: float = 0.1
    l_elbow_twist: float = 0.0
    r_shoulder_flex: float = 0.0
    r_shoulder_abd: float = 0.1
    r_elbow: float = 0.1
    r_elbow_twist: float = 0.0
    l_hip_flex: float = 0.0
    l_hip_abd: float = 0.05
    l_knee: float = 0.05
    r_hip_flex: float = 0.0
    r_hip_abd: float = 0.05
    r_knee: float = 0.05

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> "Pose":
        return cls(**{f.name: float(v) for f, v in zip(fields(cls), values)})


#: (low, high) limit of every joint angle, in radians.
POSE_LIMITS: Dict[str, Tuple[float, float]] = {
    "torso_pitch": (-15 * _D, 85 * _D),
    "torso_roll": (-20 * _D, 20 * _D),
    "head_yaw": (-60 * _D, 60 * _D),
    "head_pitch": (-30 * _D, 40 * _D),
    "l_shoulder_flex": (-60 * _D, 180 * _D),
    "l_shoulder_abd": (-10 * _D, 170 * _D),
    "l_elbow": (0.0, 150 * _D),
    "l_elbow_twist": (-90 * _D, 90 * _D),
    "r_shoulder_flex": (-60 * _D, 180 * _D),
    "r_shoulder_abd": (-10 * _D, 170 * _D),
    "r_elbow": (0.0, 150 * _D),
    "r_elbow_twist": (-90 * _D, 90 * _D),
    "l_hip_flex": (-30 * _D, 120 * _D),
    "l_hip_abd": (-10 * _D, 50 * _D),
    "l_knee": (0.0, 150 * _D),
    "r_hip_flex": (-30 * _D, 120 * _D),
    "r_hip_abd": (-10 * _D, 50 * _D),
    "r_knee": (0.0, 150 * _D),
}

_LOW = np.array([POSE_LIMITS[f.name][0] for f in fields(Pose)])
_HIGH = np.array([POSE_LIMITS[f.name][1] for f in fields(Pose)])


def clip_pose(pose: Pose) -> Pose:
    """The pose with every angle clipped to :data:`POSE_LIMITS`."""
    return Pose.from_array(np.clip(pose.as_array(), _LOW, _HIGH))


def _jitter(rng: np.random.Generator, pose: Pose, deg: float) -> Pose:
    values = pose.as_array() + rng.normal(0.0, deg * _D, size=len(_LOW))
    return clip_pose(Pose.from_array(values))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo * _D, hi * _D))


def _head(rng: np.random.Generator) -> dict:
    return {"head_yaw": _u(rng, -40, 40), "head_pitch": _u(rng, -15, 25)}


def walking_pose(phase: float, stride: float = 1.0, arm_swing: float = 1.0) -> Pose:
    """A walking pose at gait ``phase`` (radians; one cycle is 2*pi). Deterministic, for sequences.

    ``stride`` scales the leg swing (1.0 is a brisk walk, 2.0 a run), ``arm_swing`` the arm swing.
    """
    s = math.sin(phase)
    leg = 28 * _D * stride
    knee_l = max(0.0, math.sin(phase + 1.2)) * 45 * _D * stride + 5 * _D
    knee_r = max(0.0, math.sin(phase + 1.2 + math.pi)) * 45 * _D * stride + 5 * _D
    arm = 25 * _D * arm_swing
    return clip_pose(
        Pose(
            torso_pitch=5 * _D * stride,
            l_hip_flex=leg * s,
            r_hip_flex=-leg * s,
            l_knee=knee_l,
            r_knee=knee_r,
            l_shoulder_flex=-arm * s,
            r_shoulder_flex=arm * s,
            l_elbow=(20 + 25 * max(0.0, -s) + 40 * (stride - 1)) * _D,
            r_elbow=(20 + 25 * max(0.0, s) + 40 * (stride - 1)) * _D,
        )
    )


def _standing(rng: np.random.Generator) -> Pose:
    return _jitter(rng, Pose(l_shoulder_abd=_u(rng, 0, 25), r_shoulder_abd=_u(rng, 0, 25),
                             l_elbow=_u(rng, 0, 60), r_elbow=_u(rng, 0, 60),
                             l_hip_abd=_u(rng, 0, 15), r_hip_abd=_u(rng, 0, 15), **_head(rng)), 6)


def _walking(rng: np.random.Generator) -> Pose:
    stride = float(rng.choice([rng.uniform(0.5, 1.2), rng.uniform(1.2, 2.0)], p=[0.75, 0.25]))
    pose = walking_pose(float(rng.uniform(0, 2 * math.pi)), stride, float(rng.uniform(0.5, 1.5)))
    return _jitter(rng, replace(pose, **_head(rng)), 5)


def _arms_raised(rng: np.random.Generator) -> Pose:
    def arm() -> dict:
        style = rng.integers(0, 4)
        if style == 0:  # straight up
            return {"flex": _u(rng, 140, 180), "abd": _u(rng, 0, 40), "elbow": _u(rng, 0, 30), "twist": 0.0}
        if style == 1:  # out to the side
            return {"flex": _u(rng, -10, 30), "abd": _u(rng, 70, 110), "elbow": _u(rng, 0, 40), "twist": 0.0}
        if style == 2:  # goal post / waving
            return {"flex": _u(rng, -10, 20), "abd": _u(rng, 70, 100), "elbow": _u(rng, 60, 110),
                    "twist": _u(rng, 60, 90)}
        return {"flex": _u(rng, 60, 110), "abd": _u(rng, 0, 30), "elbow": _u(rng, 0, 90), "twist": 0.0}

    left = arm()
    right = arm() if rng.random() < 0.6 else {"flex": _u(rng, -10, 20), "abd": _u(rng, 0, 20),
                                               "elbow": _u(rng, 0, 40), "twist": 0.0}
    if rng.random() < 0.5:
        left, right = right, left
    pose = Pose(l_shoulder_flex=left["flex"], l_shoulder_abd=left["abd"], l_elbow=left["elbow"],
                l_elbow_twist=left["twist"], r_shoulder_flex=right["flex"], r_shoulder_abd=right["abd"],
                r_elbow=right["elbow"], r_elbow_twist=right["twist"], l_hip_abd=_u(rng, 0, 20),
                r_hip_abd=_u(rng, 0, 20), **_head(rng))
    return _jitter(rng, pose, 5)


def _sitting(rng: np.random.Generator) -> Pose:
    flex = _u(rng, 65, 105)
    knee = flex + _u(rng, -20, 15)
    pose = Pose(torso_pitch=_u(rng, -10, 25), l_hip_flex=flex + _u(rng, -10, 10), r_hip_flex=flex + _u(rng, -10, 10),
                l_knee=knee, r_knee=knee + _u(rng, -15, 15), l_hip_abd=_u(rng, 0, 20), r_hip_abd=_u(rng, 0, 20),
                l_shoulder_flex=_u(rng, 0, 60), r_shoulder_flex=_u(rng, 0, 60),
                l_elbow=_u(rng, 20, 100), r_elbow=_u(rng, 20, 100), **_head(rng))
    return _jitter(rng, pose, 5)


def _bending(rng: np.random.Generator) -> Pose:
    pitch = _u(rng, 30, 80)
    pose = Pose(torso_pitch=pitch, l_hip_flex=_u(rng, -10, 15), r_hip_flex=_u(rng, -10, 15),
                l_knee=_u(rng, 0, 40), r_knee=_u(rng, 0, 40), l_shoulder_flex=pitch + _u(rng, -20, 30),
                r_shoulder_flex=pitch + _u(rng, -20, 30), l_elbow=_u(rng, 0, 60), r_elbow=_u(rng, 0, 60),
                head_pitch=_u(rng, -30, 10), head_yaw=_u(rng, -30, 30))
    return _jitter(rng, pose, 5)


def _random_plausible(rng: np.random.Generator) -> Pose:
    """Every angle drawn inside its limits, biased towards the middle of the comfortable range."""
    base = Pose(**{k: float(rng.uniform(lo, lo + (hi - lo) * 0.6)) for k, (lo, hi) in POSE_LIMITS.items()
                   if not k.startswith("torso") and not k.startswith("head")})
    return _jitter(rng, replace(base, torso_pitch=_u(rng, -5, 30), torso_roll=_u(rng, -10, 10), **_head(rng)), 3)


#: pose family -> (probability weight, sampler).
POSE_SAMPLERS: Dict[str, Tuple[float, Callable[[np.random.Generator], Pose]]] = {
    "standing": (0.25, _standing),
    "walking": (0.30, _walking),
    "arms_raised": (0.17, _arms_raised),
    "sitting": (0.10, _sitting),
    "bending": (0.10, _bending),
    "random": (0.08, _random_plausible),
}


def sample_pose(rng: np.random.Generator, family: str = "") -> Pose:
    """A random plausible pose; ``family`` picks one of :data:`POSE_SAMPLERS` (default: weighted draw)."""
    names = list(POSE_SAMPLERS)
    if not family:
        weights = np.array([POSE_SAMPLERS[n][0] for n in names])
        family = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    return POSE_SAMPLERS[family][1](rng)
