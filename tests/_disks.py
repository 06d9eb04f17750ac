"""Run the ``yolopose`` CLI in a child process whose output folder is read-only or full.

``run_cli(condition, folder, *args)`` prepares ``folder`` and runs the command:

- ``"read-only"``: a read-only bind mount of ``folder`` in a private mount namespace
  (``unshare -m``, as root), or ``chmod 555`` when not root (then the error is "permission denied");
- ``"no-space"``: a 64 KiB tmpfs mounted on ``folder`` and filled up (as root, ``unshare -m``);
- ``"file-size-limit"``: the process may not write files beyond 200 bytes (``RLIMIT_FSIZE`` with
  ``SIGXFSZ`` ignored: writes fail with ``EFBIG``), which works for every user.

Conditions this machine cannot make are skipped.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

CONDITIONS = ("read-only", "no-space", "file-size-limit")
_CLI = [sys.executable, "-c", "from yolopose.cli import main; main()"]


def _unshare_works() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt && umount /mnt"],
                           capture_output=True)
    return probe.returncode == 0


_LS = "__folder_after__"


def _in_namespace(setup: str, args, folder: str) -> list:
    """The command in a private mount namespace; afterwards the folder's entries are printed to
    stdout after a marker line (the parent cannot see a tmpfs mounted there)."""
    command = " ".join(shlex.quote(a) for a in [*_CLI, *args])
    return ["unshare", "-m", "sh", "-c", f"{setup} || exit 99; {command}; rc=$?; echo {_LS}; ls -A {folder}; exit $rc"]


def _limit_file_size() -> None:  # runs in the child before exec
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def run_cli(condition: str, folder: Path, *args: str, timeout: float = 300) -> Tuple[int, str, str, List[str]]:
    """``(exit code, stdout, stderr, entries of folder afterwards)`` of ``yolopose ARGS`` with
    ``folder`` under ``condition`` (the filler file of ``no-space`` is not listed)."""
    folder.mkdir(parents=True, exist_ok=True)
    q = shlex.quote(str(folder))
    kwargs = {}
    if condition == "read-only":
        if _unshare_works():
            cmd = _in_namespace(f"mount --bind {q} {q} && mount -o remount,bind,ro {q}", args, q)
        elif os.geteuid() != 0:
            folder.chmod(0o555)
            cmd = [*_CLI, *args]
        else:
            pytest.skip("cannot make a read-only folder here (root without unshare)")
    elif condition == "no-space":
        if not _unshare_works():
            pytest.skip("cannot mount a small tmpfs here (needs root and unshare)")
        fill = f"(dd if=/dev/zero of={q}/filler bs=4k 2>/dev/null || true)"
        cmd = _in_namespace(f"mount -t tmpfs -o size=64k tmpfs {q} && {fill}", args, q)
    elif condition == "file-size-limit":
        cmd = [*_CLI, *args]
        kwargs["preexec_fn"] = _limit_file_size
    else:
        raise ValueError(condition)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    finally:
        if condition == "read-only" and os.geteuid() != 0:
            folder.chmod(0o755)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.returncode != 99, f"could not prepare the folder: {proc.stderr}"
    out = proc.stdout
    if _LS in out:
        out, listing = out.split(_LS + "\n", 1)
        entries = [e for e in listing.splitlines() if e and e != "filler"]
    else:
        entries = sorted(os.listdir(folder))
    return proc.returncode, out, proc.stderr, entries
