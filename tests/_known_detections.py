"""Tiny real pose models whose detections are known, and small COCO sets to evaluate them on.

The ONNX graph ignores its input (``0 * mean(images)`` plus a constant per output), so
whatever image goes in, the SDK's decode sees exactly the raw tensors built here by inverting the
YOLO-Pose decode (``conftest.encode``) for the poses asked for. The images of :func:`make_dataset`
are 128x96, letterboxed into the 64x64 input with scale 0.5 and 8 px of padding above and below
(:func:`to_network`), so a pose given in original pixels is detected at its original place.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from conftest import encode, logit

from yolopose.core.keypoints import COCO_KEYPOINT_NAMES, COCO_OKS_SIGMAS, COCO_SKELETON
from yolopose.core.metadata import METADATA_KEY, ModelMetadata

from _graphs import ANCHORS, IMGSZ, STRIDES  # one tiny-model world (strides, anchors, metadata) for every helper

K = 17


def metadata(name: str = "known") -> ModelMetadata:
    """The tiny test model's metadata (``_graphs.metadata``) under ``name``."""
    from _graphs import metadata as graph_metadata

    return graph_metadata(model=name, description="known detections")


def raw_outputs(poses: Sequence[Tuple[np.ndarray, np.ndarray, float]]) -> Dict[Tuple[int, str], np.ndarray]:
    """Raw NHWC outputs that decode to ``poses``: each ``(box xyxy, keypoints (K, 2), score)`` in input pixels.

    Each pose goes to the first level/anchor whose cell is still free and whose anchor can
    represent the box (w/aw, h/ah < 4). Keypoint confidences are 0.9.
    """
    meta = metadata()
    shapes = meta.raw_output_shapes()
    out = {key: np.zeros(shape, np.float32) for key, shape in shapes.items()}
    na = meta.num_anchors
    for lvl in range(len(STRIDES)):
        det = out[(lvl, "det")].reshape(*shapes[(lvl, "det")][:3], na, 6)
        det[..., 4] = -30.0  # objectness ~ 1e-13: nothing else is detected
        det[..., 5] = 8.0
    used = set()
    for box, kpts, score in poses:
        x0, y0, x1, y1 = (float(v) for v in box)
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        for lvl, s in enumerate(STRIDES):
            gx, gy = int(cx // s), int(cy // s)
            choice = next((a for a, (aw, ah) in enumerate(ANCHORS[lvl])
                           if w / aw < 3.9 and h / ah < 3.9 and (lvl, gy, gx, a) not in used), None)
            if choice is not None:
                break
        else:
            raise ValueError(f"no free anchor can represent box {box}")
        used.add((lvl, gy, gx, choice))
        aw, ah = ANCHORS[lvl][choice]
        hw = shapes[(lvl, "det")][1:3]
        det = out[(lvl, "det")].reshape(1, *hw, na, 6)
        cls_p = 1.0 / (1.0 + math.exp(-8.0))
        t, raw_kpts = encode((cx, cy, w, h), np.asarray(kpts), (gx, gy), s, (aw, ah))
        det[0, gy, gx, choice] = [*t, logit(score / cls_p), 8.0]
        kxy = out[(lvl, "kpt_xy")].reshape(1, *hw, na, K, 2)
        kxy[0, gy, gx, choice] = raw_kpts
        kc = out[(lvl, "kpt_conf")].reshape(1, *hw, na, K)
        kc[0, gy, gx, choice] = logit(0.9)
    return out


def write_onnx(path: Path, raw: Dict[Tuple[int, str], np.ndarray], name: str = "known") -> Path:
    """An ONNX file (``_graphs.constant_onnx``) with input ``images (1, 3, H, W)`` and the given
    raw outputs, whatever the image."""
    from _graphs import constant_onnx

    meta = metadata(name)
    outputs = [(spec.name, raw[(spec.level, spec.kind)]) for spec in meta.outputs]
    return constant_onnx(path, outputs, {METADATA_KEY: meta.to_json()}, imgsz=IMGSZ, follow_input=False)


# ----------------------------------------------------------------------------- COCO test sets
IMG_W, IMG_H = 128, 96


def to_network(xy) -> np.ndarray:
    """Original pixels of a 128x96 image -> pixels of the 64x64 network input."""
    return np.asarray(xy, np.float64) * 0.5 + np.array([0.0, 8.0])


def pose(rng: np.random.Generator, x0: float, y0: float, x1: float, y1: float) -> Tuple[np.ndarray, np.ndarray]:
    """A box and 17 keypoints inside it, in original image pixels."""
    kp = np.stack([rng.uniform(x0 + 2, x1 - 2, 17), rng.uniform(y0 + 2, y1 - 2, 17)], axis=1)
    return np.array([x0, y0, x1, y1], np.float64), kp


def gt_annotation(ann_id: int, image_id: int, box, kp, visible=None) -> dict:
    """A COCO person annotation (``visible``: per-keypoint v flags, default all 2)."""
    vis = np.full(17, 2) if visible is None else np.asarray(visible)
    flat = np.concatenate([np.asarray(kp, np.float64), vis[:, None]], axis=1)
    flat[vis == 0, :2] = 0
    x0, y0, x1, y1 = (float(v) for v in box)
    return {
        "id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
        "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
        "keypoints": flat.ravel().tolist(), "num_keypoints": int((vis > 0).sum()),
    }


def make_dataset(root: Path, annotations: List[dict], n_images: int) -> Tuple[Path, Path]:
    """``root/gt.json`` and ``root/images/img_{i}.png`` (ids ``100 + i``); returns both paths."""
    from PIL import Image

    images = root / "images"
    images.mkdir(parents=True)
    entries = []
    for i in range(n_images):
        name = f"img_{i}.png"
        Image.fromarray(np.full((IMG_H, IMG_W, 3), 40 * i, np.uint8)).save(images / name)
        entries.append({"id": 100 + i, "file_name": name, "width": IMG_W, "height": IMG_H})
    gt = {
        "images": entries,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person",
                        "keypoints": list(COCO_KEYPOINT_NAMES), "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON]}],
    }
    data = root / "gt.json"
    data.write_text(json.dumps(gt))
    return data, images


def scene(seed: int = 3):
    """Three poses P, R, Q (box, keypoints) in original pixels."""
    rng = np.random.default_rng(seed)
    return pose(rng, 12, 10, 52, 86), pose(rng, 70, 20, 110, 80), pose(rng, 60, 4, 100, 50)


def known_raw(poses) -> Dict[Tuple[int, str], np.ndarray]:
    """Raw outputs detecting ``poses`` = ``[(box, keypoints, score)]`` given in original pixels."""
    return raw_outputs([(to_network(np.reshape(b, (2, 2))).ravel(), to_network(k), s) for b, k, s in poses])


def mixed_case(root: Path):
    """A model detecting P (0.9) and R (0.3) everywhere, on 3 images: P exact, P rough + R, Q only.

    Returns ``(raw outputs, gt.json, image folder)``; metrics are strictly between 0 and 1.
    """
    (p_box, p_kp), (r_box, r_kp), (q_box, q_kp) = scene()
    rng = np.random.default_rng(5)
    vis = np.where(rng.uniform(size=17) < 0.3, 0, 2)
    anns = [
        gt_annotation(1, 100, p_box, p_kp),  # found exactly
        gt_annotation(2, 101, p_box, p_kp + rng.normal(0, 2.0, p_kp.shape), vis),  # found roughly
        gt_annotation(3, 101, r_box, r_kp + rng.normal(0, 4.0, r_kp.shape)),  # found by the weaker one
        gt_annotation(4, 102, q_box, q_kp),  # missed; P and R are false positives here
    ]
    data, images = make_dataset(root, anns, 3)
    return known_raw([(p_box, p_kp, 0.9), (r_box, r_kp, 0.3)]), data, images


def pycocotools_direct(gt_path: Path, results: List[dict], iou_type: str) -> np.ndarray:
    """pycocotools' COCOeval run directly: the reference every path must agree with."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(json.loads(json.dumps(results)))
        ev = COCOeval(gt, dt, iou_type)
        if iou_type == "keypoints":
            ev.params.kpt_oks_sigmas = np.asarray(COCO_OKS_SIGMAS)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)
