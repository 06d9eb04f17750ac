"""Outputs under stress (issue 30, cases 4-6): one job per output folder, with a lock a killed job
does not leave stuck; read-only and full disks as a typed error naming the path with nothing
half-written; temporary files and folders of killed writes removed (and logged) by the next run."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import _disks
from _batch_inputs import SAMPLES, make_archive
from yolopose.core.errors import FolderInUseError, WriteError
from yolopose.core.fileio import LOCK_NAME, atomic_dir, atomic_path, folder_lock, remove_stale_temp_dirs

CLI = [sys.executable, "-c", "from yolopose.cli import main; main()"]


def _hold(code: str) -> subprocess.Popen:
    """A child that runs ``code`` (which prints ``ready`` when it holds what it must) and waits."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", line + proc.stderr.read()
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _rows(out: Path):
    return [json.loads(line) for p in sorted(out.glob("part-*.jsonl")) for line in p.read_text().splitlines()]


def _batch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "batch", *args, "--executor", "local", "--format", "jsonl", "--no-progress"],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("archive") / "archive")


# ----------------------------------------------------------------------------- case 4: one job per folder
def test_a_second_job_on_a_held_folder_fails_at_once_and_a_killed_holder_frees_it(archive, tmp_path):
    out = tmp_path / "out"
    holder = _hold(f"import time; from yolopose.batch.output import OutputFolder\n"
                   f"with OutputFolder({str(out)!r}, 'jsonl').lock():\n    print('ready', flush=True); time.sleep(600)")
    try:
        second = _batch(str(archive), "--out", str(out))  # fails at once: before any image is read
        assert second.returncode == 1 and f"pid {holder.pid}" in second.stderr and "in use" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr and not list(out.glob("part-*"))
    finally:
        _kill(holder)  # kill -9: the OS drops the lock, the folder is not stuck
    third = _batch(str(archive), "--out", str(out))
    assert third.returncode == 0, third.stderr
    assert len(_rows(out)) == 5


def test_two_jobs_started_together_write_every_input_once(archive, tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen([*CLI, "batch", str(archive), "--out", str(out), "--executor", "local", "--format", "jsonl",
                               "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results  # the second fails: the folder is held, or already holds the first's parts
    rows = _rows(out)
    assert len(rows) == 5 and len({(r["source"], r["frame"]) for r in rows}) == 5


def test_folder_lock_in_process(tmp_path):
    with folder_lock(tmp_path / "x", "test job"):
        with pytest.raises(FolderInUseError, match="in use by another test job"):
            with folder_lock(tmp_path / "x", "test job"):
                pass
    with folder_lock(tmp_path / "x"):  # released
        assert (tmp_path / "x" / LOCK_NAME).is_file()


# ----------------------------------------------------------------------------- case 6: litter
def test_a_killed_jobs_part_temp_file_is_removed_by_resume_and_overwrite(archive, tmp_path):
    out = tmp_path / "out"
    assert _batch(str(archive), "--out", str(out)).returncode == 0
    for flag in ("--resume", "--overwrite"):
        part = out / "part-20240101000000-abcdef-00000.jsonl"  # another run id: the next run never writes it
        writer = _hold(f"import time; from yolopose.core.fileio import atomic_path\n"
                       f"with atomic_path({str(part)!r}, suffix='.jsonl') as tmp:\n"
                       f"    tmp.write_text('half a row'); print('ready', flush=True); time.sleep(600)")
        _kill(writer)
        (litter,) = out.glob(".part-*.tmp")
        again = _batch(str(archive), "--out", str(out), flag)
        assert again.returncode == 0, again.stderr
        assert not litter.exists() and f"removed {litter}" in again.stderr, again.stderr
        assert len(_rows(out)) == 5


def test_a_live_writers_part_temp_file_is_left_alone(tmp_path):
    from yolopose.batch.output import OutputFolder

    out = tmp_path / "out"
    out.mkdir()
    writer = _hold(f"import time; from yolopose.core.fileio import atomic_path\n"
                   f"with atomic_path({str(out / 'part-x-00000.jsonl')!r}, suffix='.jsonl') as tmp:\n"
                   f"    tmp.write_text('x'); print('ready', flush=True); time.sleep(600)")
    try:
        OutputFolder(out, "jsonl").prepare(resume=False, overwrite=False)
        assert len(list(out.glob(".part-*.tmp"))) == 1
    finally:
        _kill(writer)


def _killed_atomic_dir(dest: Path) -> Path:
    writer = _hold(f"import time; from pathlib import Path; from yolopose.core.fileio import atomic_dir\n"
                   f"with atomic_dir({str(dest)!r}) as tmp:\n"
                   f"    (tmp / 'model.xml').write_text('<half'); print('ready', flush=True); time.sleep(600)")
    _kill(writer)
    (litter,) = dest.parent.glob(f".{dest.name}.*.tmp")
    return litter


def test_a_killed_atomic_dir_is_removed_by_the_next_save_of_the_same_target(tmp_path, caplog):
    """What a SIGKILL during an OpenVINO export left (``.NAME_openvino.XXXX.tmp/``) survived every
    later export; the next export of the same target removes it now, and logs it."""
    dest = tmp_path / "exports" / "model_fp32_openvino"
    litter = _killed_atomic_dir(dest)
    other = _killed_atomic_dir(tmp_path / "exports" / "other_openvino")  # another target's: left alone
    with caplog.at_level(logging.WARNING, logger="yolopose.core.fileio"):
        with atomic_dir(dest) as tmp:
            (tmp / "model.xml").write_text("<whole/>")
    assert not litter.exists() and other.exists()
    assert (dest / "model.xml").read_text() == "<whole/>"
    assert any(str(litter) in r.getMessage() for r in caplog.records)


def test_a_running_atomic_dir_is_not_taken_for_litter(tmp_path):
    dest = tmp_path / "model_openvino"
    writer = _hold(f"import time; from yolopose.core.fileio import atomic_dir\n"
                   f"with atomic_dir({str(dest)!r}) as tmp:\n"
                   f"    (tmp / 'a').write_text('x'); print('ready', flush=True); time.sleep(600)")
    try:
        (running,) = tmp_path.glob(".model_openvino.*.tmp")
        with atomic_dir(dest) as tmp:
            (tmp / "b").write_text("y")
        assert running.exists() and (dest / "b").exists()
    finally:
        _kill(writer)


def test_the_previous_version_comes_back_when_killed_between_the_renames(tmp_path):
    dest = tmp_path / "model_openvino"
    old = tmp_path / ".model_openvino.abcd1234.old"
    (old / dest.name).mkdir(parents=True)
    (old / dest.name / "model.xml").write_text("<previous/>")
    remove_stale_temp_dirs(dest)
    assert (dest / "model.xml").read_text() == "<previous/>" and not old.exists()


# ----------------------------------------------------------------------------- case 5: read-only / full
def _one_line_error(code: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("yolopose: demo")]
    errors = [line for line in lines if line.startswith("Error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in errors[0], err


REASONS = {"read-only": ("read-only file system", "permission denied"), "no-space": ("no space left",),
           "file-size-limit": ("file too large",)}


def _reason_in(err: str, condition: str) -> bool:
    return any(r in err for r in REASONS[condition])


@pytest.mark.parametrize("condition", _disks.CONDITIONS)
def test_batch_on_a_read_only_or_full_disk(archive, tmp_path, condition):
    out = tmp_path / "out"
    code, _, err, left = _disks.run_cli(condition, out, "batch", str(archive), "--out", str(out), "--executor", "local",
                                        "--format", "jsonl", "--no-progress")
    _one_line_error(code, err, str(out))
    assert _reason_in(err, condition), err
    assert not [e for e in left if e.startswith(("part-", ".part-", "summary", ".summary"))], left


@pytest.mark.parametrize("condition", _disks.CONDITIONS)
def test_predict_save_dir_on_a_read_only_or_full_disk(tmp_path, condition):
    out = tmp_path / "pred"
    image = sorted(SAMPLES.glob("*.jpg"))[0]
    code, _, err, left = _disks.run_cli(condition, out, "predict", str(image), "--save-dir", str(out))
    _one_line_error(code, err, str(out))
    assert _reason_in(err, condition), err
    assert left == [], left


@pytest.mark.parametrize("condition", _disks.CONDITIONS)
def test_eval_metrics_on_a_read_only_or_full_disk(tmp_path, condition):
    out = tmp_path / "metrics"
    code, _, err, left = _disks.run_cli(condition, out, "eval", str(_bundled_model()), "--data",
                                        str(SAMPLES / "annotations.json"), "--images", str(SAMPLES), "--metrics",
                                        str(out / "m.json"), "--metrics-backend", "numpy", "--no-progress")
    _one_line_error(code, err, str(out / "m.json"))
    assert _reason_in(err, condition), err
    assert left == [], left


def _bundled_model() -> Path:
    from yolopose import PoseEstimator

    return PoseEstimator().model_path


def test_atomic_path_turns_a_full_disk_into_a_write_error(tmp_path, monkeypatch):
    import errno

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=r"x\.json: cannot write here \(no space left on the device\)") as err:
        with atomic_path(tmp_path / "x.json") as tmp:
            tmp.write_text("{}")
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []
