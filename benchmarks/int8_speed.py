"""int8 vs fp32 inference speed and file size, side by side in one run, same threads.

    python benchmarks/int8_speed.py [--imgsz 640] [--threads 2] [--runs 10] [--out docs/results]

Exports ``yolov5s6-pose`` (SiLU) and ``yolov5s6-pose-lite`` (ReLU) with fresh weights (speed does
not depend on the weights) to ONNX, OpenVINO IR and TFLite, fp32 and int8 (post-training
quantization on generated calibration images), then times the inference step of each artifact
with its engine (median of ``--runs`` after warm-up) and prints a table of latencies, int8
speed-ups and file sizes. Writes ``int8_speed.md``, ``int8_speed.json`` and ``int8_speed.png``
(bar chart) to ``--out``. OpenVINO is timed with ``INFERENCE_PRECISION_HINT=f32`` (on CPUs with
AMX/AVX512-BF16 its default would run the fp32 model in bfloat16); its default is timed too.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

from yolopose.cpu import cpu_features, cpu_model

MODELS = ("yolov5s6-pose", "yolov5s6-pose-lite")
FORMATS = ("onnx", "openvino", "tflite")
TARGETS = {"openvino": 1.5, "onnx": 1.2, "tflite": 1.0}


def _runner(fmt: str, path: Path, threads: int, ov_config: Dict[str, str]) -> Callable[[np.ndarray], object]:
    if fmt == "onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda x: sess.run(None, {name: x.transpose(0, 3, 1, 2).astype(np.float32) / 255.0})
    if fmt == "openvino":
        import openvino as ov

        core = ov.Core()
        xml = next(path.glob("*.xml"))
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", **ov_config}
        compiled = core.compile_model(core.read_model(str(xml)), "CPU", config)
        request = compiled.create_infer_request()
        return lambda x: request.infer({0: x.transpose(0, 3, 1, 2).astype(np.float32) / 255.0})
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    inp = it.get_input_details()[0]

    def run(x: np.ndarray) -> None:
        if inp["dtype"] == np.int8:
            it.set_tensor(inp["index"], (x.astype(np.int16) - 128).astype(np.int8))
        else:
            it.set_tensor(inp["index"], x.astype(np.float32) / 255.0)
        it.invoke()

    return run


def _time(run: Callable[[np.ndarray], object], x: np.ndarray, runs: int) -> float:
    for _ in range(3):
        run(x)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run(x)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--calib-images", type=int, default=16)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--work", default="runs/int8_speed", help="where the artifacts are written")
    parser.add_argument("--out", default="docs/results")
    args = parser.parse_args()

    from yolopose.export import export

    x = np.random.default_rng(0).integers(0, 256, (1, args.imgsz, args.imgsz, 3), dtype=np.uint8)
    rows: List[Dict[str, object]] = []
    for model in args.models:
        results = export(model, args.formats, imgsz=args.imgsz, precisions=("fp32", "int8"),
                         calib_images=args.calib_images, out=Path(args.work) / model, verify=False,
                         log=lambda m: print(m, flush=True))
        by = {(r.format, r.precision): r for r in results}
        for fmt in args.formats:
            row: Dict[str, object] = {"model": model, "format": fmt}
            for prec in ("fp32", "int8"):
                r = by[(fmt, prec)]
                row[f"{prec}_ms"] = _time(_runner(fmt, r.path, args.threads, {"INFERENCE_PRECISION_HINT": "f32"}), x, args.runs)
                row[f"{prec}_mib"] = round(r.size_mb, 2)
                if r.ops and prec == "int8":
                    row["int8_float_ops"] = len(r.float_ops)  # TFLite ops left in float (0: all int8)
            if fmt == "openvino":
                row["fp32_default_ms"] = _time(_runner(fmt, by[(fmt, "fp32")].path, args.threads, {}), x, args.runs)
            row["speedup"] = row["fp32_ms"] / row["int8_ms"]
            row["size_ratio"] = row["fp32_mib"] / row["int8_mib"]
            row["target"] = TARGETS[fmt]
            rows.append(row)
            print(json.dumps(row), flush=True)

    header = "| model | format | fp32 ms | int8 ms | int8 speed-up | target | fp32 MiB | int8 MiB | size ratio |"
    lines = [f"CPU: {cpu_model()} ({', '.join(cpu_features()) or 'no AVX2'}), {args.threads} threads, "
             f"{args.imgsz}x{args.imgsz}, batch 1, median of {args.runs} runs", "", header, "|" + "---|" * 9]
    for r in rows:
        extra = f" (default bf16: {r['fp32_default_ms']:.0f} ms)" if "fp32_default_ms" in r else ""
        lines.append(
            f"| {r['model']} | {r['format']} | {r['fp32_ms']:.0f}{extra} | {r['int8_ms']:.0f} | {r['speedup']:.2f}x | "
            f">= {r['target']}x | {r['fp32_mib']:.1f} | {r['int8_mib']:.1f} | {r['size_ratio']:.2f}x |"
        )
    table = "\n".join(lines)
    print("\n" + table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from yolopose.fileio import atomic_write_text

    atomic_write_text(out / "int8_speed.md", table + "\n")
    atomic_write_text(out / "int8_speed.json", json.dumps(rows, indent=2) + "\n")
    _chart(rows, out / "int8_speed.png", args)


def _chart(rows: List[Dict[str, object]], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yolopose.fileio import atomic_path

    labels = [f"{r['format']}\n{str(r['model']).replace('yolov5', '')}" for r in rows]
    pos = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    ax.bar(pos - 0.2, [r["fp32_ms"] for r in rows], 0.4, label="fp32")
    ax.bar(pos + 0.2, [r["int8_ms"] for r in rows], 0.4, label="int8")
    for p, r in zip(pos, rows):
        ax.text(p + 0.2, r["int8_ms"], f"{r['speedup']:.2f}x", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(pos)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("inference latency (ms)")
    ax.set_title(f"int8 vs fp32, {args.imgsz}x{args.imgsz}, {args.threads} threads")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
