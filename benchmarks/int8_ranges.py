"""Why post-training int8 loses a model's keypoints: per-channel activation ranges, and PTQ with
parts of the graph left in float, in one run.

    python benchmarks/int8_ranges.py --model sdk/assets/default_fp32.onnx --data DATA_DIR \
        [--calib 64] [--json OUT]

``--data`` is a folder written by ``yolopose-train synth`` (calibration on ``images/train``,
scoring on the validation split). For the fp32 ONNX ``--model``:

1. for every activation output (the ``Mul`` of SiLU, or ``Relu``) over ``--calib`` training images,
   preprocessed as the SDK deploys them: the range of the whole tensor (what one per-tensor int8
   scale must cover), the median range of its channels, and the share of channels whose own range
   spans fewer than 8 of the tensor's 255 int8 steps (those channels are all but erased);
2. onnxruntime's post-training quantization (QDQ, per-channel int8 weights, uint8 activations,
   MinMax ranges over the same images) of the whole graph, and of the graph with the keypoint
   branch (``/head/kpt``: all of it, its first half, its second half with the output convolutions)
   left in float; keypoint and box AP of each through :func:`yolopose.evaluate.evaluate_model`,
   beside the fp32 model's.

The CPU model and flags are printed; AP does not depend on them.
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from yolopose import PoseEstimator
from yolopose.core.cpu import cpu_features, cpu_model
from yolopose.evaluate import evaluate_model

LEVELS = 8  # a channel spanning fewer int8 steps than this keeps almost nothing of its signal


def _activation_outputs(model: Any) -> List[str]:
    """Output names of the activations: SiLU's Mul (x * sigmoid(x)) and Relu."""
    producers = {o: n for n in model.graph.node for o in n.output}
    names = []
    for node in model.graph.node:
        if node.op_type == "Relu":
            names.append(node.output[0])
        elif node.op_type == "Mul" and any(producers.get(i) is not None and producers[i].op_type == "Sigmoid" for i in node.input):
            names.append(node.output[0])
    return names


def calibration_inputs(model_path: Path, images: Sequence[Path]) -> List[np.ndarray]:
    """The deployed input arrays (letterbox, layout, scaling) of ``images``, one batch of 1 each."""
    estimator = PoseEstimator(model_path, backend="onnxruntime")
    return [estimator.preprocess(str(p))[0] for p in images]


def channel_ranges(model_path: Path, inputs: Sequence[np.ndarray]) -> List[Dict[str, Any]]:
    """Per activation tensor: its range, its channels' median range, the share of crushed channels."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(model_path))
    names = _activation_outputs(model)
    model.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    lo: Dict[str, np.ndarray] = {}
    hi: Dict[str, np.ndarray] = {}
    for x in inputs:
        for name, out in zip(names, session.run(names, {feed: x})):
            cmax, cmin = out.max(axis=(0, 2, 3)), out.min(axis=(0, 2, 3))  # NCHW inside the graph
            hi[name] = np.maximum(hi[name], cmax) if name in hi else cmax
            lo[name] = np.minimum(lo[name], cmin) if name in lo else cmin
    rows = []
    for name in names:
        per_channel = hi[name] - lo[name]
        tensor = float(hi[name].max() - lo[name].min())
        step = tensor / 255.0 if tensor > 0 else 1.0
        rows.append({
            "tensor": name,
            "range": tensor,
            "channel_range_median": float(np.median(per_channel)),
            "crushed": float(np.mean(per_channel < LEVELS * step)),
        })
    return rows


def _layer(name: str) -> str:
    return name.replace("/model/", "").replace("/act/Mul_output_0", "").replace("_output_0", "")


# Which nodes stay in float in each PTQ variant (matched against onnxruntime node names).
VARIANTS: Dict[str, Callable[[str], bool]] = {
    "all int8": lambda name: False,
    "keypoint branch in float": lambda name: "/head/kpt" in name,
    "its first half in float": lambda name: re.search(r"/head/kpt\.\d+/kpt\.\d+\.[0-4]/", name) is not None,
    "its second half in float": lambda name: re.search(r"/head/kpt\.\d+/kpt\.\d+\.([5-9]|\d\d)/|/head/kpt_", name) is not None,
}


def quantize(model_path: Path, inputs: Sequence[np.ndarray], keep_float: Callable[[str], bool], out: Path) -> Path:
    """onnxruntime PTQ (QDQ, MinMax) of ``model_path``; nodes matching ``keep_float`` stay float.
    The model's metadata (which the SDK reads) is copied over."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
    source = onnx.load(str(model_path))
    feed = source.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter({feed: x} for x in inputs)

        def get_next(self) -> Any:
            return next(self._it, None)

    excluded = [n.name for n in onnx.load(str(prepared)).graph.node if keep_float(n.name)]
    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=excluded)
    quantized = onnx.load(str(out))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(source.metadata_props)
    onnx.save(quantized, str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "sdk" / "assets" / "default_fp32.onnx"))
    parser.add_argument("--data", required=True, help="dataset folder from `yolopose-train synth`")
    parser.add_argument("--calib", type=int, default=64, help="training images for the ranges and the calibration")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    model, data = Path(args.model), Path(args.data)
    print(f"CPU: {cpu_model()}; flags: {' '.join(cpu_features()) or '-'}")
    train = sorted((data / "images" / "train").glob("*.jpg"))[: args.calib]
    if not train:
        raise SystemExit(f"{data}: no images/train/*.jpg (write one with `yolopose-train synth`)")
    inputs = calibration_inputs(model, train)
    rows = channel_ranges(model, inputs)
    print(f"\n1. activation ranges over {len(train)} training images (int8 step = tensor range / 255)")
    print(f"   {'activation':<44} {'tensor range':>12} {'median channel':>15} {'channels < 8 steps':>19}")
    for r in rows:
        print(f"   {_layer(r['tensor'])[:44]:<44} {r['range']:12.2f} {r['channel_range_median']:15.3f} {r['crushed']:19.0%}")

    ann, val = data / "annotations" / "person_keypoints_val.json", data / "images" / "val"
    results: Dict[str, Dict[str, float]] = {}

    def score(label: str, path: Path) -> None:
        metrics = evaluate_model(path, ann, val, backend="onnxruntime").metrics
        results[label] = {"keypoint_AP": metrics["AP"], "box_AP": metrics["box_AP"]}

    score("fp32", model)
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, keep_float) in enumerate(VARIANTS.items()):
            score(label, quantize(model, inputs, keep_float, Path(tmp) / f"ptq{n}.onnx"))
    base = results["fp32"]["keypoint_AP"]
    print(f"\n2. onnxruntime PTQ (MinMax, {len(train)} images), AP on {val} ({ann.name})")
    print(f"   {'variant':<28} {'keypoint AP':>11} {'x fp32':>7} {'box AP':>7}")
    for label, r in results.items():
        ratio = r["keypoint_AP"] / base if base else float("nan")
        print(f"   {label:<28} {r['keypoint_AP']:11.4f} {ratio:7.1%} {r['box_AP']:7.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_model(), "ranges": rows, "ptq": results}, indent=2))


if __name__ == "__main__":
    main()
