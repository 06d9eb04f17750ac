"""Multi-process data-parallel plumbing for ``torchrun``: process group, device, reductions.

``torchrun --nproc_per_node N -m yolopose.training.cli train ...`` starts N processes; each reads
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` from its environment. The backend is gloo on the CPU
and nccl on CUDA. Only rank 0 writes files.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

import torch
import torch.distributed as dist

from yolopose.core.errors import ConfigError, DeviceNotAvailableError

__all__ = ["DistContext", "init_distributed", "select_device", "reduce_mean", "set_threads", "shutdown"]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: rank, world size and its device."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that logs, validates and writes files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (no-op when alone)."""
        if self.distributed:
            dist.barrier()


def select_device(spec: str, local_rank: int = 0) -> torch.device:
    """``""`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"1"``.

    Under ``torchrun`` on CUDA, each process takes the GPU of its local rank.
    """
    spec = (spec or "").strip().lower()
    if spec in ("", "auto"):
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.isdigit():
        spec = f"cuda:{spec}"
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceNotAvailableError(f"--device {spec}: CUDA is not available here; available devices: cpu")
        index = int(spec.split(":", 1)[1]) if ":" in spec else local_rank
        if index >= torch.cuda.device_count():
            raise DeviceNotAvailableError(
                f"--device {spec}: no such GPU; available: {', '.join(f'cuda:{i}' for i in range(torch.cuda.device_count()))}"
            )
        return torch.device("cuda", index)
    raise ConfigError(f"--device {spec!r}: use cpu, cuda, cuda:N or N")


def set_threads(world_size: int) -> int:
    """Intra-op threads per process: the CPUs shared between processes, unless ``OMP_NUM_THREADS``
    says otherwise. Returns the number set."""
    if os.environ.get("OMP_NUM_THREADS"):
        n = max(1, int(os.environ["OMP_NUM_THREADS"]))
    else:
        n = max(1, (os.cpu_count() or 1) // max(1, world_size))
    torch.set_num_threads(n)
    return n


def init_distributed(device_spec: str) -> DistContext:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1); else a single
    process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_spec, local_rank)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        # rank 0 validates alone while the others wait: allow for a long validation on a CPU
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=3))
    return DistContext(rank=rank, local_rank=local_rank, world_size=world, device=device)


def reduce_mean(values: Mapping[str, float], ctx: DistContext, weight: Optional[float] = None) -> Dict[str, float]:
    """Average named floats over processes (weighted by ``weight``, e.g. each rank's batch count)."""
    if not ctx.distributed or not values:
        return dict(values)
    names = sorted(values)
    w = 1.0 if weight is None else float(weight)
    # gloo reduces on the CPU; nccl needs the tensor on the process's GPU
    t = torch.tensor([values[n] * w for n in names] + [w], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    total = float(t[-1])
    return {n: float(v) / total for n, v in zip(names, t[:-1].tolist())}


def shutdown(ctx: DistContext) -> None:
    """Leave the process group."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
