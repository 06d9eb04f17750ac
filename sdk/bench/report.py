"""Plain-text rendering of a :class:`~yolopose.bench.measurements.BenchReport`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from .measurements import DECODE, BenchReport, ModelBenchmark

__all__ = ["format_report", "format_table", "format_system", "format_decode"]

_MB = 1024.0 * 1024.0
_HEADERS = (
    "#", "model", "backend:device", "thr", "runs", "size MiB", "load ms", "pre ms", "infer ms", "post ms",
    "total ms", "p90 ms", "p99 ms", "FPS", "peak+ MiB", "vs #1",
)
_LEFT = {1, 2}  # left-aligned columns
_FIRST_TIMING = _HEADERS.index("pre ms")  # a failed row prints its status from here on


def _num(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(index: int, r: ModelBenchmark, report: BenchReport) -> List[str]:
    where = f"{r.backend or '?'}:{r.device or '?'}"
    name = Path(r.model).name
    name = name if len(name) <= 40 else "..." + name[-37:]
    if not r.ok:
        status = r.error or ("interrupted" if r.interrupted else "no runs")
        return [str(index), name, where, "-", "0", _num(r.file_size / _MB, 2) if r.file_size else "-", _num(r.load_ms),
                f"({status})"] + [""] * (len(_HEADERS) - 8)
    s = r.stats
    ratio = report.ratios(r).get("total_median")
    peak = r.memory.peak_delta
    runs_note = "*" if r.interrupted else ""
    return [
        str(index),
        name,
        where,
        "-" if r.threads is None else str(r.threads),
        str(s["total"].count) + runs_note,
        _num(r.file_size / _MB, 2),
        _num(r.load_ms),
        _num(s["preprocess"].median_ms, 2),
        _num(s["inference"].median_ms, 2),
        _num(s["postprocess"].median_ms, 2),
        _num(s["total"].median_ms, 2),
        _num(s["total"].p90_ms, 2),
        _num(s["total"].p99_ms, 2),
        _num(s["total"].fps, 1),
        "-" if peak is None else _num(peak / _MB, 1),
        "-" if ratio is None else f"{ratio:.2f}x",
    ]


def format_table(report: BenchReport) -> str:
    """The comparison table: one row per model variant, medians unless the header says otherwise."""
    rows = [list(_HEADERS)] + [_row(i + 1, r, report) for i, r in enumerate(report.results)]
    ok_rows = [rows[0]] + [row for row, r in zip(rows[1:], report.results) if r.ok]
    widths = [max(len(row[c]) for row in (rows if c < _FIRST_TIMING else ok_rows)) for c in range(len(_HEADERS))]
    lines = []
    for n, row in enumerate(rows):
        if n == 0 or report.results[n - 1].ok:
            cells = [row[c].ljust(widths[c]) if c in _LEFT else row[c].rjust(widths[c]) for c in range(len(row))]
        else:  # a failed row: the status runs on from the first timing column
            cells = [row[c].ljust(widths[c]) if c in _LEFT else row[c].rjust(widths[c]) for c in range(_FIRST_TIMING)]
            cells.append(row[_FIRST_TIMING])
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_system(system: Dict[str, Any], settings: Dict[str, Any]) -> str:
    """Two or three lines saying what the benchmark ran on and how."""
    cores = system.get("cores") or {}
    engines = ", ".join(
        f"{k} {v}" for k, v in (system.get("packages") or {}).items()
        if v and k in ("onnxruntime", "onnxruntime-gpu", "openvino", "ai-edge-litert", "tflite-runtime", "numpy")
    )
    feats = " ".join(system.get("cpu_features") or [])
    lines = [
        f"CPU: {system.get('cpu', '?')}  cores: {cores.get('usable', '?')} usable / {cores.get('logical', '?')} logical"
        + (f"  [{feats}]" if feats else ""),
        f"OS: {system.get('os', '?')}  Python: {system.get('python', '?')}",
        f"engines: {engines or 'none found'}",
    ]
    image = settings.get("image", "?")
    shape = settings.get("image_shape")
    lines.append(
        f"image: {image}" + (f" ({shape[1]}x{shape[0]})" if shape else "")
        + f"  warm-up: {settings.get('warmup', '?')}  runs: {settings.get('runs', '?')}"
    )
    return "\n".join(lines)


_NOTES = (
    "Times are medians over the timed runs (after warm-up); total = preprocess + inference + postprocess of the "
    "same run; FPS = 1000 / mean total.",
    "{decode_note}",
    "Sizes in MiB (1,048,576 bytes). peak+ MiB: peak resident memory of the process while loading and running the model, minus the resident "
    "memory before loading it ({method}); it includes engine libraries loaded for the first model of an engine, "
    "and memory freed by earlier rows may be reused, so compare rows of one engine, or run one model per process.",
    "vs #1: total median time relative to row 1 (lower is faster).",
)
_FROM_ARRAY = "preprocess starts from a decoded RGB array (image file decoding is not timed; --image FILE times it)."
_FROM_FILE = ("preprocess starts from the image file, as predict(path) does: decode (shown alone above, timed "
              "in the same passes) + letterbox + input tensor.")


def format_decode(report: BenchReport) -> str:
    """One line with each row's median image decode time, when the benchmark ran from a file."""
    cells = [f"#{i + 1} {r.stats[DECODE].median_ms:.2f} ms" for i, r in enumerate(report.results)
             if r.ok and DECODE in r.stats]
    return f"decode (the image file to pixels, a part of pre ms): {', '.join(cells)}" if cells else ""


_METHODS = {
    "vmhwm": "kernel high-water mark, reset per model",
    "sampled": "largest resident size sampled after each step",
    "maxrss": "process-lifetime peak: later rows include earlier peaks",
    "none": "not available on this platform",
}


def format_report(report: BenchReport, notes: bool = True) -> str:
    """System lines, the table, and short notes on what each column means."""
    parts = [format_system(report.system, report.settings), "", format_table(report)]
    if report.interrupted:
        parts += ["", "Interrupted: the table shows what was measured so far (* = fewer runs than requested)."]
    decode = format_decode(report)
    if decode:
        parts += ["", decode]
    if notes:
        methods = sorted({r.memory.method for r in report.results if r.ok}) or ["none"]
        method = "; ".join(_METHODS.get(m, m) for m in methods)
        decode_note = (_FROM_FILE if report.settings.get("decode_timed") else _FROM_ARRAY)
        parts += [""] + [n.format(method=method, decode_note=decode_note) for n in _NOTES]
    return "\n".join(parts)
