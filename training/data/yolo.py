"""The ``yolo`` dataset format: YOLO-pose txt labels -> :class:`ImageRecord` list, and the equivalent COCO dict for evaluation.

One text file per image, one line per person: ``class cx cy w h`` then ``x y v`` (or ``x y``)
per keypoint, all coordinates normalised to [0, 1] by the image size. Without ``v``, a point at
(0, 0) is "not labelled" (v = 0) and any other point is visible (v = 2).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolopose.core.errors import DatasetError, ImageError
from yolopose.core.fileio import atomic_write_text
from yolopose.core.keypoints import COCO_KEYPOINT_NAMES, COCO_SKELETON, NUM_COCO_KEYPOINTS

from ._images import IMAGE_SUFFIXES, image_size
from .formats import DatasetFormat, DataSpec, FormatInputs
from .records import ImageRecord, SkipLog, keypoint_problem

__all__ = ["YoloFormat", "list_images", "label_path_for", "parse_label_file", "load_yolo_records", "records_to_coco"]

_TOL = 1e-3
#: Ratio of a person's segmentation area to its box area used for OKS when only boxes are known.
BOX_AREA_FRACTION = 0.53


def list_images(source: Path, log: Optional[SkipLog] = None) -> List[Path]:
    """Images of a folder (sorted) or of a ``.txt`` list (one path per line, relative to the list).

    Symbolic links in the folder that cannot be followed (a loop, a missing target) are reported
    through ``log`` and left out, like other unreadable files."""
    source = Path(source)
    if source.is_dir():
        files = []
        for p in sorted(source.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if p.is_file():
                files.append(p)
            elif p.is_symlink() and log is not None:
                log.skip(str(p), f"a symbolic link that cannot be followed ({_link_problem(p)})")
    elif source.is_file() and source.suffix.lower() == ".txt":
        try:
            lines = [ln.strip() for ln in source.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{source}: cannot read this list of images ({exc})") from None
        files = [(source.parent / ln) if not Path(ln).is_absolute() else Path(ln) for ln in lines]
    else:
        raise DatasetError(f"{source}: not an image folder or a .txt list of images")
    return files


def _link_problem(path: Path) -> str:
    try:
        path.stat()
    except OSError as exc:
        return exc.strerror or str(exc)
    return "not a file"


def label_path_for(image: Path) -> Path:
    """``.../images/<sub>/x.jpg`` -> ``.../labels/<sub>/x.txt`` (else ``x.txt`` next to the image)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            return Path(*parts[:i], "labels", *parts[i + 1 : -1], image.stem + ".txt")
    return image.with_suffix(".txt")


def parse_label_file(path: Path, num_keypoints: int, log: SkipLog) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Normalised ``(boxes cx cy w h (n, 4), keypoints (n, K, 3))`` or None when the file is bad."""
    k = num_keypoints
    boxes, kpts = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.skip(str(path), f"cannot read label file ({exc})")
        return None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        fields = line.split()
        if len(fields) not in (5 + 3 * k, 5 + 2 * k):
            log.skip(where, f"{len(fields)} values, expected {5 + 3 * k} or {5 + 2 * k} ({k} keypoints)")
            return None
        try:
            vals = np.array([float(f) for f in fields], dtype=np.float64)
        except ValueError:
            log.skip(where, "a value is not a number")
            return None
        if not np.isfinite(vals).all():
            log.skip(where, "non-finite value")
            return None
        if vals[0] != 0:
            log.skip(where, f"class {fields[0]} is not 0 (person)")
            return None
        cx, cy, w, h = vals[1:5]
        if w <= 0 or h <= 0 or cx - w / 2 < -_TOL or cy - h / 2 < -_TOL or cx + w / 2 > 1 + _TOL or cy + h / 2 > 1 + _TOL:
            log.skip(where, f"box {cx:g} {cy:g} {w:g} {h:g} out of range [0, 1]")
            return None
        if len(fields) == 5 + 3 * k:
            kp = vals[5:].reshape(k, 3).copy()
        else:
            xy = vals[5:].reshape(k, 2)
            v = np.where((xy == 0).all(1), 0.0, 2.0)
            kp = np.concatenate([xy, v[:, None]], 1)
        problem = keypoint_problem(kp, 1.0, 1.0, _TOL)
        if problem is not None:
            log.skip(where, problem)
            return None
        boxes.append(np.clip([cx, cy, w, h], 0, 1))
        kpts.append(kp)
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0, k, 3), np.float32)
    return np.asarray(boxes, np.float32), np.asarray(kpts, np.float32)


def load_yolo_records(images: Sequence[Path], num_keypoints: int, log: SkipLog,
                      decode: bool = False) -> List[ImageRecord]:
    """Records of every readable image; a missing label file means "no people in it"."""
    records: List[ImageRecord] = []
    for index, img in enumerate(images):
        label = label_path_for(img)
        parsed = parse_label_file(label, num_keypoints, log) if label.is_file() else (
            np.zeros((0, 4), np.float32), np.zeros((0, num_keypoints, 3), np.float32))
        if parsed is None:
            continue
        try:
            h, w = image_size(img, decode=decode)
        except ImageError as exc:
            log.replay(f"{exc}; skipped")
            continue
        nb, nk = parsed
        boxes = np.stack([(nb[:, 0] - nb[:, 2] / 2) * w, (nb[:, 1] - nb[:, 3] / 2) * h,
                          (nb[:, 0] + nb[:, 2] / 2) * w, (nb[:, 1] + nb[:, 3] / 2) * h], 1).astype(np.float32)
        kp = nk.copy()
        kp[..., 0] *= w
        kp[..., 1] *= h
        records.append(ImageRecord(str(img), index + 1, h, w, boxes.reshape(-1, 4), kp))
    return records


def records_to_coco(records: Sequence[ImageRecord], keypoint_names: Sequence[str],
                    skeleton: Sequence[Tuple[int, int]]) -> Dict[str, Any]:
    """A COCO keypoint dict of ``records`` (area = ``BOX_AREA_FRACTION`` x box area)."""
    images, anns = [], []
    for r in records:
        images.append({"id": r.image_id, "file_name": Path(r.path).name, "width": r.width, "height": r.height})
        for box, kp in zip(r.boxes, r.keypoints):
            x1, y1, x2, y2 = (float(v) for v in box)
            flat = [round(float(v), 2) if i % 3 != 2 else int(v) for i, v in enumerate(kp.ravel())]
            anns.append({"id": len(anns) + 1, "image_id": r.image_id, "category_id": 1, "iscrowd": 0,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1) * BOX_AREA_FRACTION,
                         "keypoints": flat, "num_keypoints": int((kp[:, 2] > 0).sum())})
    return {"info": {"description": "converted from YOLO-pose labels"}, "licenses": [], "images": images,
            "annotations": anns, "categories": [{"id": 1, "name": "person", "supercategory": "person",
                                                 "keypoints": list(keypoint_names),
                                                 "skeleton": [[a + 1, b + 1] for a, b in skeleton]}]}


class YoloFormat(DatasetFormat):
    """YOLO-pose txt labels: ``labels`` is an image folder (labels in the parallel ``labels/``
    folder, or beside each image) or a ``.txt`` list of image paths; a dataset folder keeps split
    ``s`` as ``images/<s>``."""

    name = "yolo"

    def accepts(self, path: Path) -> bool:
        return path.is_dir() or (path.suffix.lower() == ".txt" and path.is_file())

    def in_folder(self, root: Path, split: str) -> Optional[Path]:
        images = root / "images" / split
        return images if images.is_dir() else None

    def images_for(self, labels: Path) -> Path:
        return labels if labels.is_dir() else labels.parent

    def inputs(self, spec: DataSpec, log: SkipLog) -> FormatInputs:
        images = list_images(spec.labels, log)
        label_dirs = sorted({str(label_path_for(p).parent) for p in images})
        folders = [Path(f) for f in sorted({str(p.parent) for p in images}) + label_dirs]
        files = [spec.labels] if spec.labels.is_file() else []
        return FormatInputs(files=files, folders=folders, num_keypoints=spec.num_keypoints or NUM_COCO_KEYPOINTS,
                            state=images)

    def load(self, spec: DataSpec, inputs: FormatInputs, log: SkipLog, decode: bool) -> Tuple[List[ImageRecord], int]:
        k = int(inputs.num_keypoints or NUM_COCO_KEYPOINTS)
        return load_yolo_records(inputs.state, k, log, decode=decode), k

    def ground_truth(self, spec: DataSpec, records: Sequence[ImageRecord], num_keypoints: int) -> Dict[str, Any]:
        """An equivalent COCO dict built from the records."""
        names = COCO_KEYPOINT_NAMES if num_keypoints == len(COCO_KEYPOINT_NAMES) else [f"kp{i}" for i in range(num_keypoints)]
        skeleton = COCO_SKELETON if num_keypoints == len(COCO_KEYPOINT_NAMES) else ()
        return records_to_coco(records, names, skeleton)

    def write(self, records: Sequence[ImageRecord], root: Path, split: str) -> Path:
        """``root/images/<split>/`` (the images) and ``root/labels/<split>/<stem>.txt`` (normalised)."""
        images_dir, labels_dir = Path(root) / "images" / split, Path(root) / "labels" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        labels_dir.mkdir(parents=True, exist_ok=True)
        for rec in records:
            image = images_dir / Path(rec.path).name
            shutil.copyfile(rec.path, image)
            scale = np.array([rec.width, rec.height], np.float64)
            lines = []
            for box, kp in zip(rec.boxes.astype(np.float64), rec.keypoints.astype(np.float64)):
                cxcy, wh = (box[:2] + box[2:]) / 2 / scale, (box[2:] - box[:2]) / scale
                points = np.concatenate([kp[:, :2] / scale, kp[:, 2:]], axis=1)
                lines.append(" ".join(["0", *(f"{v:.6f}" for v in (*cxcy, *wh))] + [f"{v:.6f}" for v in points.reshape(-1)]))
            atomic_write_text(label_path_for(image), "".join(line + "\n" for line in lines))
        return images_dir
