"""The export summary: one row per artifact, and the int8 TFLite op histograms."""
from __future__ import annotations

from typing import List, Sequence

from .options import ExportResult

__all__ = ["summary_table", "op_histograms", "oks_text"]


def _err(r: ExportResult) -> str:
    if r.kpt_err_max_px is None:
        return "not run"
    return f"max {r.kpt_err_max_px:.4g} / mean {r.kpt_err_mean_px:.3g} px"


def oks_text(r: ExportResult) -> str:
    """The pose agreement of ``r`` as shown to users: ``0.993 / 0.982 (248)`` (keypoint OKS, box IoU,
    candidates)."""
    if r.kpt_oks is None:
        return "not run"
    if r.kpt_oks != r.kpt_oks:  # NaN: torch found nobody in the verification images
        return "no people found"
    return f"{r.kpt_oks:.3f} / {r.box_iou:.3f} ({r.kpt_oks_candidates})"


def summary_table(results: Sequence[ExportResult]) -> str:
    """A plain-text table: format, precision, file, size, keypoint error vs torch fp32, and the
    pose agreement with torch where torch sees people (keypoint OKS / box IoU)."""
    rows = [("format", "precision", "file", "size", "kpt error vs torch fp32", "OKS / box IoU vs torch (candidates)")]
    for r in results:
        prec = r.precision + (f" ({r.quantization}, {r.int8_recipe})" if r.quantization else "")
        rows.append((r.format, prec, str(r.path), f"{r.size_mb:.2f} MiB", _err(r), oks_text(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines: List[str] = []
    for j, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def op_histograms(results: Sequence[ExportResult]) -> str:
    """The op histogram of every artifact that has one (TFLite), with float fallbacks called out."""
    parts = []
    for r in results:
        if not r.ops:
            continue
        hist = ", ".join(f"{k} {v}" for k, v in r.ops.items())
        status = "all int8" if r.precision == "int8" and not r.float_ops else (
            f"{len(r.float_ops)} float ops" if r.precision == "int8" else r.precision
        )
        parts.append(f"{r.path.name} [{status}]: {hist}")
    return "\n".join(parts)
