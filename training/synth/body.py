"""Kinematic 2.5-D body model: joint angles + view -> 17 COCO keypoints and drawable body parts.

The body frame has axes ``(lat, down, fwd)``: ``lat`` points to the figure's own left, ``down`` to
its feet, ``fwd`` the way its pelvis faces; lengths are fractions of the standing height.
The view ``yaw`` turns the figure about the vertical axis (0: facing the camera, so its left
appears on the image's right; pi: back to the camera; +pi/2: facing image right, seen from its
right side). Projection is orthographic; ``depth`` grows away from the camera.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from .appearance import Appearance
from .pose import Pose

__all__ = ["BodyPart", "BodyLayout", "layout_body", "STANDING_HEIGHT"]

#: Height of the standing figure (ankle to crown plus feet) in body-frame units.
STANDING_HEIGHT = 0.95

_TORSO, _NECK, _HEAD_R = 0.30, 0.04, 0.062
_SHOULDER, _HIP = 0.105, 0.085
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.165, 0.145, 0.235, 0.235

_DOWN = np.array([0.0, 1.0, 0.0])
_FWD = np.array([0.0, 0.0, 1.0])
_LAT = np.array([1.0, 0.0, 0.0])


@dataclass(frozen=True)
class BodyPart:
    """One filled shape of a figure, already projected to image pixels."""

    name: str
    polygon: np.ndarray  # (P, 2) image x, y
    depth: float  # pixels, larger = farther from the camera
    region: str  # a name of appearance.REGIONS
    keypoints: Tuple[int, ...]  # keypoints this part belongs to (not occluders of them)
    shade: float  # brightness factor (far side darker)


@dataclass(frozen=True)
class BodyLayout:
    """A posed figure projected into the image."""

    keypoints: np.ndarray  # (17, 2) image x, y of the joint centres
    self_hidden: np.ndarray  # (17,) bool: face points turned away from the camera
    parts: List[BodyPart]  # in drawing order (far to near)
    eyes_visible: Tuple[bool, bool]


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-8 else fallback


def _limb_dir(flex: float, abd: float, side: float) -> np.ndarray:
    return np.array([side * math.sin(abd), math.cos(abd) * math.cos(flex), math.cos(abd) * math.sin(flex)])


def _bend(u: np.ndarray, towards: np.ndarray, angle: float, twist: float) -> np.ndarray:
    """Rotate unit vector ``u`` by ``angle`` in the plane spanned by ``u`` and ``towards`` (twisted about u)."""
    b = towards - float(towards @ u) * u
    b = _unit(b, _unit(-_DOWN - float(-_DOWN @ u) * u, _LAT))
    if twist:
        b = math.cos(twist) * b + math.sin(twist) * np.cross(u, b)
    return math.cos(angle) * u + math.sin(angle) * b


def _capsule(p1: np.ndarray, p2: np.ndarray, r1: float, r2: float, n: int = 7) -> np.ndarray:
    d = p2 - p1
    theta = math.atan2(float(d[1]), float(d[0])) if float(np.hypot(*d)) > 1e-6 else 0.0
    a1 = theta + np.linspace(math.pi / 2, 3 * math.pi / 2, n)
    a2 = theta + np.linspace(-math.pi / 2, math.pi / 2, n)
    arc1 = p1 + r1 * np.stack([np.cos(a1), np.sin(a1)], 1)
    arc2 = p2 + r2 * np.stack([np.cos(a2), np.sin(a2)], 1)
    return np.concatenate([arc1, arc2], 0)


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (monotone chain) of ``(N, 2)`` points, counter-clockwise."""
    pts = sorted(map(tuple, np.round(points, 3)))
    if len(pts) < 3:
        return np.asarray(pts, dtype=np.float64)

    def cross(o: tuple, a: tuple, b: tuple) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], dtype=np.float64)


def _ellipse(c: np.ndarray, a_vec: np.ndarray, b_vec: np.ndarray, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return c + np.cos(t)[:, None] * a_vec + np.sin(t)[:, None] * b_vec


def layout_body(pose: Pose, appearance: Appearance, x: float, y: float, height: float,
                yaw: float = 0.0, roll: float = 0.0) -> BodyLayout:
    """Pose the figure, project it with pelvis centre at image ``(x, y)`` and ``height`` pixels tall.

    ``roll`` tilts the whole figure in the image plane (radians, clockwise positive).
    """
    app = appearance
    k = height / STANDING_HEIGHT  # pixels per body unit
    cy, sy, cr, sr = math.cos(yaw), math.sin(yaw), math.cos(roll), math.sin(roll)

    def proj(p: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        p = np.atleast_2d(p)
        px = p[:, 0] * cy + p[:, 2] * sy
        pz = p[:, 0] * sy - p[:, 2] * cy
        py = p[:, 1]
        ix = x + k * (px * cr - py * sr)
        iy = y + k * (px * sr + py * cr)
        return np.stack([ix, iy], 1), pz * k

    # --- torso and head frame
    tp, tr = pose.torso_pitch, pose.torso_roll
    spine = np.array([math.sin(tr), -math.cos(tp) * math.cos(tr), math.sin(tp) * math.cos(tr)])
    lat_t = _unit(_LAT - float(_LAT @ spine) * spine, _LAT)
    fwd_t = -np.cross(lat_t, spine)  # lat x down = fwd in the (lat, down, fwd) frame, spine points up
    root = np.zeros(3)
    neck = root + spine * _TORSO
    shoulder_half = _SHOULDER * app.shoulders
    sh_c = neck - spine * 0.03
    joints: Dict[str, np.ndarray] = {
        "l_shoulder": sh_c + lat_t * shoulder_half,
        "r_shoulder": sh_c - lat_t * shoulder_half,
        "l_hip": root + _LAT * _HIP,
        "r_hip": root - _LAT * _HIP,
    }
    hp, hy = pose.head_pitch, pose.head_yaw
    head_up = math.cos(hp) * spine + math.sin(hp) * fwd_t
    head_r = _HEAD_R * app.head_size
    head_c = neck + head_up * (_NECK + head_r * 0.95)
    hf0 = math.cos(hp) * fwd_t - math.sin(hp) * spine
    head_f = math.cos(hy) * hf0 + math.sin(hy) * lat_t
    head_l = math.cos(hy) * lat_t - math.sin(hy) * hf0

    # --- limbs
    w = app.build
    for side, s in (("l", 1.0), ("r", -1.0)):
        u = _limb_dir(getattr(pose, f"{side}_shoulder_flex"), getattr(pose, f"{side}_shoulder_abd"), s)
        elbow = joints[f"{side}_shoulder"] + u * _UPPER_ARM
        f = _bend(u, _FWD - _DOWN * 0.2, getattr(pose, f"{side}_elbow"), s * getattr(pose, f"{side}_elbow_twist"))
        wrist = elbow + f * _FOREARM
        joints[f"{side}_elbow"], joints[f"{side}_wrist"] = elbow, wrist
        joints[f"{side}_hand"] = wrist + f * 0.055
        t = _limb_dir(getattr(pose, f"{side}_hip_flex"), getattr(pose, f"{side}_hip_abd"), s)
        knee = joints[f"{side}_hip"] + t * _THIGH
        sdir = _bend(t, -_FWD, getattr(pose, f"{side}_knee"), 0.0)
        ankle = knee + sdir * _SHIN
        joints[f"{side}_knee"], joints[f"{side}_ankle"] = knee, ankle
        joints[f"{side}_toe"] = ankle + _FWD * 0.075 + _DOWN * 0.015

    # --- face keypoints and their facing
    face_offsets = [
        0.97 * head_f - 0.12 * head_up,  # nose
        0.80 * head_f + 0.36 * head_l + 0.15 * head_up,  # left eye
        0.80 * head_f - 0.36 * head_l + 0.15 * head_up,  # right eye
        0.97 * head_l - 0.15 * head_f + 0.05 * head_up,  # left ear
        -0.97 * head_l - 0.15 * head_f + 0.05 * head_up,  # right ear
    ]
    face3d = np.stack([head_c + head_r * o for o in face_offsets])
    # component of each face normal that points to the camera (camera looks along +depth)
    normals = np.stack(face_offsets)
    towards_cam = -(normals[:, 0] * sy - normals[:, 2] * cy)
    face_hidden = np.array([towards_cam[0] < 0.05, towards_cam[1] < 0.1, towards_cam[2] < 0.1,
                            towards_cam[3] < -0.3, towards_cam[4] < -0.3])

    order = ["l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
             "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle"]
    body3d = np.stack([joints[n] for n in order])
    kp2d = np.concatenate([proj(face3d)[0], proj(body3d)[0]], 0)
    hidden = np.zeros(17, dtype=bool)
    hidden[:5] = face_hidden

    # --- parts
    parts: List[BodyPart] = []
    depth_scale = max(k * 0.2, 1e-6)

    def shade_for(depth: float) -> float:
        return float(np.clip(1.0 - 0.35 * depth / depth_scale, 0.6, 1.15))

    def add_capsule(name: str, a: np.ndarray, b: np.ndarray, r1: float, r2: float, region: str,
                    kps: Tuple[int, ...], bias: float = 0.0) -> None:
        (p, d) = proj(np.stack([a, b]))
        depth = float(d.mean()) + bias * k
        parts.append(BodyPart(name, _capsule(p[0], p[1], r1 * k, r2 * k), depth, region, kps, shade_for(depth)))

    # torso: convex hull of three cross-sections
    sections = [
        (neck - spine * 0.035, shoulder_half + 0.025 * w, 0.065 * w),
        (root + spine * 0.14, _HIP + 0.012 * w, 0.06 * w),
        (root - spine * 0.04, _HIP + 0.04 * w, 0.07 * w),
    ]
    pts3d = np.concatenate([_ellipse(c, lat_t * a, fwd_t * b, 12) for c, a, b in sections], 0)
    p2, _ = proj(pts3d)
    torso_depth = float(proj(root + spine * _TORSO * 0.5)[1][0]) + 0.02 * k
    parts.append(BodyPart("torso", _hull(p2), torso_depth, "shirt", (5, 6, 11, 12), shade_for(torso_depth - 0.02 * k)))
    add_capsule("neck", neck - spine * 0.02, head_c, 0.03 * w, 0.028 * w, "skin", (0, 1, 2, 3, 4, 5, 6), 0.01)

    # head (+ hair + near ear)
    hc2, hcd = proj(head_c)
    up2 = proj(head_c + head_up)[0][0] - hc2[0]
    up2 = _unit(up2, np.array([0.0, -1.0])) if np.hypot(*up2) > 0.05 else np.array([0.0, -1.0])
    perp2 = np.array([-up2[1], up2[0]])
    rk = head_r * k
    head_poly = _ellipse(hc2[0], perp2 * rk, up2 * rk * 1.12, 18)
    head_depth = float(hcd[0])
    facing_cam = float(-(head_f[0] * sy - head_f[2] * cy))  # > 0: face towards the camera
    face_kps = (0, 1, 2, 3, 4)
    head_part = BodyPart("head", head_poly, head_depth, "skin", face_kps, shade_for(head_depth))
    hair_part = None
    if app.hair_style != "none":
        off3 = head_r * (-0.28 * head_f + 0.22 * head_up)
        scale_b = 1.2 if app.hair_style == "short" else 1.45
        if app.hair_style == "long":
            off3 = off3 - head_r * 0.35 * head_up
        hair_c = proj(head_c + off3)[0][0]
        hair_poly = _ellipse(hair_c, perp2 * rk * 1.04, up2 * rk * scale_b * 0.95, 18)
        hair_part = BodyPart("hair", hair_poly, head_depth, "hair", face_kps, shade_for(head_depth))
    ears = []
    for i, side in ((3, 1.0), (4, -1.0)):
        if not face_hidden[i] and abs(facing_cam) < 0.97:
            ears.append(BodyPart("ear", _ellipse(kp2d[i], perp2 * rk * 0.2, up2 * rk * 0.3, 8), head_depth,
                                 "skin", (i,), shade_for(head_depth) * 0.92))
    head_group = ([hair_part] if hair_part is not None and facing_cam > -0.3 else []) + [head_part] + ears
    if hair_part is not None and facing_cam <= -0.3:
        head_group.append(hair_part)

    for side, s, base in (("l", 1.0, 0), ("r", -1.0, 1)):
        sh, el, wr = 5 + base, 7 + base, 9 + base
        hip, kn, an = 11 + base, 13 + base, 15 + base
        sleeve = "shirt" if app.long_sleeves else "skin"
        shin_region = "skin" if app.shorts else "pants"
        add_capsule(f"{side}_upper_arm", joints[f"{side}_shoulder"], joints[f"{side}_elbow"], 0.036 * w, 0.03 * w,
                    "shirt", (sh, el))
        add_capsule(f"{side}_forearm", joints[f"{side}_elbow"], joints[f"{side}_wrist"], 0.028 * w, 0.022 * w,
                    sleeve, (el, wr), -0.001)
        add_capsule(f"{side}_hand", joints[f"{side}_wrist"], joints[f"{side}_hand"], 0.022, 0.02, "skin", (wr,), -0.002)
        add_capsule(f"{side}_thigh", joints[f"{side}_hip"], joints[f"{side}_knee"], 0.055 * w, 0.043 * w, "pants",
                    (hip, kn))
        add_capsule(f"{side}_shin", joints[f"{side}_knee"], joints[f"{side}_ankle"], 0.041 * w, 0.03 * w,
                    shin_region, (kn, an), -0.001)
        add_capsule(f"{side}_foot", joints[f"{side}_ankle"], joints[f"{side}_toe"], 0.024, 0.02, "shoes", (an,), -0.002)

    parts.sort(key=lambda p: -p.depth)
    # the head group keeps its internal order; insert it where the head's depth puts it
    idx = next((i for i, p in enumerate(parts) if p.depth < head_depth), len(parts))
    parts[idx:idx] = head_group
    eyes_visible = (not face_hidden[1], not face_hidden[2])
    return BodyLayout(kp2d, hidden, parts, eyes_visible)
