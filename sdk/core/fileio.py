"""Atomic file writes: a killed process never leaves a half-written artifact behind (single files,
and folders of files such as OpenVINO's ``.xml`` + ``.bin``).

A process killed while writing (``kill -9``, power loss) leaves its temporary file
``.NAME.XXXXXXXX<suffix>.tmp`` (a folder of the same name for :func:`atomic_dir`) next to
``NAME``. The next atomic write of the same target removes such leftovers and logs it (logger
``yolopose.core.fileio``). A temporary file or folder still being written holds an exclusive lock
(``fcntl.flock``), so a concurrent writer's work is never taken for litter; where locks do not
exist, only leftovers untouched for an hour are removed.

A destination that cannot be written (read-only or full filesystem, no permission, quota) is a
:class:`~yolopose.core.errors.WriteError` naming it, and nothing of the write remains.
:func:`folder_lock` lets one job at a time own an output folder.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator, List, Optional, Union

from .errors import FolderInUseError, WriteError, YoloPoseError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "atomic_dir",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_writable",
    "folder_lock",
    "remove_stale_temp_dirs",
    "remove_stale_temp_files",
    "remove_stale_temps",
    "temp_pattern",
    "write_error",
]

PathLike = Union[str, "os.PathLike[str]"]

logger = logging.getLogger("yolopose.core.fileio")

#: leftovers without a lock are only judged stale after this long where locks are unavailable
_UNLOCKED_STALE_S = 3600.0
# tempfile.mkstemp inserts 8 characters from this set between prefix and suffix
_RANDOM_PART = "[a-z0-9_]{8}"


#: errors that say "this place cannot take the write" (as opposed to a bug in what is written)
_CANNOT_WRITE = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                 getattr(errno, "EDQUOT", errno.ENOSPC)}
LOCK_NAME = ".yolopose.lock"


def _temp_pattern(dest: Path, suffix: str) -> "re.Pattern[str]":
    return re.compile(re.escape(f".{dest.name}.") + _RANDOM_PART + re.escape(suffix + ".tmp"))


def temp_pattern(name: str, suffix: str = "") -> "re.Pattern[str]":
    """The names of :func:`atomic_path`'s temporary files for every destination whose name matches
    the regular expression ``name`` (and suffix ``suffix``, also a regular expression)."""
    return re.compile(r"\." + name + r"\." + _RANDOM_PART + suffix + r"\.tmp")


def write_error(path: PathLike, exc: OSError, doing: str = "write") -> WriteError:
    """A :class:`~yolopose.core.errors.WriteError` naming ``path`` for the OS error ``exc``."""
    reason = {errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
              errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
              errno.EFBIG: "file too large for this file system or process limit"}.get(exc.errno, exc.strerror or str(exc))
    err = WriteError(f"{path}: cannot {doing} here ({reason})")
    err.errno = exc.errno
    err.filename = str(path)
    return err


def _wrapped(path: PathLike, exc: BaseException, doing: str = "write") -> Optional[WriteError]:
    """``exc`` as a WriteError when it says the place cannot take the write, else ``None``."""
    if isinstance(exc, OSError) and not isinstance(exc, YoloPoseError) and exc.errno in _CANNOT_WRITE:
        return write_error(path, exc, doing)
    return None


def check_writable(path: PathLike, what: str = "output") -> Path:
    """Fail early (before long work) when the folder of file ``path`` cannot be written: make the
    folder and a temporary file in it, then remove the file. Raises
    :class:`~yolopose.core.errors.WriteError` naming ``path``."""
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".probe", dir=dest.parent)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise write_error(dest, exc, f"write the {what}") from None
    return dest


def _lock(fh: IO[bytes], blocking: bool = True) -> bool:
    """Take an exclusive lock on ``fh``; ``False`` if another process holds one (non-blocking)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_stale_temps(folder: PathLike, pattern: "re.Pattern[str]", target: str) -> List[Path]:
    """Remove the files in ``folder`` whose names match ``pattern`` and that no running writer
    holds locked (temporaries of interrupted atomic writes); log each and return them.
    ``target`` names what they were meant to become, for the log."""
    folder = Path(folder)
    removed: List[Path] = []
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return removed
    for name in names:
        candidate = folder / name
        if candidate.is_dir() and not candidate.is_symlink():
            continue  # atomic_dir's, see remove_stale_temp_dirs
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
        logger.warning("removed %s (%d bytes), left by an interrupted save of %s", candidate, size, target)
    return removed


def remove_stale_temp_files(path: PathLike, suffix: str = "") -> List[Path]:
    """Remove temporary files an interrupted atomic write of ``path`` left behind; return them.

    Only files named like :func:`atomic_path`'s temporaries for this target and suffix, and not
    locked by a writer that is still running, are removed.
    """
    dest = Path(path)
    return remove_stale_temps(dest.parent, _temp_pattern(dest, suffix), str(dest))


def _dir_is_free(folder: Path) -> bool:
    """Whether no running :func:`atomic_dir` holds ``folder`` (its lock, or an hour without locks)."""
    if fcntl is None:
        return time.time() - folder.stat().st_mtime >= _UNLOCKED_STALE_S
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the lock we may have taken
    return True


def remove_stale_temp_dirs(path: PathLike) -> List[Path]:
    """Remove the temporary folders an interrupted :func:`atomic_dir` of ``path`` left; return them.

    ``.NAME.XXXXXXXX.tmp/`` (a half-written new version) is removed. ``.NAME.XXXXXXXX.old/``
    holds the previous version, moved aside just before the new one took its place: when
    ``path`` is missing (killed between the two renames) it is moved back, else removed.
    Folders still locked by a running writer are left alone. Each is logged.
    """
    dest = Path(path)
    removed: List[Path] = []
    try:
        names = sorted(os.listdir(dest.parent))
    except OSError:
        return removed
    for kind in ("old", "tmp"):
        pattern = re.compile(re.escape(f".{dest.name}.") + _RANDOM_PART + re.escape(f".{kind}"))
        for name in names:
            candidate = dest.parent / name
            if not pattern.fullmatch(name) or not candidate.is_dir() or candidate.is_symlink():
                continue
            try:
                if not _dir_is_free(candidate):
                    continue
                inner = candidate / dest.name
                if kind == "old" and inner.exists() and not dest.exists():
                    os.replace(inner, dest)
                    logger.warning("restored %s from %s, left by an interrupted save", dest, candidate)
                shutil.rmtree(candidate)
            except OSError:
                continue
            removed.append(candidate)
            if kind == "tmp":
                logger.warning("removed %s, left by an interrupted save of %s", candidate, dest)
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
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(dest, suffix)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix + ".tmp", dir=dest.parent)
    except OSError as exc:
        raise write_error(dest, exc) from None
    tmp = Path(tmp_name)
    lock: Optional[IO[bytes]] = None
    if fcntl is None:  # no locks; Windows also cannot rename a file that is open
        os.close(fd)
    else:
        lock = os.fdopen(fd, "rb")  # held open: its lock marks the file as in use
    try:
        if lock is not None:
            _lock(lock)
        try:
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, _default_mode())
            os.replace(tmp, dest)
        except OSError as exc:
            wrapped = _wrapped(dest, exc)
            if wrapped is None:
                raise
            raise wrapped from None
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


def _lock_dir(folder: Path) -> Optional[int]:
    """Hold an exclusive lock on ``folder`` (its descriptor; ``None`` where locks do not exist)."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@contextlib.contextmanager
def atomic_dir(dest: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``dest``; on success it replaces ``dest`` (an older
    ``dest`` is moved aside first and removed after). On any exception nothing of it remains.

    The temporary folder is locked while it is written; folders a killed process left (and the
    previous version, when the kill came between the two renames) are cleaned up by the next
    ``atomic_dir`` of the same ``dest`` (:func:`remove_stale_temp_dirs`)."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_dirs(dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as exc:
        raise write_error(dest, exc) from None
    old = None
    lock = None
    try:
        lock = _lock_dir(tmp)
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
        except OSError as exc:
            wrapped = _wrapped(dest, exc)
            if wrapped is None:
                raise
            raise wrapped from None
        _fsync_dir(dest.parent)
    finally:
        if lock is not None:
            os.close(lock)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            if not dest.exists() and (old / dest.name).exists():  # the new version never arrived
                os.replace(old / dest.name, dest)
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(folder: PathLike, job: str = "job") -> Iterator[Path]:
    """Own the output ``folder`` for the duration of the block: a second job that asks for it
    meanwhile fails at once with :class:`~yolopose.core.errors.FolderInUseError` naming the holder.

    The lock is an ``fcntl.flock`` on ``folder/.yolopose.lock``, which the operating system drops
    when the holder exits however it exits (``kill -9`` included), so a killed job never leaves
    the folder stuck; the file itself stays, holding the last owner's pid and host for messages.
    Where ``flock`` does not exist (Windows), no lock is taken.
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise write_error(path, exc, f"create the {job}'s output folder") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise FolderInUseError(f"{path} is in use by another {job} ({_holder(fd)}); wait for it to "
                                       "finish, or choose another output folder") from None
        owner = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "job": job,
                            "since": time.strftime("%Y-%m-%d %H:%M:%S")})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, owner.encode(), 0)
        except OSError:
            pass  # the owner note is for messages only; the lock is what counts
        yield path
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {int(info['pid'])} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its owner is unknown"
