"""Tiny real model artifacts for tests: known raw head tensors, hand-computable decode results.

Every graph computes ``output_k = constant_k + mean(input)`` (``mean`` over all pixels of one
image, after the SDK's ``/255``), so a black image yields exactly the constants below, a grey image
shifts every logit by a known amount, and a batch gives per-image results. The same constants are
used by the ONNX builders here, by OpenVINO (reading the ONNX or an IR saved from it) and by the
committed TFLite fixtures (``tests/fixtures/make_tflite_fixtures.py``).

Other engineers: ``make_raw_onnx(path)`` gives a runnable yolopose ONNX with metadata in a few
KB; ``EXPECTED`` lists the poses it contains (network-input pixels, for a black 64x64 image).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolopose.core.metadata import METADATA_KEY, ModelMetadata, OutputSpec

IMGSZ = (64, 64)
STRIDES = (16, 32)
ANCHORS = (((20.0, 30.0), (40.0, 50.0)), ((60.0, 80.0), (100.0, 120.0)))
K = 17
NA = 2
BACKGROUND_OBJ = -8.0
FIXTURES = Path(__file__).parent / "fixtures"


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


# name: (level, gx, gy, anchor, tx, ty, tw, th, obj, cls, kpt-raw offset, kpt-conf base)
PEOPLE = {
    "A": (0, 1, 2, 1, 0.0, 0.0, 0.0, 0.0, 3.0, 2.0, 0.25, 2.0),  # A: score .839
    "B": (1, 0, 1, 0, logit(0.75), 0.0, logit(0.25), 0.0, 2.0, 1.0, 0.5, 1.0),  # B: score .644
    "C": (0, 2, 2, 1, logit(0.25), 0.0, 0.0, 0.0, 0.5, 2.0, 0.25, 0.0),  # C: IoU .667 with A, score .548
    "D": (1, 1, 0, 1, 0.0, 0.0, 0.0, 0.0, -3.0, 0.0, 0.0, -1.0),  # D: score .0237
}


def _kpt_raw(j: int, base: float) -> Tuple[float, float]:
    return base + 0.02 * j, base - 0.02 * j


def _kpt_logit(j: int, base: float) -> float:
    return base + (j % 5) - 2.0


def metadata(**overrides) -> ModelMetadata:
    fields = dict(
        model="tiny-test",
        imgsz=IMGSZ,
        strides=STRIDES,
        anchors=ANCHORS,
        outputs=tuple(OutputSpec(lvl, kind, f"{kind}{lvl}") for lvl in range(2) for kind in ("det", "kpt_xy", "kpt_conf")),
        version="0.0-test",
        description="constant test graph",
    )
    fields.update(overrides)
    return ModelMetadata(**fields)


def raw_constants() -> Dict[Tuple[int, str], np.ndarray]:
    """``(level, kind) -> (1, H, W, C)`` float32 raw head outputs for a black image."""
    out = {}
    for lvl, s in enumerate(STRIDES):
        h, w = IMGSZ[0] // s, IMGSZ[1] // s
        det = np.zeros((1, h, w, NA, 6), np.float32)
        det[..., 4] = BACKGROUND_OBJ
        out[(lvl, "det")] = det
        out[(lvl, "kpt_xy")] = np.zeros((1, h, w, NA, K, 2), np.float32)
        out[(lvl, "kpt_conf")] = np.full((1, h, w, NA, K), -4.0, np.float32)
    for lvl, gx, gy, a, tx, ty, tw, th, obj, cls, kbase, cbase in PEOPLE.values():
        out[(lvl, "det")][0, gy, gx, a] = [tx, ty, tw, th, obj, cls]
        for j in range(K):
            out[(lvl, "kpt_xy")][0, gy, gx, a, j] = _kpt_raw(j, kbase)
            out[(lvl, "kpt_conf")][0, gy, gx, a, j] = _kpt_logit(j, cbase)
    return {key: v.reshape(v.shape[:3] + (-1,)) for key, v in out.items()}


def expected_people(shift: float = 0.0) -> List[dict]:
    """Hand-decoded people (network pixels), sorted by score; ``shift`` is added to every logit."""
    people = []
    for name, (lvl, gx, gy, a, tx, ty, tw, th, obj, cls, kbase, cbase) in PEOPLE.items():
        s = STRIDES[lvl]
        aw, ah = ANCHORS[lvl][a]
        cx = (2 * sigmoid(tx + shift) - 0.5 + gx) * s
        cy = (2 * sigmoid(ty + shift) - 0.5 + gy) * s
        bw = (2 * sigmoid(tw + shift)) ** 2 * aw
        bh = (2 * sigmoid(th + shift)) ** 2 * ah
        kpts = []
        for j in range(K):
            rx, ry = _kpt_raw(j, kbase)
            kpts.append(
                [(2 * (rx + shift) - 0.5 + gx) * s, (2 * (ry + shift) - 0.5 + gy) * s, float(sigmoid(_kpt_logit(j, cbase) + shift))]
            )
        people.append(
            dict(
                name=name,
                box=[cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
                score=float(sigmoid(obj + shift) * sigmoid(cls + shift)),
                keypoints=np.array(kpts, np.float64),
            )
        )
    return sorted(people, key=lambda p: -p["score"])


def expected_after_nms(conf: float = 0.25, shift: float = 0.0) -> List[dict]:
    """People A, B (and D when ``conf`` is low): C overlaps A with IoU .667 > .65."""
    people = [p for p in expected_people(shift) if p["score"] >= conf]
    return [p for p in people if p["name"] != "C"]


# ----------------------------------------------------------------------------- ONNX builders
def _onnx():
    import onnx  # noqa: F401  (tests that build graphs need onnx; the lean env has it)
    from onnx import TensorProto, helper, numpy_helper

    return onnx, TensorProto, helper, numpy_helper


def _mean_node(helper, numpy_helper, inp: str, axes: Sequence[int], out: str, nodes, inits):
    inits.append(numpy_helper.from_array(np.asarray(axes, np.int64), "mean_axes"))
    nodes.append(helper.make_node("ReduceMean", [inp, "mean_axes"], [out], keepdims=1))


def constant_onnx(
    path: Path,
    outputs: Sequence[Tuple[str, np.ndarray]],
    props: Optional[Dict[str, str]] = None,
    batch: Optional[int] = 1,
    imgsz: Tuple[int, int] = IMGSZ,
    follow_input: bool = True,
    scale_output: Optional[float] = None,
) -> Path:
    """The tests' one ONNX builder: input ``images (batch, 3, H, W)`` float32 (``batch=None``:
    dynamic) and one output per ``(name, constant)``, equal to the constant plus ``mean(images)``
    (``follow_input``) or plus ``0 * mean(images)`` (outputs fixed whatever the image), times
    ``scale_output`` if given. ``props`` become the model's metadata_props."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    nodes, inits, outs = [], [], []
    _mean_node(helper, numpy_helper, "images", [1, 2, 3], "m", nodes, inits)
    if not follow_input:
        inits.append(numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"))
        nodes.append(helper.make_node("Mul", ["m", "zero"], ["m_zeroed"]))
    term = "m" if follow_input else "m_zeroed"
    for name, c in outputs:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(c), f"const_{name}"))
        src = f"sum_{name}" if scale_output is not None else name
        nodes.append(helper.make_node("Add", [f"const_{name}", term], [src]))
        if scale_output is not None:
            inits.append(numpy_helper.from_array(np.asarray(scale_output, np.float32), f"scale_{name}"))
            nodes.append(helper.make_node("Mul", [src, f"scale_{name}"], [name]))
        shape = list(c.shape)
        shape[0] = batch if batch else "batch"
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch if batch else "batch", 3, *imgsz])
    graph = helper.make_graph(nodes, "tiny_pose", [inp], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="yolopose-tests")
    model.ir_version = 8
    for k, v in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def make_raw_onnx(
    path: Path,
    batch: Optional[int] = 1,
    meta: Optional[ModelMetadata] = None,
    order: Optional[Sequence[int]] = None,
    names: Optional[Sequence[str]] = None,
    nchw_outputs: bool = False,
    scale_output: Optional[float] = None,
    extra_props: Optional[Dict[str, str]] = None,
) -> Path:
    """Write a yolopose-style ONNX (input ``images`` NCHW float32, 6 NHWC outputs) with metadata.

    ``order`` permutes the outputs (they are matched by shape); ``names`` renames them;
    ``scale_output`` multiplies every output (e.g. ``float('nan')`` for a broken model).
    """
    consts = raw_constants()
    keys = [(lvl, kind) for lvl in range(2) for kind in ("det", "kpt_xy", "kpt_conf")]
    outputs = []
    for i in list(order) if order is not None else range(len(keys)):
        lvl, kind = keys[i]
        c = consts[(lvl, kind)]
        outputs.append((names[i] if names else f"{kind}{lvl}", c.transpose(0, 3, 1, 2) if nchw_outputs else c))
    props = {} if meta is False else {METADATA_KEY: (meta or metadata(batch=batch)).to_json()}
    props.update(extra_props or {})
    return constant_onnx(path, outputs, props, batch=batch, scale_output=scale_output)


def decoded_constants(n: int = 12, channels_first: bool = True) -> np.ndarray:
    """A ``(1, 56, n)`` (or ``(1, n, 56)``) decoded pose tensor: two people and background."""
    rows = np.zeros((n, 56), np.float32)
    rows[:, 0:4] = [10, 10, 4, 4]
    rows[:, 4] = 0.01
    rows[0, :5] = [20, 30, 16, 40, 0.9]  # box [12, 10, 28, 50]
    rows[1, :5] = [21, 30, 16, 40, 0.6]  # IoU .88 with row 0: suppressed
    rows[2, :5] = [48, 40, 20, 20, 0.7]  # box [38, 30, 58, 50]
    for r, (x0, y0) in ((0, (14, 12)), (1, (15, 12)), (2, (40, 32))):
        kp = np.stack([x0 + np.arange(K), y0 + np.arange(K) * 2, np.linspace(0.1, 0.9, K)], 1)
        rows[r, 5:] = kp.reshape(-1)
    out = rows[None]
    return np.ascontiguousarray(out.transpose(0, 2, 1)) if channels_first else out


def make_decoded_onnx(path: Path, props: Optional[Dict[str, str]] = None, channels_first: bool = True, n: int = 12) -> Path:
    """An ONNX like other tools' pose exports: one decoded output of ``n`` candidates, optional foreign metadata."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    c = decoded_constants(n=n, channels_first=channels_first)
    nodes, inits = [], []
    _mean_node(helper, numpy_helper, "images", [1, 2, 3], "m4", nodes, inits)
    inits.append(numpy_helper.from_array(np.asarray([-1, 1, 1], np.int64), "shape3"))
    nodes.append(helper.make_node("Reshape", ["m4", "shape3"], ["m"]))
    inits.append(numpy_helper.from_array(c, "const"))
    inits.append(numpy_helper.from_array(np.asarray(0.0, np.float32), "zero"))
    nodes.append(helper.make_node("Mul", ["m", "zero"], ["m0"]))
    nodes.append(helper.make_node("Add", ["const", "m0"], ["output0"]))
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *IMGSZ])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(c.shape))
    graph = helper.make_graph(nodes, "decoded_pose", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for k, v in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))
    return Path(path)


ULTRALYTICS_PROPS = {
    "description": "Ultralytics YOLOv8n-pose model",
    "author": "Ultralytics",
    "task": "pose",
    "stride": "32",
    "batch": "1",
    "imgsz": "[64, 64]",
    "names": "{0: 'person'}",
    "kpt_shape": "[17, 3]",
}


def save_openvino_ir(onnx_path: Path, xml_path: Path) -> Path:
    """Convert an ONNX graph to OpenVINO IR, carrying the yolopose metadata into ``rt_info``."""
    import onnx
    import openvino as ov

    props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    model = ov.Core().read_model(str(onnx_path))
    if METADATA_KEY in props:
        model.set_rt_info(props[METADATA_KEY], METADATA_KEY)
    ov.save_model(model, str(xml_path), compress_to_fp16=False)
    return Path(xml_path)


def ultralytics_tflite_metadata() -> str:
    return json.dumps({"description": "Ultralytics YOLOv8n-pose", "task": "pose", "imgsz": [64, 64],
                       "names": {"0": "person"}, "kpt_shape": [17, 3], "stride": 32, "batch": 1})
