"""Run a pose ONNX on onnxruntime's CUDA and TensorRT providers and compare with the CPU.

    python benchmarks/gpu_check.py [MODEL.onnx] [--runs 20] [--image IMG]

Without MODEL, a yolov5s6-pose ONNX (random weights) is exported with torch. For each GPU
provider present it prints the median inference latency, the largest difference of the raw
outputs from the CPU run, and whether the decoded poses agree (same count, boxes within 1 px at
conf 0.25 and 0.001). Exits 0 with a message when no GPU provider is available.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np


def _compare(cpu_poses, gpu_poses) -> str:
    if len(cpu_poses) != len(gpu_poses):
        return f"different counts ({len(cpu_poses)} on CPU, {len(gpu_poses)} on GPU)"
    if not len(cpu_poses):
        return "both empty"
    box = float(np.abs(cpu_poses.boxes - gpu_poses.boxes).max())
    kpt = float(np.abs(cpu_poses.keypoints[..., :2] - gpu_poses.keypoints[..., :2]).max())
    return f"{len(cpu_poses)} poses, max box diff {box:.3f} px, max keypoint diff {kpt:.3f} px" + (" OK" if box < 1 and kpt < 1 else " MISMATCH")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--image", type=Path, default=None, help="image to run (default: a synthetic 640x480 frame)")
    args = ap.parse_args(argv)
    try:
        import onnxruntime as ort
    except ImportError:
        print('no onnxruntime installed: pip install "yolopose[gpu]" on a CUDA machine')
        return 0
    providers = ort.get_available_providers()
    wanted = [(dev, prov) for dev, prov in (("cuda", "CUDAExecutionProvider"), ("tensorrt", "TensorrtExecutionProvider")) if prov in providers]
    if not wanted:
        print(f"no GPU: onnxruntime {ort.__version__} offers {', '.join(providers)}; install yolopose[gpu] on a machine with CUDA")
        return 0

    from yolopose import PoseEstimator
    from yolopose.core.errors import YoloPoseError
    from yolopose.core.images import load_image

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from postprocess import export_s6_onnx, median_ms

    tmp = None
    model = args.model
    if model is None:

        tmp = tempfile.TemporaryDirectory()
        print("exporting yolov5s6-pose to ONNX (random weights) ...", flush=True)
        model = export_s6_onnx(Path(tmp.name))
    if args.image is not None:
        image = load_image(args.image)
    else:
        rng = np.random.default_rng(0)
        image = (np.linspace(0, 255, 640)[None, :, None] * np.ones((480, 1, 3)) * 0.5 + rng.integers(0, 128, (480, 640, 3))).astype(np.uint8)

    cpu = PoseEstimator(model, device="cpu")
    x, transforms = cpu.preprocess([image])
    cpu_raw = cpu.infer(x)
    cpu_ms = median_ms(lambda: cpu.infer(x), max(3, args.runs // 4))
    print(f"{Path(model).name}: cpu {cpu_ms:.2f} ms median")
    for device, provider in wanted:
        try:
            est = PoseEstimator(model, device=device)
        except YoloPoseError as exc:
            print(f"{device}: cannot start ({exc})")
            continue
        raw = est.infer(x)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(cpu_raw, raw))
        ms = median_ms(lambda: est.infer(x), args.runs)
        print(f"{device} ({provider}): {ms:.2f} ms median, {cpu_ms / ms:.1f}x the CPU; max raw output diff {diff:.2e}")
        for conf in (0.25, 0.001):
            a = cpu.postprocess(cpu_raw, transforms, conf=conf)[0]
            b = est.postprocess(raw, transforms, conf=conf)[0]
            print(f"  conf {conf}: {_compare(a, b)}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
