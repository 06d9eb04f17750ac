"""Training-step speed of float32 against the mixed precision the trainer picks, side by side.

    python benchmarks/train_precision.py [--model yolov5n-pose-lite] [--imgsz 256] [--batch 16] [--steps 8]

One forward + loss + backward + AdamW step on random images with a few random people, timed for
each precision in turn in one process (interleaved rounds, median per precision), so the ratios
compare like with like on a shared machine. Rows: float32; bfloat16 autocast; bfloat16 autocast
with channels-last model and input (what ``yolopose-train train`` uses on CPUs with native bf16,
see ``yolopose.training.trainer.precision``). On a CPU without native bf16 the bf16 rows are
emulated and slower; the trainer then stays in float32.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Dict, List

import torch

from yolopose.training.loss import LossHyp, PoseLoss
from yolopose.training.models import create_model
from yolopose.training.trainer.distributed import set_threads
from yolopose.training.trainer.precision import Precision, cpu_has_native_bf16

MODES: Dict[str, Precision] = {
    "float32": Precision(),
    "bfloat16": Precision(torch.bfloat16),
    "bfloat16 + channels-last": Precision(torch.bfloat16, channels_last=True),
}


def random_targets(batch: int, imgsz: int, people: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch * people, 6 + 3 * 17)`` targets in pixels: image, class, box cx cy w h, keypoints inside the box."""
    rows = []
    for b in range(batch):
        for _ in range(people):
            w, h = (torch.rand(2, generator=generator) * 0.4 + 0.1) * imgsz
            cx, cy = w / 2 + torch.rand(1, generator=generator) * (imgsz - w), h / 2 + torch.rand(1, generator=generator) * (imgsz - h)
            kx = cx + (torch.rand(17, generator=generator) - 0.5) * w
            ky = cy + (torch.rand(17, generator=generator) - 0.5) * h
            kpts = torch.stack([kx, ky, torch.full((17,), 2.0)], 1).reshape(-1)
            rows.append(torch.cat([torch.tensor([float(b), 0.0]), torch.stack([cx.squeeze(), cy.squeeze(), w, h]), kpts]))
    return torch.stack(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="yolov5n-pose-lite")
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per precision (after 2 warm-up steps)")
    args = parser.parse_args()

    threads = set_threads(1)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, 3, args.imgsz, args.imgsz, generator=g)
    targets = random_targets(args.batch, args.imgsz, 4, g)
    setups = {}
    for name, prec in MODES.items():
        torch.manual_seed(0)
        net = create_model(args.model).train()
        x = images
        if prec.channels_last:
            net = net.to(memory_format=torch.channels_last)
            x = images.contiguous(memory_format=torch.channels_last)
        crit = PoseLoss(net, LossHyp(kpt_l1=0.3).scaled(len(net.strides), net.num_classes, args.imgsz))
        setups[name] = (net, x, crit, torch.optim.AdamW(net.parameters(), lr=1e-3), prec)

    def step(name: str) -> float:
        net, x, crit, opt, prec = setups[name]
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=prec.dtype, enabled=prec.enabled):
            raw = net(x)
        loss, _ = crit(raw, targets)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    for name in MODES:  # warm-up: oneDNN primitive creation, allocator
        step(name), step(name)
    times: Dict[str, List[float]] = {name: [] for name in MODES}
    for _ in range(args.steps):  # interleaved rounds: load changes hit every precision alike
        for name in MODES:
            times[name].append(step(name))

    print(f"{args.model} @ {args.imgsz}, batch {args.batch}, {threads} threads, {args.steps} steps each; "
          f"native bf16 on this CPU: {'yes' if cpu_has_native_bf16() else 'no'}")
    base = statistics.median(times["float32"])
    print(f"{'precision':<26} {'median s/step':>14} {'images/s':>9} {'speed-up':>9}")
    for name in MODES:
        med = statistics.median(times[name])
        print(f"{name:<26} {med:>14.3f} {args.batch / med:>9.1f} {base / med:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
