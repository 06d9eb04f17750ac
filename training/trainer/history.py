"""Per-epoch records: ``results.csv`` (rewritten atomically every epoch) and its PNG plot."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from yolopose.core.errors import DatasetError
from yolopose.core.fileio import atomic_path, atomic_write_text

from ..loss import PoseLoss

__all__ = ["ResultsLog", "read_results", "plot_results", "loss_columns", "LOSS_TERMS", "VAL_METRICS"]

#: the loss terms every run logs, in the order of :class:`~yolopose.training.loss.PoseLoss` (its ``TERMS``)
LOSS_TERMS = PoseLoss.TERMS
VAL_METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "box_AP", "box_AP50")


class ResultsLog:
    """Rows of per-epoch numbers, kept in memory and written whole to ``path`` after each epoch.

    Columns: ``epoch``, ``train/<term>`` for the loss terms, ``val/<metric>`` (empty in epochs
    without validation), ``lr/<group>``, ``time_s`` (wall time of the epoch, validation included).
    """

    def __init__(self, path: Union[str, Path], rows: Optional[Sequence[Mapping[str, Any]]] = None) -> None:
        self.path = Path(path)
        self.rows: List[Dict[str, Any]] = [dict(r) for r in rows or ()]

    def columns(self, lr_groups: Sequence[str]) -> List[str]:
        """The CSV header: the loss terms found in the rows, metrics, the optimizer groups."""
        return ["epoch"] + loss_columns(self.rows) + [f"val/{m}" for m in VAL_METRICS] + [f"lr/{g}" for g in lr_groups] + ["time_s"]

    def add(self, row: Mapping[str, Any]) -> None:
        """Append one epoch (keeps rows of earlier epochs only, e.g. after a resume)."""
        epoch = int(row["epoch"])
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch]
        self.rows.append(dict(row))

    def write(self, lr_groups: Sequence[str]) -> Path:
        """Rewrite the whole CSV atomically."""
        cols = self.columns(lr_groups)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({c: _fmt(row.get(c)) for c in cols})
        return atomic_write_text(self.path, buf.getvalue())


def loss_columns(rows: Sequence[Mapping[str, Any]]) -> List[str]:
    """``train/<term>`` columns of the rows: the standard terms first, then any others in order."""
    found = [k for k in dict.fromkeys(k for r in rows for k in r) if k.startswith("train/")]
    standard = [f"train/{t}" for t in LOSS_TERMS]
    return standard + [k for k in found if k not in standard]


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def read_results(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Rows of a ``results.csv`` as dicts of floats (``None`` for empty cells)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read results ({exc})") from None
    rows = []
    for i, raw in enumerate(csv.DictReader(io.StringIO(text))):
        try:
            rows.append({k: (float(v) if v not in ("", None) else None) for k, v in raw.items()})
        except ValueError as exc:
            raise DatasetError(f"{p}: line {i + 2}: {exc}") from None
    return rows


def plot_results(rows: Sequence[Mapping[str, Any]], path: Union[str, Path], title: str = "") -> Path:
    """Plot the loss terms and the validation AP per epoch into a PNG (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global backend state, no GUI

    epochs = [int(r["epoch"]) + 1 for r in rows]
    # terms that are zero throughout (cls with one class, switched-off terms) get no panel
    panels = [(k, f"{k[6:]} loss") for k in loss_columns(rows) if any(r.get(k) for r in rows)]
    cols = max(3, math.ceil((len(panels) + 1) / 2))
    fig = Figure(figsize=(4.3 * cols, 7))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, cols)
    for ax, (key, label) in zip(axes.flat, panels):
        ys = [r.get(key) for r in rows]
        ax.plot(epochs, [y if y is not None else float("nan") for y in ys], marker=".", color="tab:blue")
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for spare in list(axes.flat)[len(panels) + 1 :]:
        spare.set_visible(False)
    ax = axes.flat[len(panels)]
    for key, colour in (("val/AP", "tab:red"), ("val/AP50", "tab:orange"), ("val/box_AP", "tab:green")):
        pts = [(e, r.get(key)) for e, r in zip(epochs, rows) if r.get(key) is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=colour, label=key.split("/")[1])
    ax.set_title("validation (keypoint OKS AP; box AP)")
    ax.set_xlabel("epoch")
    if epochs:
        ax.set_xlim(0.5, max(epochs) + 0.5)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.08, top=0.9 if title else 0.95, wspace=0.25, hspace=0.4)
    out = Path(path)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return out
