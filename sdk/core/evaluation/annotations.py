"""Check a COCO keypoint annotation file record by record: every problem names the file, the
record (``annotations[12] (id 901)``) and the field, and no record is dropped without a problem.

:func:`check_coco` returns the records that are fine and the problems of the others. Evaluation
refuses a file with any problem (:func:`raise_problems`): a metric computed without some records
would silently be another metric (an ``image_id`` of ``"1"`` where the image's id is ``1`` used to
drop that person from the ground truth and move keypoint AP from 0.114 to 0.138). Training skips
the bad records and reports each of them.

Per record kind, one table of field rules (the rules of :mod:`yolopose.core._schema`); keys not in a
table (``license``, ``segmentation``, ``coco_url``...) are not looked at.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._schema import FieldError, Int, Num, Rule, Seq, Str
from ..errors import DatasetError

__all__ = ["Problem", "CocoCheck", "check_coco", "image_path", "raise_problems"]

_MAX_ID = 2**63 - 1
_COORD = Num(-1e7, 1e7)

#: record kind -> {field: (rule, required)}
RULES: Dict[str, Dict[str, Tuple[Rule, bool]]] = {
    "categories": {
        "id": (Int(-_MAX_ID, _MAX_ID), True),
        "name": (Str(1024), False),
        "keypoints": (Seq(Str(256), 1024), False),
        "skeleton": (Seq(Seq(Int(1, 1024), 2, 2), 10_000), False),
    },
    "images": {
        "id": (Int(-_MAX_ID, _MAX_ID), True),
        "file_name": (Str(4096), True),
        "width": (Int(0, 1 << 20), False),
        "height": (Int(0, 1 << 20), False),
    },
    "annotations": {
        "id": (Int(-_MAX_ID, _MAX_ID), False),
        "image_id": (Int(-_MAX_ID, _MAX_ID), True),
        "category_id": (Int(-_MAX_ID, _MAX_ID), True),
        "bbox": (Seq(_COORD, 4, 4), True),
        "keypoints": (Seq(_COORD, 3 * 1024), False),
        "num_keypoints": (Int(0, 1024), False),
        "area": (Num(0, 1e14), False),
        "iscrowd": (Int(0, 1), False),
    },
}


@dataclass(frozen=True)
class Problem:
    """One bad record: ``kind`` and ``index`` locate it, ``text`` says where and what."""

    kind: str
    index: int
    text: str
    image_id: Optional[int] = None  # for an annotation whose image is known: that image


@dataclass
class CocoCheck:
    """The records that passed (same order as the file) and the problems of the others."""

    images: List[Dict[str, Any]]
    annotations: List[Dict[str, Any]]
    categories: List[Dict[str, Any]]
    problems: List[Problem]

    def data(self, original: Mapping[str, Any]) -> Dict[str, Any]:
        """``original`` with only the good records."""
        out = dict(original)
        out.update(images=self.images, annotations=self.annotations, categories=self.categories)
        return out


def _where(source: str, kind: str, i: int, record: Any) -> str:
    rid = record.get("id") if isinstance(record, Mapping) else None
    shown = f" (id {rid!r})" if rid is not None and not isinstance(rid, (list, dict)) else ""
    return f"{source}: {kind}[{i}]{shown}"


def _check_fields(kind: str, record: Any) -> Dict[str, Any]:
    """The record with its known fields normalised, or :class:`FieldError`."""
    if not isinstance(record, Mapping):
        raise FieldError("", f"is {type(record).__name__}, not an object")
    out = dict(record)
    for name, (rule, required) in RULES[kind].items():
        if name in record:
            if record[name] is None and not required:
                out.pop(name)
                continue
            out[name] = _plain(rule.check(record[name], name))
        elif required:
            raise FieldError(name, "missing")
    if "iscrowd" in record and isinstance(record["iscrowd"], bool):
        out["iscrowd"] = int(record["iscrowd"])
    return out


def _plain(value: Any) -> Any:
    """Tuples (what the rules return) back to lists, as JSON has them."""
    if type(value) is not tuple:
        return value
    return [_plain(v) if type(v) is tuple else v for v in value]


def _say(where: str, exc: FieldError) -> str:
    return f"{where} {exc.reason}" if not exc.path else f"{where}: field {exc.path!r}: {exc.reason}"


def check_coco(data: Any, source: str, require: Sequence[str] = ("images", "annotations", "categories")) -> CocoCheck:
    """Check every record of a COCO dict (see the module docstring). The top level must be an
    object holding a list for each key of ``require`` (others default to empty lists);
    :class:`~yolopose.core.errors.DatasetError` otherwise."""
    if not isinstance(data, Mapping):
        raise DatasetError(f"{source}: a COCO file is a JSON object, not {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        value = data.get(key)
        if value is None and key not in require:
            continue
        if not isinstance(value, list):
            raise DatasetError(f"{source}: COCO ground truth lacks a list {key!r}")
    problems: List[Problem] = []
    checked: Dict[str, List[Tuple[int, Dict[str, Any]]]] = {}
    for kind in ("categories", "images", "annotations"):
        good = []
        for i, record in enumerate(data.get(kind) or []):
            try:
                good.append((i, _check_fields(kind, record)))
            except FieldError as exc:
                where = _where(source, kind, i, record)
                image = record.get("image_id") if kind == "annotations" and isinstance(record, Mapping) else None
                problems.append(Problem(kind, i, _say(where, exc), image if isinstance(image, int) else None))
        checked[kind] = good
    # references: unique image and category ids, annotations that point at them, keypoint counts
    seen_images: Dict[int, int] = {}
    images = []
    for i, img in checked["images"]:
        if img["id"] in seen_images:
            problems.append(Problem("images", i, f"{_where(source, 'images', i, img)}: field 'id': another image has "
                                    f"id {img['id']} too"))
            continue
        seen_images[img["id"]] = 1
        images.append(img)
    cats = {c["id"]: c for _, c in checked["categories"]}
    annotations = []
    for n, ann in checked["annotations"]:
        where = f"{source}: annotations[{n}] (id {ann.get('id')!r})" if "id" in ann else f"{source}: annotations[{n}]"
        if ann["image_id"] not in seen_images:
            problems.append(Problem("annotations", n, f"{where}: field 'image_id': {ann['image_id']} names no image "
                                    "of the file"))
            continue
        cat = cats.get(ann["category_id"])
        if cat is None:
            problems.append(Problem("annotations", n, f"{where}: field 'category_id': {ann['category_id']} names no "
                                    "category of the file", ann["image_id"]))
            continue
        x, y, w, h = ann["bbox"]
        if w < 0 or h < 0:
            problems.append(Problem("annotations", n, f"{where}: field 'bbox': a negative width or height",
                                    ann["image_id"]))
            continue
        kpts = ann.get("keypoints")
        want = len(cat.get("keypoints") or ())
        if kpts is not None and (len(kpts) % 3 or (want and len(kpts) != 3 * want)):
            expected = f"{3 * want} ({want} keypoints of category {cat['id']})" if want else "a multiple of 3"
            problems.append(Problem("annotations", n, f"{where}: field 'keypoints': {len(kpts)} keypoint values, expected "
                                    f"{expected}", ann["image_id"]))
            continue
        annotations.append(ann)
    return CocoCheck(images, annotations, [c for _, c in checked["categories"]], problems)


def raise_problems(check: CocoCheck) -> None:
    """A :class:`~yolopose.core.errors.DatasetError` for the first problem (and how many there are)."""
    if check.problems:
        more = f" (and {len(check.problems) - 1} more problem(s))" if len(check.problems) > 1 else ""
        raise DatasetError(check.problems[0].text + more)


def image_path(root: Path, file_name: str, where: str, allow_outside: bool = False) -> Path:
    """``root / file_name``, refused (:class:`~yolopose.core.errors.DatasetError`) when ``file_name`` is
    absolute or its ``..`` parts leave ``root``, unless ``allow_outside``. An annotation file says
    which files are opened; it must not open ``/etc/hostname`` or ``../../x``. Symbolic links
    placed inside ``root`` (by whoever owns the image folder) are followed as usual."""
    path = Path(root) / file_name
    if allow_outside:
        return path
    inside = os.path.normpath(os.path.join(os.path.abspath(root), file_name))
    top = os.path.abspath(root)
    if os.path.isabs(file_name) or not (inside == top or inside.startswith(top.rstrip(os.sep) + os.sep)):
        raise DatasetError(f"{where}: field 'file_name': {file_name!r} is outside the image folder {root}; "
                           "refused (opt in to read images outside it: --allow-outside-images, "
                           "allow_outside_images=True, or 'allow_outside_images: true' in a data YAML)")
    return path
