"""The ``coco`` dataset format: COCO keypoint JSON (``person_keypoints_*.json`` + image folder) -> :class:`ImageRecord` list."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolopose.core.evaluation.annotations import check_coco, image_path
from yolopose.core.errors import DatasetError, ImageError
from yolopose.core.fileio import atomic_write_text
from yolopose.core.keypoints import COCO_KEYPOINT_NAMES, COCO_SKELETON

from ._images import image_size
from .formats import DatasetFormat, DataSpec, FormatInputs
from .records import ImageRecord, SkipLog, keypoint_problem

__all__ = ["CocoFormat", "coco_gt_subset", "coco_image_dir", "load_coco_records", "person_category", "read_coco_json"]

_TOL = 1.0  # pixels a box or keypoint may stick out of the image before it counts as out of range


def read_coco_json(path: Path, log: Optional[SkipLog] = None) -> Dict[str, Any]:
    """Parse a COCO JSON file and keep its well-formed records (:func:`yolopose.core.evaluation.check_coco`);
    each bad record is reported through ``log`` (file, record, field) and left out.
    :class:`DatasetError` naming the file if it is not a COCO file at all."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: annotation file not found") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{path}: not a COCO annotation file (no 'images' list)")
    data.setdefault("annotations", [])
    data.setdefault("categories", [{"id": 1, "name": "person"}])
    check = check_coco(data, str(path))
    for problem in check.problems:
        if log is not None:
            log.replay(f"{problem.text}; skipped")
    data = check.data(data)
    # an image with a malformed annotation would train with a person missing: leave it out too
    data["_bad_images"] = sorted({p.image_id for p in check.problems if p.image_id is not None})
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


def load_coco_records(json_path: Path, image_dir: Path, log: SkipLog, decode: bool = False,
                      allow_outside: bool = False) -> Tuple[List[ImageRecord], int]:
    """Records of every readable image (crowd annotations left out), and the keypoint count.

    Malformed records (a string ``image_id``, a ``bbox`` that is not four numbers...), images that
    are missing or undecodable, images whose ``file_name`` leaves ``image_dir`` (unless
    ``allow_outside``), and images with an annotation of the wrong keypoint count or out of the
    image, are reported through ``log`` and left out.
    """
    json_path, image_dir = Path(json_path), Path(image_dir)
    data = read_coco_json(json_path, log)
    cat_id, k = person_category(data, json_path)
    images: Dict[int, Dict[str, Any]] = {im["id"]: im for im in data["images"]}
    people: Dict[int, List[Tuple[np.ndarray, np.ndarray]]] = {i: [] for i in images}
    bad: set = set(data["_bad_images"])
    for n, ann in enumerate(data["annotations"]):
        if ann["category_id"] != cat_id:
            continue
        image_id = ann["image_id"]
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
        try:
            path = image_path(image_dir, im["file_name"], f"{json_path}: image {image_id}", allow_outside)
            h, w = image_size(path, decode=decode)
        except DatasetError as exc:
            log.replay(f"{exc}; skipped")
            continue
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
    out = {key: value for key, value in data.items() if not key.startswith("_")}
    if image_ids is None:
        return out
    out["images"] = [im for im in data["images"] if im["id"] in image_ids]
    out["annotations"] = [a for a in data.get("annotations", []) if a["image_id"] in image_ids]
    return out


def coco_image_dir(json_path: Path) -> Path:
    """The image folder of a COCO JSON: ``images/<split>``, ``<split>`` or ``images`` beside it or
    beside its ``annotations`` folder (``person_keypoints_<split>.json``)."""
    stem = json_path.stem
    sub = stem[len("person_keypoints_"):] if stem.startswith("person_keypoints_") else stem
    parent = json_path.parent
    root = parent.parent if parent.name == "annotations" else parent
    tried = [root / "images" / sub, root / sub, parent / "images" / sub, parent / sub, parent / "images",
             root / "images"]
    for t in tried:
        if t.is_dir():
            return t
    raise DatasetError(f"{json_path}: cannot find its image folder; tried "
                       + ", ".join(str(t) for t in tried) + " (name it with '<split>_images' in a YAML)")


class CocoFormat(DatasetFormat):
    """COCO keypoint JSON (``labels``) and its image folder; a dataset folder keeps split ``s`` as
    ``annotations/person_keypoints_<s>.json`` (what ``yolopose-train synth`` writes)."""

    name = "coco"

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() == ".json" and path.is_file()

    def in_folder(self, root: Path, split: str) -> Optional[Path]:
        labels = root / "annotations" / f"person_keypoints_{split}.json"
        return labels if labels.is_file() else None

    def images_for(self, labels: Path) -> Path:
        return coco_image_dir(labels)

    def inputs(self, spec: DataSpec, log: SkipLog) -> FormatInputs:
        return FormatInputs(files=[spec.labels], folders=[spec.images], num_keypoints=spec.num_keypoints)

    def load(self, spec: DataSpec, inputs: FormatInputs, log: SkipLog, decode: bool) -> Tuple[List[ImageRecord], int]:
        records, k = load_coco_records(spec.labels, spec.images, log, decode=decode, allow_outside=spec.allow_outside)
        if spec.num_keypoints is not None and spec.num_keypoints != k:
            raise DatasetError(f"{spec.labels}: has {k} keypoints per person but the data YAML says "
                               f"kpt_shape [{spec.num_keypoints}, ...]")
        return records, k

    def ground_truth(self, spec: DataSpec, records: Sequence[ImageRecord], num_keypoints: int) -> Dict[str, Any]:
        """The JSON itself (crowd annotations included) restricted to the usable images."""
        return coco_gt_subset(read_coco_json(spec.labels), {r.image_id for r in records})

    def write(self, records: Sequence[ImageRecord], root: Path, split: str) -> Path:
        """``root/images/<split>/`` (the images) and ``root/annotations/person_keypoints_<split>.json``."""
        images_dir = Path(root) / "images" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        k = records[0].keypoints.shape[1] if records else len(COCO_KEYPOINT_NAMES)
        names = list(COCO_KEYPOINT_NAMES) if k == len(COCO_KEYPOINT_NAMES) else [f"kp{i}" for i in range(k)]
        skeleton = COCO_SKELETON if k == len(COCO_KEYPOINT_NAMES) else ()
        images, annotations = [], []
        for rec in records:
            name = Path(rec.path).name
            shutil.copyfile(rec.path, images_dir / name)
            images.append({"id": int(rec.image_id), "file_name": name, "width": int(rec.width), "height": int(rec.height)})
            for box, kp in zip(rec.boxes, rec.keypoints):
                x1, y1, x2, y2 = (float(v) for v in box)
                annotations.append({"id": len(annotations) + 1, "image_id": int(rec.image_id), "category_id": 1,
                                    "iscrowd": 0, "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                    "num_keypoints": int((kp[:, 2] > 0).sum()),
                                    "keypoints": [float(v) for v in kp.reshape(-1)]})
        data = {"images": images, "annotations": annotations,
                "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names,
                                "skeleton": [[a + 1, b + 1] for a, b in skeleton]}]}
        labels = Path(root) / "annotations" / f"person_keypoints_{split}.json"
        labels.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(labels, json.dumps(data))
        return labels
