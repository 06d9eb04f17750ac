"""Find out what a dataset source is (COCO JSON, YOLO txt, synth folder, YAML) and load its labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

from yolopose.core._schema import Bool, FieldError, Int, Seq, Str
from yolopose.core.errors import DatasetError
from yolopose.core.keypoints import COCO_FLIP_INDEX, NUM_COCO_KEYPOINTS

from .cache import cache_path, fingerprint, load_cache, save_cache
from .coco import load_coco_records
from .records import ImageRecord, SkipLog
from .yolo import label_path_for, list_images, load_yolo_records

__all__ = ["DataSpec", "resolve_source", "load_records", "default_flip_index", "SOURCE_KINDS"]

PathLike = Union[str, Path]


@dataclass(frozen=True)
class DataSpec:
    """One split of a dataset: ``kind`` "coco" (``labels`` is the JSON) or "yolo" (``labels`` is
    the image folder or .txt list); ``images`` is the image folder."""

    kind: str
    labels: Path
    images: Path
    num_keypoints: Optional[int] = None
    flip_index: Optional[Tuple[int, ...]] = None
    split: str = "train"
    #: read COCO images whose ``file_name`` leaves ``images`` (data YAML ``allow_outside_images: true``)
    allow_outside: bool = False


def _coco_image_dir(json_path: Path) -> Path:
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


def _from_yaml(path: Path, split: str) -> DataSpec:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml comes with the train extra
        raise DatasetError(f"{path}: reading YAML needs PyYAML (pip install 'yolopose[train]')") from None
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: not a readable YAML file ({type(exc).__name__}: {exc})") from None
    if not isinstance(cfg, dict):
        raise DatasetError(f"{path}: expected a mapping with 'train' and 'val' entries")
    if not isinstance(cfg.get("path") or ".", str):
        raise DatasetError(f"{path}: field 'path': {cfg['path']!r} is not a folder name")
    root = Path(cfg.get("path") or ".")
    root = root if root.is_absolute() else (path.parent / root)
    entry = cfg.get(split)
    if not entry or not isinstance(entry, str):
        raise DatasetError(f"{path}: no '{split}' entry (a COCO JSON, an image folder or a .txt image list)")
    target = Path(entry) if Path(entry).is_absolute() else root / entry
    k, flip = None, None
    try:
        if cfg.get("kpt_shape") is not None:
            k = Seq(Int(1, 1024), 2, 2).check(cfg["kpt_shape"], "kpt_shape")[0]
            Int(2, 3).check(cfg["kpt_shape"][1], "kpt_shape[1]")
        if cfg.get("flip_idx") is not None:
            flip = Seq(Int(0, 1023), 1024).check(cfg["flip_idx"], "flip_idx")
        allow = cfg.get("allow_outside_images", False)
        allow = Bool().check(allow, "allow_outside_images")
        images_entry = cfg.get(f"{split}_images")
        if images_entry is not None:
            Str(4096).check(images_entry, f"{split}_images")
    except FieldError as exc:
        raise DatasetError(f"{path}: {exc} (kpt_shape is [K, 2] or [K, 3], flip_idx a permutation of 0..K-1)") from None
    if flip is not None and k is not None and (len(flip) != k or sorted(flip) != list(range(k))):
        raise DatasetError(f"{path}: flip_idx must be a permutation of 0..{k - 1}")
    if target.suffix.lower() == ".json":
        images = (root / images_entry) if images_entry else _coco_image_dir(target)
        return DataSpec("coco", target, images, k, flip, split, allow)
    return DataSpec("yolo", target, target, k, flip, split, allow)


def _from_json(path: Path, split: str) -> DataSpec:
    return DataSpec("coco", path, _coco_image_dir(path), split=split)


def _from_folder(path: Path, split: str) -> DataSpec:
    for name in ("data.yaml", "data.yml"):
        if (path / name).is_file():
            return _from_yaml(path / name, split)
    ann = path / "annotations" / f"person_keypoints_{split}.json"
    if ann.is_file():
        return _from_json(ann, split)
    if (path / "images" / split).is_dir():
        return DataSpec("yolo", path / "images" / split, path / "images" / split, split=split)
    return DataSpec("yolo", path, path, split=split)


#: (name, test, resolver): the first whose test accepts the path resolves it.
SOURCE_KINDS: List[Tuple[str, Callable[[Path], bool], Callable[[Path, str], DataSpec]]] = [
    ("yaml", lambda p: p.is_file() and p.suffix.lower() in (".yaml", ".yml"), _from_yaml),
    ("coco-json", lambda p: p.is_file() and p.suffix.lower() == ".json", _from_json),
    ("image-list", lambda p: p.is_file() and p.suffix.lower() == ".txt",
     lambda p, s: DataSpec("yolo", p, p.parent, split=s)),
    ("folder", lambda p: p.is_dir(), _from_folder),
]


def resolve_source(source: PathLike, split: str) -> DataSpec:
    """What ``source`` is, for ``split`` ("train" or "val")."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: dataset not found")
    for _name, test, resolver in SOURCE_KINDS:
        if test(path):
            return resolver(path, split)
    raise DatasetError(f"{path}: not a dataset (expected a YAML, a COCO JSON, a folder or a .txt image list)")


def load_records(spec: DataSpec, log: SkipLog, cache_dir: Optional[PathLike] = None,
                 decode: bool = False) -> Tuple[List[ImageRecord], int]:
    """Parse (or read from the label cache) the records of ``spec``; returns them and K.

    ``decode=True`` fully decodes every image once (validation sets), else only headers are read.
    Skipped samples are reported through ``log`` (again from the cache on later starts).
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    if spec.kind == "coco":
        files, folders, src = [spec.labels], [spec.images], spec.labels
        k_hint = spec.num_keypoints
    else:
        images = list_images(spec.labels, log)
        label_dirs = sorted({str(label_path_for(p).parent) for p in images})
        files = [spec.labels] if spec.labels.is_file() else []
        folders = sorted({str(p.parent) for p in images}) + label_dirs
        folders = [Path(f) for f in folders]
        src = spec.labels
        k_hint = spec.num_keypoints or NUM_COCO_KEYPOINTS
    key = fingerprint(files, folders, extra=f"{spec.kind}|{k_hint}|decode={decode}|outside={spec.allow_outside}")
    where = cache_path(src, cache_dir, key, tag="decoded" if decode else "")
    cached = load_cache(where, key)
    if cached is not None:
        records, skipped = cached
        for msg in skipped:
            log.replay(msg)
        k = records[0].keypoints.shape[1] if records else (k_hint or NUM_COCO_KEYPOINTS)
        return records, k
    before = len(log.messages)
    if spec.kind == "coco":
        records, k = load_coco_records(spec.labels, spec.images, log, decode=decode, allow_outside=spec.allow_outside)
        if spec.num_keypoints is not None and spec.num_keypoints != k:
            raise DatasetError(f"{spec.labels}: has {k} keypoints per person but the data YAML says "
                               f"kpt_shape [{spec.num_keypoints}, ...]")
    else:
        k = k_hint
        records = load_yolo_records(images, k, log, decode=decode)
    save_cache(where, key, records, log.messages[before:], k)
    return records, k


def default_flip_index(spec: DataSpec, k: int) -> Optional[Tuple[int, ...]]:
    """The flip permutation: the YAML's, COCO's for 17 keypoints, else None (no flipping)."""
    if spec.flip_index is not None:
        if len(spec.flip_index) != k:
            raise DatasetError(f"flip_idx has {len(spec.flip_index)} entries but the data has {k} keypoints")
        return spec.flip_index
    return COCO_FLIP_INDEX if k == NUM_COCO_KEYPOINTS else None

