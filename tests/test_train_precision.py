"""Mixed-precision choice of the trainer: bf16 only on CPUs that compute it natively."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.training.trainer import precision as prec  # noqa: E402

AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni amx_bf16 amx_tile\n"
AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp bf16 i8mm\n"


@pytest.mark.parametrize("text, native", [(AMX, True), (AVX2, False), (ARM, True), ("", False), ("flags: avx512_bf16x\n", False)])
def test_cpu_flags(text, native):
    assert prec.cpu_has_native_bf16(text) is native


def test_selection(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert prec.select_precision(cuda, amp=True) == prec.Precision(torch.float16, scale_loss=True)
    assert prec.select_precision(cuda, amp=False) == prec.Precision()
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: True)
    p = prec.select_precision(cpu, amp=True)
    assert (p.dtype, p.scale_loss, p.channels_last) == (torch.bfloat16, False, True)
    assert p.describe() == "bfloat16 (channels-last)"
    assert not prec.select_precision(cpu, amp=False).enabled
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)
    assert prec.select_precision(cpu, amp=True).describe() == "float32"
