"""COCO keypoint JSON (``person_keypoints_*.json`` + image folder) -> :class:`ImageRecord` list."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from yolopose.errors import DatasetError, ImageError

from ._images import image_size
from .records import ImageRecord, SkipLog, keypoint_problem

__all__ = ["read_coco_json", "person_category", "load_coco_records", "coco_gt_subset"]

_TOL = 1.0  # pixels a box or keypoint may stick out of the image before it counts as out of range


def read_coco_json(path: Path) -> Dict[str, Any]:
    """Parse a COCO JSON file; :class:`DatasetError` naming the file if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: annotation file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{path}: not a COCO annotation file (no 'images' list)")
    data.setdefault("annotations", [])
    data.setdefault("categories", [{"id": 1, "name": "person"}])
    return data


def person_category(data: Dict[str, Any], path: Path) -> Tuple[int, int]:
    """``(category_id, num_keypoints)`` of the person (keypoint) category."""
    cats = data.get("categories") or []
    with_kpts = [c for c in cats if isinstance(c, dict) and c.get("keypoints")]
    named = [c for c in cats if isinstance(c, dict) and c.get("name") == "person"]
    cat = (named or with_kpts or [None])[0]
    if cat is None:
        raise DatasetError(f"{path}: no 'person' or keypoint category in 'categories'")
    k = len(cat.get("keypoints") or []) or 17
    return int(cat["id"]), k


def load_coco_records(json_path: Path, image_dir: Path, log: SkipLog, decode: bool = False) -> Tuple[List[ImageRecord], int]:
    """Records of every readable image (crowd annotations left out), and the keypoint count.

    Images that are missing or undecodable, and images with an annotation of the wrong keypoint
    count or out of the image, are reported through ``log`` and left out.
    """
    json_path, image_dir = Path(json_path), Path(image_dir)
    data = read_coco_json(json_path)
    cat_id, k = person_category(data, json_path)
    images: Dict[int, Dict[str, Any]] = {}
    for i, im in enumerate(data["images"]):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            log.skip(f"{json_path}: images[{i}]", "entry without 'id' or 'file_name'")
            continue
        images[int(im["id"])] = im
    people: Dict[int, List[Tuple[np.ndarray, np.ndarray]]] = {i: [] for i in images}
    bad: set = set()
    for n, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or int(ann.get("category_id", cat_id)) != cat_id:
            continue
        image_id = int(ann.get("image_id", -1))
        where = f"{json_path}: annotations[{n}] (id {ann.get('id')}, image {image_id})"
        if image_id not in images:
            log.skip(where, "refers to an unknown image")
            continue
        if ann.get("iscrowd", 0):
            continue  # crowd regions are for evaluation only
        im = images[image_id]
        w, h = float(im.get("width", 0) or 0), float(im.get("height", 0) or 0)
        try:
            bx, by, bw, bh = (float(v) for v in ann["bbox"])
            kp = np.asarray(ann.get("keypoints") or np.zeros(3 * k), dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            log.skip(where, "bbox or keypoints missing or not numbers")
            bad.add(image_id)
            continue
        if kp.size != 3 * k:
            log.skip(where, f"has {kp.size} keypoint values, expected {3 * k} ({k} keypoints)")
            bad.add(image_id)
            continue
        kp = kp.reshape(k, 3)
        if not np.isfinite(kp).all() or not np.isfinite([bx, by, bw, bh]).all():
            log.skip(where, "non-finite coordinates")
            bad.add(image_id)
            continue
        if bw <= 1 or bh <= 1:
            continue  # degenerate box (COCO has a few): nothing to learn from
        if w and h and (bx < -_TOL or by < -_TOL or bx + bw > w + _TOL or by + bh > h + _TOL):
            log.skip(where, f"bbox {[bx, by, bw, bh]} outside the {int(w)}x{int(h)} image")
            bad.add(image_id)
            continue
        problem = keypoint_problem(kp, w, h, _TOL)
        if problem is not None:
            log.skip(where, problem)
            bad.add(image_id)
            continue
        people[image_id].append((np.array([bx, by, bx + bw, by + bh], np.float32), kp))

    records: List[ImageRecord] = []
    for image_id, im in images.items():
        if image_id in bad:
            continue
        path = image_dir / str(im["file_name"])
        try:
            h, w = image_size(path, decode=decode)
        except ImageError as exc:
            log.skip(f"{json_path}: image {image_id}", str(exc))
            continue
        jw, jh = int(im.get("width", w) or w), int(im.get("height", h) or h)
        if (jh, jw) != (h, w):
            log.skip(f"{json_path}: image {image_id} ({path})", f"file is {w}x{h} but the JSON says {jw}x{jh}")
            continue
        pp = people[image_id]
        boxes = np.stack([p[0] for p in pp]) if pp else np.zeros((0, 4), np.float32)
        kpts = np.stack([p[1] for p in pp]) if pp else np.zeros((0, k, 3), np.float32)
        records.append(ImageRecord(str(path), image_id, h, w, boxes, kpts))
    return records, k


def coco_gt_subset(data: Dict[str, Any], image_ids: Optional[set]) -> Dict[str, Any]:
    """The COCO dict restricted to ``image_ids`` (crowd annotations kept as they are)."""
    if image_ids is None:
        return data
    out = dict(data)
    out["images"] = [im for im in data["images"] if int(im["id"]) in image_ids]
    out["annotations"] = [a for a in data.get("annotations", []) if int(a.get("image_id", -1)) in image_ids]
    return out
