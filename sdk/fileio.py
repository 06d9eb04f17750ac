"""Atomic file writes: a killed process never leaves a half-written artifact behind (single files,
and folders of files such as OpenVINO's ``.xml`` + ``.bin``).

A process killed while writing (``kill -9``, power loss) leaves its temporary file
``.NAME.XXXXXXXX<suffix>.tmp`` next to ``NAME``. The next atomic write of the same target
removes such leftovers and logs it (logger ``yolopose.fileio``). A temporary file still being
written holds an exclusive lock (``fcntl.flock``), so a concurrent writer's file is never taken
for litter; where locks do not exist, only leftovers untouched for an hour are removed.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator, List, Optional, Union

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_dir", "atomic_path", "atomic_write_bytes", "atomic_write_text", "remove_stale_temp_files"]

PathLike = Union[str, "os.PathLike[str]"]

logger = logging.getLogger("yolopose.fileio")

#: leftovers without a lock are only judged stale after this long where locks are unavailable
_UNLOCKED_STALE_S = 3600.0
# tempfile.mkstemp inserts 8 characters from this set between prefix and suffix
_RANDOM_PART = "[a-z0-9_]{8}"


def _temp_pattern(dest: Path, suffix: str) -> "re.Pattern[str]":
    return re.compile(re.escape(f".{dest.name}.") + _RANDOM_PART + re.escape(suffix + ".tmp"))


def _lock(fh: IO[bytes], blocking: bool = True) -> bool:
    """Take an exclusive lock on ``fh``; ``False`` if another process holds one (non-blocking)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_stale_temp_files(path: PathLike, suffix: str = "") -> List[Path]:
    """Remove temporary files an interrupted atomic write of ``path`` left behind; return them.

    Only files named like :func:`atomic_path`'s temporaries for this target and suffix, and not
    locked by a writer that is still running, are removed.
    """
    dest = Path(path)
    pattern = _temp_pattern(dest, suffix)
    removed: List[Path] = []
    try:
        names = [n for n in os.listdir(dest.parent) if pattern.fullmatch(n)]
    except OSError:
        return removed
    for name in names:
        candidate = dest.parent / name
        try:
            with open(candidate, "rb") as fh:
                if fcntl is None:
                    if time.time() - os.fstat(fh.fileno()).st_mtime < _UNLOCKED_STALE_S:
                        continue
                elif not _lock(fh, blocking=False):
                    continue  # a writer is still at work on it
                size = os.fstat(fh.fileno()).st_size
                candidate.unlink()
        except OSError:
            continue
        removed.append(candidate)
        logger.warning("removed %s (%d bytes), left by an interrupted save of %s", candidate, size, dest)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported on this platform (e.g. Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode(directory: bool = False) -> int:
    """The permissions ``open()`` / ``mkdir()`` would give (``mkstemp`` makes files private)."""
    return (0o777 if directory else 0o666) & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (``os.umask`` sets it
    process-wide, which would race with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the destination folder; on success, move it onto ``path``.

    The temporary file is fsynced, renamed with :func:`os.replace`, and the folder fsynced. On any
    exception (including ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left
    untouched. ``suffix`` lets tools that care about extensions (``.onnx``, ``.xml``) see one.
    Temporary files of the same target and suffix left by a killed process are removed first
    (see the module docstring).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(dest, suffix)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix + ".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    lock: Optional[IO[bytes]] = None
    if fcntl is None:  # no locks; Windows also cannot rename a file that is open
        os.close(fd)
    else:
        lock = os.fdopen(fd, "rb")  # held open: its lock marks the file as in use
    try:
        if lock is not None:
            _lock(lock)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    finally:
        if lock is not None:
            lock.close()
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_dir(dest: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``dest``; on success it replaces ``dest`` (an older
    ``dest`` is moved aside first and removed after). On any exception nothing of it remains."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    old = None
    try:
        yield tmp
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        os.chmod(tmp, _default_mode(directory=True))
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
            os.replace(dest, old / dest.name)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
