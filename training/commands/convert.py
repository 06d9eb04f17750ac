"""``yolopose-train convert``: an official YOLO-Pose checkpoint -> a yolopose checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

__all__ = ["convert"]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("official", type=click.Path(dir_okay=False))
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Checkpoint to write [default: OFFICIAL_yolopose.pt next to it].")
@click.option("--imgsz", default=None, type=click.IntRange(min=32),
              help="Input size the checkpoint was trained at (640, 960, 1280); picks the paper figures recorded in the metadata [default: read from the file name].")
def convert(official: str, out: Optional[str], imgsz: Optional[int]) -> None:
    """Convert a checkpoint of the authors' code (TexasInstruments edgeai-yolov5, branch yolo-pose:
    train.py's last.pt/best.pt, a stripped release file, or a plain state_dict) to a yolopose
    checkpoint. Nothing in the file is run. The result fine-tunes (train --weights), QAT-tunes and
    exports like a checkpoint of ours."""
    from yolopose.training.official import save_converted

    src = Path(official)
    dst = Path(out) if out else src.with_name(f"{src.stem}_yolopose.pt")
    path, ckpt = save_converted(src, dst, imgsz)
    source = ckpt["source"]
    n = sum(int(t.numel()) for k, t in ckpt["model"].items() if not k.endswith("num_batches_tracked"))
    lines = [
        f"converted {src} ({source['weights']} weights, {source['variant']}) -> {path}",
        f"  model {ckpt['config']['name']}: {n:,} numbers in {len(ckpt['model'])} tensors, all mapped",
    ]
    paper = source.get("paper")
    if paper:
        lines.append(
            f"  matches {paper['name']}: the authors report COCO val2017 keypoint AP {paper['ap']} / AP50 {paper['ap50']} "
            f"at {paper['imgsz']} (not measured by yolopose)"
        )
    lines.append(f"  next: yolopose-export {path} --format all --int8 --data CALIB_IMAGES/")
    click.echo("\n".join(lines))
