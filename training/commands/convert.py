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
              help="Input size the checkpoint was trained at (640, 960, 1280): recorded in the checkpoint (export's default size) with the paper figures for it [default: read from the file name, else 640, said so].")
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
    if source.get("imgsz_from") == "assumed":
        sizes = source.get("published_sizes") or []
        published = f"; the authors published this network at {', '.join(map(str, sizes))}" if sizes else ""
        lines.append(
            f"  input size: {source['imgsz']} ASSUMED: the file name {src.name!r} names none{published}. It is recorded in "
            f"the checkpoint and export uses it: if the model was trained at another size, convert again with --imgsz SIZE "
            f"(e.g. --imgsz 960), which also records the authors' AP for it"
        )
    else:
        lines.append(f"  input size: {source['imgsz']} (from the {'--imgsz argument' if source.get('imgsz_from') == 'argument' else 'file name'})")
    if paper:
        lines.append(
            f"  matches {paper['name']}: the authors report COCO val2017 keypoint AP {paper['ap']} / AP50 {paper['ap50']} "
            f"at {paper['imgsz']} (not measured by yolopose)"
        )
    lines.append(f"  next: yolopose-export {path} --format all --int8 --data CALIB_IMAGES/")
    click.echo("\n".join(lines))
