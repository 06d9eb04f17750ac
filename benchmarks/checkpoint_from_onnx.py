"""Rebuild a torch checkpoint from one of our fp32 ONNX exports (e.g. the bundled model, whose
training checkpoint is not shipped), for QAT and export studies on exactly the deployed weights.

    python benchmarks/checkpoint_from_onnx.py [--onnx sdk/assets/default_fp32.onnx] --out bundled.pt

The ONNX holds every convolution with batch norm folded in. Each ``Conv`` node is named after its
module (``/model/head/kpt.2/kpt.2.2/conv/Conv`` -> ``head.kpt.2.2.conv``); its weight is copied into
that convolution, its bias into the convolution's bias or, for conv + BN blocks, into the BN,
whose scale, mean and variance are set so that it passes values through unchanged. The rebuilt
model's raw outputs are compared with onnxruntime's on random inputs and the largest difference
printed; a mismatch above 1e-3 is an error.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

DEFAULT_ONNX = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "default_fp32.onnx"


def rebuild(onnx_path: Path) -> tuple:
    """``(model, imgsz)``: the registered model named in the ONNX's metadata, with its weights."""
    import onnx
    from onnx import numpy_helper

    from yolopose.export.scopes import module_of
    from yolopose.training.models import create_model

    graph = onnx.load(str(onnx_path))
    meta = json.loads({p.key: p.value for p in graph.metadata_props}["yolopose"])
    model = create_model(meta["model"], num_keypoints=meta["num_keypoints"]).eval()
    modules = dict(model.named_modules())
    weights = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    expected = [name for name, m in modules.items() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(expected):
        raise SystemExit(f"{onnx_path}: {len(convs)} Conv nodes for the {len(expected)} convolutions of {meta['model']}")
    with torch.no_grad():
        for node in convs:
            name = module_of(node.name)
            conv = modules.get(name)
            if not isinstance(conv, torch.nn.Conv2d):
                raise SystemExit(f"{onnx_path}: node {node.name} names no convolution of {meta['model']} ({name})")
            conv.weight.copy_(torch.from_numpy(weights[node.input[1]].copy()))
            bias = torch.from_numpy(weights[node.input[2]].copy())
            if conv.bias is not None:
                conv.bias.copy_(bias)
                continue
            bn = modules[name.rsplit(".", 1)[0] + ".bn"]
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    return model, meta["imgsz"]


def max_difference(model: torch.nn.Module, onnx_path: Path, imgsz) -> float:
    """Largest raw-output difference between the rebuilt model and onnxruntime on random images."""
    import onnxruntime as ort

    from yolopose.training.models.raw_outputs import RawOutputs

    x = torch.rand(2, 3, *imgsz, generator=torch.Generator().manual_seed(0))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ours = RawOutputs(model, "NCHW").eval()(x)
    theirs = [session.run(None, {session.get_inputs()[0].name: x[i : i + 1].numpy()}) for i in range(2)]
    return max(float(np.abs(ours[k][i].numpy() - theirs[i][k]).max()) for k in range(len(ours)) for i in range(2))


def main() -> None:
    from yolopose.training.checkpoint import save_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", default=str(DEFAULT_ONNX))
    parser.add_argument("--out", required=True, help="checkpoint to write")
    args = parser.parse_args()
    model, imgsz = rebuild(Path(args.onnx))
    diff = max_difference(model, Path(args.onnx), imgsz)
    print(f"rebuilt {type(model).__name__} from {args.onnx}: largest raw-output difference to onnxruntime {diff:.3g}")
    if diff > 1e-3:
        raise SystemExit("the rebuilt model does not reproduce the ONNX")
    save_checkpoint(args.out, model=model, imgsz=list(imgsz), train_args={"rebuilt_from": str(args.onnx)})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
