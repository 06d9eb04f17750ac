"""Keypoint AP of every exported format and precision, through the SDK, beside torch.

    python benchmarks/export_accuracy.py --weights runs/train/best.pt --data DATA_DIR \
        [--qat runs/qat/qat.pt] [--imgsz 640] [--out docs/results]

``--data`` is a dataset folder written by ``yolopose-train synth`` (its validation split,
``annotations/person_keypoints_val.json`` + ``images/val``, is scored). Exports ``--weights`` to
ONNX, OpenVINO and TFLite at fp32, fp16 and int8 (post-training quantization, calibrated on the
training images), and, with ``--qat``, int8 from the QAT checkpoint; evaluates each artifact with
:func:`yolopose.evaluate.evaluate_model` (the deployed pre/postprocessing), and torch with the
training validator. Acceptance: fp32 AP within 0.002 of torch; QAT int8 AP >= 99% of fp32 AP.
``--int8-weight-bits 7`` writes the int8 ONNX/OpenVINO weights in 7 bits (for x86 CPUs without
VNNI; ``auto``: 7 there, else 8). Default 8: narrowing QAT-tuned weights costs far more than the
saturation does on a trained model (docs/training.md).
Writes ``export_accuracy.md`` / ``.json`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional


def _torch_ap(weights: str, data: str, imgsz: int) -> Dict[str, float]:
    from yolopose.training.checkpoint import model_from_checkpoint
    from yolopose.training.trainer.loaders import build_val_data
    from yolopose.training.validator import Validator

    model, _ = model_from_checkpoint(weights)
    dataset, collate, gt, _ = build_val_data(data, imgsz)
    return dict(Validator(dataset, collate, gt, batch=8, workers=0)(model).metrics)


def _artifact_file(path: Path) -> Path:
    return next(path.glob("*.xml")) if path.is_dir() else path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--data", required=True, help="dataset folder from `yolopose-train synth`")
    parser.add_argument("--qat", default=None, help="QAT checkpoint of the same model (yolopose-train qat)")
    parser.add_argument("--imgsz", type=int, default=None)
    parser.add_argument("--formats", nargs="+", default=["onnx", "openvino", "tflite"])
    parser.add_argument("--calib-images", type=int, default=128)
    parser.add_argument("--work", default="runs/export_accuracy")
    parser.add_argument("--out", default="docs/results")
    parser.add_argument("--int8-weight-bits", choices=["auto", "7", "8"], default="8",
                        help="int8 ONNX/OpenVINO weight bits (auto: 7 on x86 without VNNI, else 8)")
    parser.add_argument("--ov-precision", default="f32", help="OpenVINO INFERENCE_PRECISION_HINT (f32; '' for the default)")
    args = parser.parse_args()

    from yolopose.core.cpu import cpu_features, cpu_model, int8_dot_saturates
    from yolopose.evaluate import evaluate_model
    from yolopose.export import export, summary_table
    from yolopose.core.fileio import atomic_write_text
    from yolopose.training.checkpoint import load_checkpoint

    data = Path(args.data)
    gt = data / "annotations" / "person_keypoints_val.json"
    images = data / "images" / "val"
    calib = data / "images" / "train"
    ckpt = load_checkpoint(args.weights)
    imgsz = args.imgsz or int((ckpt.get("imgsz") or [640])[0] if isinstance(ckpt.get("imgsz"), list) else ckpt.get("imgsz") or 640)

    bits = (7 if int8_dot_saturates() else 8) if args.int8_weight_bits == "auto" else int(args.int8_weight_bits)
    cpu = f"{cpu_model()} ({' '.join(cpu_features())})"
    print(f"CPU: {cpu}; int8 ONNX/OpenVINO weights in {bits} bits")
    results = export(args.weights, args.formats, imgsz=imgsz, precisions=("fp32", "fp16", "int8"), calib=str(calib),
                     calib_images=args.calib_images, int8_weight_bits=bits, out=Path(args.work) / "ptq", log=print)
    if args.qat:
        results += export(args.qat, args.formats, imgsz=imgsz, precisions=("int8",), qat=True, calib=str(calib),
                          calib_images=args.calib_images, int8_weight_bits=bits, out=Path(args.work) / "qat", log=print)
    print(summary_table(results))

    torch_metrics = _torch_ap(args.weights, str(data), imgsz)
    rows: List[Dict[str, object]] = [{"format": "torch", "precision": "fp32", "quantization": None,
                                      "AP": torch_metrics["AP"], "AP50": torch_metrics.get("AP50")}]
    for r in results:
        opts: Optional[dict] = None
        if r.format == "openvino" and args.ov_precision:
            opts = {"config": {"INFERENCE_PRECISION_HINT": args.ov_precision}}
        ev = evaluate_model(str(_artifact_file(r.path)), gt, images, estimator_kwargs={"runtime_options": opts} if opts else None)
        rows.append({"format": r.format, "precision": r.precision, "quantization": r.quantization,
                     "AP": ev.metrics["AP"], "AP50": ev.metrics.get("AP50"), "file": str(r.path)})
        print(json.dumps(rows[-1]), flush=True)

    fp32 = {row["format"]: row["AP"] for row in rows if row["precision"] == "fp32"}
    lines = [f"{args.weights} on {gt} at {imgsz} px (SDK, conf 0.001, NMS IoU 0.65); torch AP {torch_metrics['AP']:.4f}",
             f"CPU: {cpu}; int8 ONNX/OpenVINO weights in {bits} bits (the TFLite's in 8)", "",
             "| format | precision | AP | AP50 | vs fp32 of the format | check |", "|---|---|---|---|---|---|"]
    for row in rows:
        ap, base = float(row["AP"]), float(fp32.get(str(row["format"]), torch_metrics["AP"]))
        if row["format"] == "torch":
            check = ""
        elif row["precision"] == "fp32":
            check = "ok" if abs(ap - torch_metrics["AP"]) <= 0.002 else "FAIL (|fp32 - torch| > 0.002)"
        elif row["quantization"] == "qat":
            check = "ok" if ap >= 0.99 * base else "FAIL (< 99% of fp32)"
        else:
            check = "reported"
        prec = str(row["precision"]) + (f" ({row['quantization']})" if row["quantization"] else "")
        lines.append(f"| {row['format']} | {prec} | {ap:.4f} | {float(row['AP50'] or 0):.4f} | {(f'{ap / base:.1%}' if base > 0 else 'n/a')} | {check} |")
    table = "\n".join(lines)
    print("\n" + table)
    out = Path(args.out)
    atomic_write_text(out / "export_accuracy.md", table + "\n")
    atomic_write_text(out / "export_accuracy.json", json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
