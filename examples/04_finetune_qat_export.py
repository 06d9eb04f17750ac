"""Fine-tune on your own COCO-format data, quantization-aware fine-tune, export int8, benchmark.

Runs the project's command-line tools one after the other and prints each command, so you can
copy them into your own scripts:

    yolopose-train train  --data DATA --weights BASE.pt ...      # fine-tune (or --model NAME)
    yolopose-train val    --data DATA --weights best.pt          # COCO keypoint AP
    yolopose-train qat    --data DATA --weights best.pt ...      # fake-quantized fine-tune
    yolopose-export qat.pt --format onnx --format tflite --int8 --qat
    yolopose bench  <artifacts>                                  # preprocess / inference / postprocess
    yolopose eval   <artifact> --data val.json --images val/     # AP of the int8 artifact

DATA is a COCO keypoint dataset (``annotations/person_keypoints_{train,val}.json`` and
``images/{train,val}/``), a YOLO-pose folder or a data YAML. Without ``--data`` a small synthetic
COCO-format dataset is generated first (``yolopose-train synth``) to stand in for yours.

    python examples/04_finetune_qat_export.py --data my_data/ --weights yolov5n-pose.pt --epochs 30
    python examples/04_finetune_qat_export.py --quick          # CI: tiny data, one epoch, 64x64, ONNX only
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import List

#: console script -> module whose ``main`` it runs (used so the example also works from a checkout)
TOOLS = {
    "yolopose": "yolopose.cli",
    "yolopose-train": "yolopose.training.cli",
    "yolopose-export": "yolopose.export.cli",
}


def run(tool: str, *args: object) -> None:
    """Run ``tool args...`` (printed first as the shell command it stands for); stop on failure."""
    argv = [str(a) for a in args]
    print(f"\n$ {tool} {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    code = f"import sys; from {TOOLS[tool]} import main; sys.argv[0] = {tool!r}; sys.exit(main())"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *argv])
    if result.returncode:
        sys.exit(f"{tool} failed with exit code {result.returncode}")
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


def artifacts(folder: Path) -> List[Path]:
    """The exported model files in ``folder``."""
    found = [p for p in sorted(folder.rglob("*")) if p.suffix in (".onnx", ".tflite", ".xml")]
    if not found:
        sys.exit(f"no exported model found in {folder}")
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="your dataset (COCO folder, YOLO-pose folder or YAML); default: synthetic")
    p.add_argument("--weights", default=None, help="checkpoint to fine-tune from (default: train --model from scratch)")
    p.add_argument("--model", default="yolov5n-pose-dense", help="architecture when no --weights is given")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--qat-epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--out", default="runs/example_finetune", help="working folder")
    p.add_argument("--quick", action="store_true", help="tiny sizes for CI: 8 synthetic images at 64x64, one epoch")
    args = p.parse_args()
    out = Path(args.out)
    if args.quick:
        args.imgsz, args.epochs, args.qat_epochs, args.batch = 64, 1, 1, 4

    data = args.data
    if data is None:
        data = out / "data"
        n_train, n_val = (8, 4) if args.quick else (400, 50)
        run("yolopose-train", "synth", "--out", data, "--train", n_train, "--val", n_val,
            "--imgsz", args.imgsz, "--workers", 1, "--preview", 0)

    start = ["--weights", args.weights] if args.weights else ["--model", args.model]
    quick = ["--warmup-min-iters", 0, "--workers", 0] if args.quick else []
    run("yolopose-train", "train", "--data", data, *start, "--imgsz", args.imgsz, "--epochs", args.epochs,
        "--batch", args.batch, "--out", out / "train", *quick)
    best = out / "train" / "best.pt"
    run("yolopose-train", "val", "--data", data, "--weights", best, "--batch", args.batch,
        *(["--workers", 0] if args.quick else []))

    qat = out / "qat.pt"
    run("yolopose-train", "qat", "--data", data, "--weights", best, "--epochs", args.qat_epochs,
        "--batch", args.batch, "--out", qat, *(["--max-steps", 2, "--workers", 0] if args.quick else []))

    export_dir = out / "export"
    # --quick skips the TFLite conversion (about a minute even for a tiny model on a laptop CPU)
    formats = ["--format", "onnx"] if args.quick else ["--format", "onnx", "--format", "tflite"]
    run("yolopose-export", qat, *formats, "--int8", "--qat", "--out", export_dir)
    models = artifacts(export_dir)

    runs = ["--warmup", 1, "--runs", 3] if args.quick else []
    run("yolopose", "bench", *models, *runs, "--json", out / "bench.json")
    if args.data is None:  # the synthetic data's layout is known: measure AP of the int8 TFLite artifact
        int8 = [m for m in models if m.suffix == ".tflite"] or models  # the edge artifact when there is one
        run("yolopose", "eval", int8[0], "--data", Path(data) / "annotations" / "person_keypoints_val.json",
            "--images", Path(data) / "images" / "val", "--json", out / "eval.json")
    print(f"\ndone: artifacts in {export_dir}, benchmark in {out / 'bench.json'}")


if __name__ == "__main__":
    main()
