"""Atomic writes never leave a half-written file behind."""
from __future__ import annotations

import logging
import signal
import subprocess
import sys

import pytest

from yolopose.core.fileio import atomic_path, atomic_write_bytes, atomic_write_text, remove_stale_temp_files


def test_atomic_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "a.json"
    atomic_write_text(target, "first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_interrupted_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, suffix=".onnx") as tmp:
            assert tmp.suffix == ".tmp" and tmp.parent == tmp_path
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_stale_temp_files_of_the_target_are_removed_and_logged(tmp_path, caplog):
    """A killed save leaves ``.NAME.XXXXXXXX.pt.tmp``; the next save of NAME removes it and says so."""
    target = tmp_path / "last.pt"
    stale = [tmp_path / ".last.pt.ab_cd123.pt.tmp", tmp_path / ".last.pt.zz99zz99.pt.tmp"]
    keep = [
        tmp_path / ".best.pt.ab_cd123.pt.tmp",  # another target
        tmp_path / ".last.pt.ab_cd123.onnx.tmp",  # another suffix
        tmp_path / "notes.last.pt.tmp",
    ]
    for p in stale + keep:
        p.write_bytes(b"half a checkpoint")
    with caplog.at_level(logging.WARNING, logger="yolopose.core.fileio"):
        with atomic_path(target, suffix=".pt") as tmp:
            tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["last.pt"] + [p.name for p in keep])
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert all(p.name in logged for p in stale) and "interrupted save" in logged


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")
def test_a_temp_file_still_being_written_is_not_litter(tmp_path):
    """Two saves of one target at once: the second must not delete the first one's temp file."""
    target = tmp_path / "model.onnx"
    with atomic_path(target, suffix=".onnx") as first:
        first.write_bytes(b"first")
        assert remove_stale_temp_files(target, ".onnx") == []
        atomic_write_bytes(tmp_path / "model.onnx", b"other")  # no suffix: a different temp name
        assert first.exists()
    assert target.read_bytes() == b"first"


def test_kill_9_during_save_leaves_litter_that_the_next_save_removes(tmp_path):
    """A real SIGKILL in the middle of a write; the lock dies with the process."""
    target = tmp_path / "last.pt"
    code = (
        "import os, signal, sys\n"
        "from yolopose.core.fileio import atomic_path\n"
        "with atomic_path(sys.argv[1], suffix='.pt') as tmp:\n"
        "    tmp.write_bytes(b'x' * 1000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    litter = [p.name for p in tmp_path.iterdir()]
    assert len(litter) == 1 and litter[0].startswith(".last.pt.") and litter[0].endswith(".pt.tmp")
    atomic_write_bytes(target, b"ok")  # no suffix: other leftovers stay
    assert len(list(tmp_path.iterdir())) == 2
    with atomic_path(target, suffix=".pt") as tmp:
        tmp.write_bytes(b"ok")
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
