"""Label cache: parsed labels and image sizes saved as one ``.npz`` (atomic, no pickle).

The key hashes the label files' and image folders' names, sizes and modification times, so any
change to the data rebuilds the cache; an unreadable or stale cache is simply rebuilt.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import numpy as np

from yolopose.core.fileio import atomic_path

from .records import ImageRecord

__all__ = ["CACHE_VERSION", "fingerprint", "load_cache", "save_cache", "cache_path"]

CACHE_VERSION = 1
logger = logging.getLogger("yolopose.training.data")


def _stat_line(path: Path) -> str:
    st = path.stat()
    return f"{path.name}\t{st.st_size}\t{st.st_mtime_ns}"


def _entry_line(entry: "os.DirEntry[str]") -> str:
    """``name size mtime`` of a file; links that cannot be followed (loops) count by name only."""
    try:
        if not entry.is_file():
            return ""
        st = entry.stat()
    except OSError:  # e.g. a symbolic link to itself: ELOOP (the loader reports it)
        return f"{entry.name}\tunreadable"
    return f"{entry.name}\t{st.st_size}\t{st.st_mtime_ns}"


def fingerprint(files: Iterable[Path], folders: Iterable[Path], extra: str = "") -> str:
    """Hash of the files' and the folders' entries' names, sizes and mtimes (plus ``extra``)."""
    h = hashlib.sha1(f"v{CACHE_VERSION}|{extra}".encode())
    for f in files:
        h.update(f"F{Path(f).resolve()}\t{_stat_line(Path(f))}\n".encode())
    for folder in folders:
        folder = Path(folder)
        h.update(f"D{folder.resolve()}\n".encode())
        if folder.is_dir():
            with os.scandir(folder) as it:
                lines = sorted(filter(None, (_entry_line(e) for e in it)))
            h.update("\n".join(lines).encode())
    return h.hexdigest()


def cache_path(label_source: Path, cache_dir: Optional[Path], key: str, tag: str = "") -> Path:
    """Where the cache of ``label_source`` lives: in ``cache_dir`` if given, else next to it."""
    name = f"{Path(label_source).name}.yolopose-cache{'-' + tag if tag else ''}.npz"
    if cache_dir is not None:
        return Path(cache_dir) / f"{key[:16]}-{name}"
    return Path(label_source).parent / name


def save_cache(path: Path, key: str, records: List[ImageRecord], skipped: List[str], num_keypoints: int) -> bool:
    """Write the cache; returns False (and logs) when the folder is not writable."""
    counts = np.array([len(r.boxes) for r in records], dtype=np.int64)
    boxes = np.concatenate([r.boxes for r in records], 0) if records else np.zeros((0, 4), np.float32)
    kpts = (np.concatenate([r.keypoints for r in records], 0) if records
            else np.zeros((0, num_keypoints, 3), np.float32))
    try:
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    key=np.array(key),
                    paths=np.array([r.path for r in records], dtype=str),
                    image_ids=np.array([r.image_id for r in records], dtype=np.int64),
                    sizes=np.array([(r.height, r.width) for r in records], dtype=np.int64).reshape(-1, 2),
                    counts=counts,
                    boxes=boxes.astype(np.float32),
                    keypoints=kpts.astype(np.float32),
                    skipped=np.array(skipped, dtype=str),
                )
    except OSError as exc:
        logger.info("label cache not written (%s): %s", path, exc)
        return False
    return True


def load_cache(path: Path, key: str) -> Optional[Tuple[List[ImageRecord], List[str]]]:
    """The cached records and skip messages, or None when missing, stale or unreadable."""
    if not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            paths, ids, sizes, counts = z["paths"], z["image_ids"], z["sizes"], z["counts"]
            boxes, kpts, skipped = z["boxes"], z["keypoints"], [str(s) for s in z["skipped"]]
    except (OSError, ValueError, KeyError) as exc:
        logger.info("label cache %s unreadable (%s); rebuilding", path, exc)
        return None
    offsets = np.concatenate([[0], np.cumsum(counts)])
    records = [
        ImageRecord(str(p), int(i), int(s[0]), int(s[1]), boxes[a:b].copy(), kpts[a:b].copy())
        for p, i, s, a, b in zip(paths, ids, sizes, offsets[:-1], offsets[1:])
    ]
    return records, skipped
