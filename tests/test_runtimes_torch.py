"""A TFLite model converted from torch with litert-torch runs through the SDK like the fixtures."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import _graphs as g  # noqa: E402
from yolopose import PoseEstimator  # noqa: E402

KEYS = [(lvl, kind) for lvl in range(2) for kind in ("det", "kpt_xy", "kpt_conf")]


class _ConstantHead(torch.nn.Module):
    """NHWC image in [0, 1] -> the six raw head tensors of tests/_graphs.py plus mean(image)."""

    def __init__(self) -> None:
        super().__init__()
        consts = g.raw_constants()
        for i, key in enumerate(KEYS):
            self.register_buffer(f"c{i}", torch.from_numpy(consts[key]))

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        return tuple(getattr(self, f"c{i}") + m for i in range(len(KEYS)))


@pytest.mark.slow
def test_litert_torch_model_through_the_sdk(tmp_path):
    litert_torch = pytest.importorskip("litert_torch")
    edge = litert_torch.convert(_ConstantHead().eval(), (torch.zeros(1, *g.IMGSZ, 3),))
    path = tmp_path / "converted.tflite"
    edge.export(str(path))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("yolopose.json", g.metadata(input_layout="NHWC").to_json())
    path.write_bytes(path.read_bytes() + buf.getvalue())

    est = PoseEstimator(path, conf=0.25)
    assert est.backend == "tflite" and est.plan.layout == "NHWC"
    ref = PoseEstimator(g.FIXTURES / "tiny_raw_fp32.tflite", conf=0.25)
    for image in (np.zeros((64, 64, 3), np.uint8), np.full((90, 40, 3), 77, np.uint8)):
        a, b = est.predict(image), ref.predict(image)
        assert len(a) == len(b) == 2
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)
