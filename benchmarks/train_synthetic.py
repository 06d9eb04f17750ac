"""Results table of the "proof it learns" run (examples/train_default.sh).

    python benchmarks/train_synthetic.py report --run runs/default [--train-seconds 5400]

reads ``RUN/train`` and ``RUN/finetune`` (the two stages; ``config.json``, ``results.csv``),
``RUN/val_metrics.json`` (written by ``yolopose-train val --metrics-json``) and the synthetic
dataset's annotations, and writes ``train_default.md`` (AP, AP50, ..., epochs, images, wall time,
machine, the settings of each stage) and ``train_default.png`` (loss terms and AP over both stages)
into ``--docs`` (default: the repository's ``docs/results/``) and into the run folder.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import click

from yolopose.bench import cpu_model

REPO = Path(__file__).resolve().parents[1]


def machine_description(device: str) -> str:
    """CPU model and cores (or the GPU), OS, Python and torch versions."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        hw = torch.cuda.get_device_name(torch.device(device))
    else:
        hw = f"{cpu_model()}, {os.cpu_count()} CPU cores (shared with other jobs)"
    return f"{hw}; {platform.system()} {platform.release()}; Python {platform.python_version()}; torch {torch.__version__}"


def _count(annotations: Path) -> Dict[str, int]:
    data = json.loads(annotations.read_text(encoding="utf-8"))
    return {"images": len(data["images"]), "people": len(data["annotations"])}


def _fmt(v: Optional[float]) -> str:
    return "-" if v is None or v < 0 else f"{v:.3f}"


#: run sub-folders of examples/train_default.sh, in order: from scratch, then the fine-tuning stage
STAGES = ("train", "finetune")


def build_report(run: Path, train_seconds: Optional[float]) -> Dict[str, Any]:
    """Collect what the results page shows: every stage found in ``run`` (their epochs numbered on
    from each other), the final validation, the dataset and the machine. Training time: given, or
    the sum of the epoch times of all stages."""
    from yolopose.training.trainer.results import loss_columns, read_results

    stages, rows = [], []
    for name in STAGES:
        folder = run / name
        if not (folder / "config.json").is_file():
            continue
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        stage_rows = read_results(folder / "results.csv")
        first = len(rows)
        rows += [{**r, "epoch": first + int(r["epoch"])} for r in stage_rows]
        stages.append({"name": name, "cfg": cfg, "first": first + 1, "last": len(rows),
                       "seconds": sum(r.get("time_s") or 0.0 for r in stage_rows)})
    if not stages:
        raise click.ClickException(f"{run}: no training stage ({', '.join(STAGES)}) with a config.json")
    if train_seconds is None:
        train_seconds = sum(st["seconds"] for st in stages)
    metrics_path = run / "val_metrics.json"
    final = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    if not final:  # fall back to the last validated epoch
        last = [r for r in rows if r.get("val/AP") is not None]
        final = {k[4:]: v for k, v in (last[-1] if last else {}).items() if k.startswith("val/")}
    cfg = stages[0]["cfg"]
    data = Path(cfg["data"])
    splits = {s: _count(data / "annotations" / f"person_keypoints_{s}.json") for s in ("train", "val")
              if (data / "annotations" / f"person_keypoints_{s}.json").is_file()}
    device = cfg.get("device") or "cpu"
    return {"cfg": cfg, "stages": stages, "rows": rows, "final": final, "splits": splits, "seconds": train_seconds,
            "losses": loss_columns(rows), "machine": machine_description(device), "date": _dt.date.today().isoformat()}


def _settings(stage: Dict[str, Any]) -> str:
    cfg = stage["cfg"]
    source = f"from `{Path(cfg['weights']).parent.name}/{Path(cfg['weights']).name}`" if cfg.get("weights") else "from scratch"
    return (
        f"- {stage['name']} (epochs {stage['first']}-{stage['last']}, {stage['seconds'] / 60:.1f} min, {source}): "
        f"batch {cfg['batch']}, nominal batch {cfg['nbs']}, {cfg.get('optimizer', 'sgd').upper()} lr0 {cfg['lr0']} "
        f"(cosine to x{cfg['lrf']}), warmup {cfg['warmup_epochs']} epochs, EMA, "
        f"augmentation {'on (mosaic, affine, HSV, flip)' if cfg['augment'] else 'off'}, seed {cfg['seed']}, "
        f"{cfg.get('precision', 'float32')}, overrides {json.dumps(cfg.get('hyp') or {})}."
    )


def render_markdown(rep: Dict[str, Any], plot_name: str) -> str:
    """The commit-ready results page."""
    cfg, final, rows, splits = rep["cfg"], rep["final"], rep["rows"], rep["splits"]
    tr, va = splits.get("train", {}), splits.get("val", {})
    lines: List[str] = [
        "# Training on the synthetic dataset: proof that the pipeline learns",
        "",
        f"Produced by `examples/train_default.sh` and `benchmarks/train_synthetic.py` on {rep['date']}.",
        "Keypoint AP is COCO's OKS AP (pycocotools, conf 0.001, NMS IoU 0.65, up to 20 people per image)",
        "on the synthetic validation split, with the SDK's decode and NMS; `best.pt` (EMA weights) of the last stage.",
        "",
        "| model | imgsz | keypoint AP | AP50 | AP75 | APm | APl | AR | box AP | box AP50 | epochs | train images (people) | val images (people) | training wall time | machine |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {cfg['model']} | {cfg['imgsz']} | {_fmt(final.get('AP'))} | {_fmt(final.get('AP50'))} | {_fmt(final.get('AP75'))} "
        f"| {_fmt(final.get('APm'))} | {_fmt(final.get('APl'))} | {_fmt(final.get('AR'))} | {_fmt(final.get('box_AP'))} "
        f"| {_fmt(final.get('box_AP50'))} | {len(rows)} | {tr.get('images', '?')} ({tr.get('people', '?')}) "
        f"| {va.get('images', '?')} ({va.get('people', '?')}) | {rep['seconds'] / 60:.1f} min | {rep['machine']} |",
        "",
        "Stages:",
        "",
        *[_settings(st) for st in rep["stages"]],
        "",
        "Per validated epoch:",
        "",
        f"| epoch | keypoint AP | AP50 | box AP | loss ({' / '.join(k[6:] for k in rep['losses'])}) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("val/AP") is None:
            continue
        lines.append(
            f"| {int(r['epoch']) + 1} | {_fmt(r.get('val/AP'))} | {_fmt(r.get('val/AP50'))} | {_fmt(r.get('val/box_AP'))} "
            f"| {' / '.join(f'{r[k]:.4f}' if r.get(k) is not None else '-' for k in rep['losses'])} |"
        )
    lines += ["", f"![loss terms and AP per epoch]({plot_name})", ""]
    return "\n".join(lines)


@click.group()
def cli() -> None:
    """Reports of the synthetic training run."""


@cli.command("report")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, exists=True), help="RUN_DIR of examples/train_default.sh.")
@click.option("--train-seconds", default=None, type=float, help="Wall time of the training command [default: sum of the epoch times in results.csv].")
@click.option("--docs", default=str(REPO / "docs" / "results"), show_default=True, type=click.Path(file_okay=False), help="Where to write train_default.md and train_default.png.")
def report(run_dir: str, train_seconds: Optional[float], docs: str) -> None:
    """Write the results table and copy the plot."""
    from yolopose.fileio import atomic_write_bytes, atomic_write_text
    from yolopose.training.trainer.results import plot_results

    run = Path(run_dir)
    rep = build_report(run, train_seconds)
    text = render_markdown(rep, "train_default.png")
    title = ", ".join(f"{st['name']}: epochs {st['first']}-{st['last']}" for st in rep["stages"])
    plot = plot_results(rep["rows"], run / "train_default.png", title=f"{rep['cfg']['model']} on synthetic data ({title})")
    for folder in (Path(docs), run):
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "train_default.md", text)
        if (folder / "train_default.png").resolve() != plot.resolve():
            atomic_write_bytes(folder / "train_default.png", plot.read_bytes())
    click.echo(text)


if __name__ == "__main__":
    sys.exit(cli())
