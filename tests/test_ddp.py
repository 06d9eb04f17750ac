"""Multi-process training: 2 processes under torchrun with gloo on the CPU stay in lockstep."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch.distributed as dist  # noqa: E402

WORKER = textwrap.dedent(
    """
    import sys
    import torch
    from yolopose.training.trainer import TrainConfig, train

    out, data = sys.argv[1], sys.argv[2]

    def record(end):
        rank = end.ctx.rank
        params = {n: p.detach().clone() for n, p in end.model.named_parameters()}
        torch.save({"params": params, "losses": end.losses, "world": end.ctx.world_size}, f"{out}/rank{rank}.pt")

    cfg = TrainConfig(data=data, model="yolov5n-pose", imgsz=64, epochs=1, batch=4, workers=0, out=f"{out}/run",
                      warmup_epochs=0, nbs=4, plots=False, val_interval=100, device="cpu", seed=2)
    train(cfg, callbacks=[record])
    """
)


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed with gloo needed")
def test_two_gloo_processes_keep_equal_weights(tmp_path):
    from yolopose.training.synth import write_dataset

    data = tmp_path / "synth"
    write_dataset(data, train=8, val=2, imgsz=64, seed=5, workers=1, preview=0)  # 8 images: 2 steps of 2 per rank
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script), str(tmp_path), str(data)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["world"] == r1["world"] == 2
    for name, value in r0["params"].items():
        torch.testing.assert_close(r1["params"][name], value, rtol=0, atol=0, msg=name)
    assert r0["losses"] == pytest.approx(r1["losses"])  # loss terms reduced over both ranks
    # two optimizer steps were taken (8 images, 2 per rank and batch) and rank 0 wrote the checkpoint
    from yolopose.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["epoch"] == 0 and ckpt["ema_updates"] == 2
    for name, value in r0["params"].items():
        torch.testing.assert_close(ckpt["train_model"][name], value, rtol=0, atol=0, msg=name)
