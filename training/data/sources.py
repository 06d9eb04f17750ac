"""Find out what a dataset source is and load its labels.

A source is a label file or folder of a registered dataset format
(:mod:`yolopose.training.data.formats`: a COCO JSON, a YOLO image folder or ``.txt`` list...), a
dataset folder (``data.yaml``, or each format's own layout of the split, e.g. ``yolopose-train
synth``'s), or a data YAML naming the splits. :func:`resolve_source` makes it a :class:`DataSpec`;
:func:`load_records` reads the records through the label cache. Neither knows a format's files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

from yolopose.core._schema import Bool, FieldError, Int, Seq, Str
from yolopose.core.errors import DatasetError
from yolopose.core.keypoints import COCO_FLIP_INDEX, NUM_COCO_KEYPOINTS

from .cache import cache_path, fingerprint, load_cache, save_cache
from .formats import DATASET_FORMATS, DataSpec, DatasetFormat
from .records import ImageRecord, SkipLog

__all__ = ["DataSpec", "resolve_source", "load_records", "default_flip_index", "SOURCE_KINDS"]

PathLike = Union[str, Path]


def _format_of(path: Path, where: str) -> DatasetFormat:
    """The first registered format that accepts ``path``."""
    for fmt in DATASET_FORMATS.values():
        if fmt.accepts(path):
            return fmt
    raise DatasetError(f"{where}: no dataset format reads {path} (known: {', '.join(DATASET_FORMATS.names())})")


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
    fmt = _format_of(target, f"{path}: '{split}' entry")
    images = (root / images_entry) if images_entry else fmt.images_for(target)
    return DataSpec(fmt.name, target, images, k, flip, split, allow)


def _from_labels(path: Path, split: str) -> DataSpec:
    fmt = _format_of(path, str(path))
    return DataSpec(fmt.name, path, fmt.images_for(path), split=split)


def _from_folder(path: Path, split: str) -> DataSpec:
    for name in ("data.yaml", "data.yml"):
        if (path / name).is_file():
            return _from_yaml(path / name, split)
    for fmt in DATASET_FORMATS.values():  # a dataset folder holding the split in a format's own layout
        labels = fmt.in_folder(path, split)
        if labels is not None:
            return DataSpec(fmt.name, labels, fmt.images_for(labels), split=split)
    return _from_labels(path, split)


def _accepted(path: Path) -> bool:
    return any(fmt.accepts(path) for fmt in DATASET_FORMATS.values())


#: (name, test, resolver): the first whose test accepts the path resolves it.
SOURCE_KINDS: List[Tuple[str, Callable[[Path], bool], Callable[[Path, str], DataSpec]]] = [
    ("yaml", lambda p: p.is_file() and p.suffix.lower() in (".yaml", ".yml"), _from_yaml),
    ("folder", lambda p: p.is_dir(), _from_folder),
    ("labels", _accepted, _from_labels),
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
    fmt = spec.dataset_format
    inputs = fmt.inputs(spec, log)
    k_hint = inputs.num_keypoints
    key = fingerprint(list(inputs.files), list(inputs.folders),
                      extra=f"{spec.format}|{k_hint}|decode={decode}|outside={spec.allow_outside}")
    where = cache_path(spec.labels, cache_dir, key, tag="decoded" if decode else "")
    cached = load_cache(where, key)
    if cached is not None:
        records, skipped = cached
        for msg in skipped:
            log.replay(msg)
        k = records[0].keypoints.shape[1] if records else (k_hint or NUM_COCO_KEYPOINTS)
        return records, k
    before = len(log.messages)
    records, k = fmt.load(spec, inputs, log, decode)
    save_cache(where, key, records, log.messages[before:], k)
    return records, k


def default_flip_index(spec: DataSpec, k: int) -> Optional[Tuple[int, ...]]:
    """The flip permutation: the YAML's, COCO's for 17 keypoints, else None (no flipping)."""
    if spec.flip_index is not None:
        if len(spec.flip_index) != k:
            raise DatasetError(f"flip_idx has {len(spec.flip_index)} entries but the data has {k} keypoints")
        return spec.flip_index
    return COCO_FLIP_INDEX if k == NUM_COCO_KEYPOINTS else None

