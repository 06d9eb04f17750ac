"""What a batch job reads: SOURCE arguments expanded into work items (one image, or one video).

A SOURCE is an image file, a video file, a folder (searched recursively for both), a glob pattern
(``"archive/**/*.jpg"``), or a ``.txt`` list with one path per line (blank lines and ``#``
comments are ignored; relative paths are relative to the list's folder; a line may be a folder
or a glob too). Paths are made absolute and each file is kept once, in the order first named.
A named file that is missing or unreadable is kept: it becomes an error row of the output.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from ..core.errors import ConfigError
from ..core.images import IMAGE_SUFFIXES

__all__ = ["LIST_SUFFIXES", "VIDEO_FILE_SUFFIXES", "WorkItem", "expand_sources", "with_resume"]

#: files read as videos (one output row per sampled frame).
VIDEO_FILE_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
#: files read as lists of paths.
LIST_SUFFIXES = (".txt", ".lst")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class WorkItem:
    """One input: an image (one row) or a video (one row per sampled frame).

    ``skip`` lists the frames of a video already written by an earlier run (``--resume``).
    """

    source: str
    kind: str  # "image" or "video"
    skip: Tuple[int, ...] = field(default=())

    def to_dict(self) -> Dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "skip": list(self.skip)}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "WorkItem":
        return cls(str(d["source"]), str(d["kind"]), tuple(int(f) for f in d.get("skip") or ()))


def _kind(path: Path) -> str:
    return "video" if path.suffix.lower() in VIDEO_FILE_SUFFIXES else "image"


def _folder(path: Path) -> List[Path]:
    """Images and videos of a folder tree; links that cannot be followed (loops, missing targets)
    are kept, so that they become error rows instead of vanishing."""
    wanted = set(IMAGE_SUFFIXES) | set(VIDEO_FILE_SUFFIXES)
    return sorted(f for f in path.rglob("*") if f.suffix.lower() in wanted and (f.is_file() or f.is_symlink()))


def _read_list(path: Path) -> List[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"list file {str(path)!r} cannot be read ({exc})") from None
    out = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append(entry if os.path.isabs(entry) else str(path.parent / entry))
    return out


def _expand_one(source: str, allow_lists: bool) -> List[Path]:
    path = Path(source)
    if path.is_dir():
        return _folder(path)
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES and allow_lists:
        found: List[Path] = []
        for entry in _read_list(path):
            found.extend(_expand_one(entry, allow_lists=False))
        return found
    if not path.exists() and _GLOB_CHARS & set(source):
        matches = sorted(glob.glob(source, recursive=True))
        if not matches:
            raise ConfigError(f"the pattern {source!r} matches no file")
        found = []
        for m in matches:
            found.extend(_folder(Path(m)) if os.path.isdir(m) else [Path(m)])
        return found
    return [path]  # a file, or a missing path that becomes an error row


def expand_sources(sources: Iterable[str]) -> List[WorkItem]:
    """SOURCE arguments -> work items (see the module docstring). Raises
    :class:`~yolopose.core.errors.ConfigError` when nothing is named or a pattern matches nothing."""
    items: List[WorkItem] = []
    seen = set()
    for source in sources:
        for path in _expand_one(str(source), allow_lists=True):
            key = os.path.abspath(path)
            if key not in seen:
                seen.add(key)
                items.append(WorkItem(key, _kind(path)))
    if not items:
        raise ConfigError("no input images or videos found in " + ", ".join(str(s) for s in sources))
    return items


def with_resume(items: Sequence[WorkItem], done: Iterable[Tuple[str, int]]) -> List[WorkItem]:
    """Drop the images already written and tell each video which frames to skip.

    ``done`` holds ``(source, frame)`` keys of rows already written; a video's whole-file error
    row (frame -1) or its ended-early row (frame -2) counts as the whole video written.
    """
    frames: Dict[str, set] = {}
    for source, frame in done:
        frames.setdefault(source, set()).add(int(frame))
    out = []
    for item in items:
        written = frames.get(item.source)
        if not written:
            out.append(item)
        elif item.kind == "image" or -1 in written or -2 in written:
            continue
        else:
            out.append(WorkItem(item.source, item.kind, tuple(sorted(written))))
    return out
