"""Raspberry-Pi style deployment: an int8 TFLite model with nothing but ``yolopose[litert]``
(or ``yolopose[tflite]`` on 32-bit Pi OS) installed -- no onnxruntime, OpenVINO, torch or OpenCV.

    pip install "yolopose[litert]"          # 64-bit Pi OS (ai-edge-litert)
    pip install "yolopose[tflite]"          # or tflite-runtime (needs numpy<2)
    python examples/03_raspberry_pi.py frames/ --model pose_int8.tflite --threads 4

Reads images (a file or a folder, e.g. written by ``libcamera-still --timelapse``), prints one
JSON line per image with the people found, and the median time of each stage at the end. Images
are decoded with Pillow; the TFLite interpreter runs with XNNPACK and the given thread count.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from yolopose import PoseEstimator, load_image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images", help="an image file or a folder of images")
    p.add_argument("--model", default=None, help=".tflite model (default: the bundled int8 TFLite model)")
    p.add_argument("--threads", type=int, default=4, help="interpreter threads (4 on a Pi 4/5)")
    p.add_argument("--conf", type=float, default=0.25)
    args = p.parse_args()

    estimator = PoseEstimator(args.model, backend="tflite", threads=args.threads, conf=args.conf)
    print(f"# {estimator.backend} on {estimator.device}, input {estimator.input_size}, "
          f"{estimator.metadata.precision} ({estimator.metadata.quantization or 'not quantized'})")
    src = Path(args.images)
    files = sorted(f for f in src.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png")) if src.is_dir() else [src]
    times = {"preprocess": [], "inference": [], "postprocess": []}
    for path in files:
        image = load_image(path)
        t0 = time.perf_counter()
        x, transforms = estimator.preprocess(image)         # letterbox + quantize the input (int8 models)
        t1 = time.perf_counter()
        raw = estimator.infer(x)                            # the interpreter; outputs dequantized to float
        t2 = time.perf_counter()
        poses = estimator.postprocess(raw, transforms)[0]   # decode + NMS in numpy
        t3 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[key].append(1000 * dt)
        print(json.dumps({"image": path.name, "people": poses.to_dict(decimals=1)["poses"]}))
    summary = ", ".join(f"{k} {statistics.median(v):.1f} ms" for k, v in times.items())
    print(f"# {len(files)} images; median {summary}")


if __name__ == "__main__":
    main()
