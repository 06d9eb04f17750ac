"""``yolopose predict``: run a pose model on images, save drawn images and JSON, or print JSON."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import click

from ..core.cli import postprocess_options
from ._options import backend_option

if TYPE_CHECKING:  # pragma: no cover
    from ..core.ops.select import PostprocessSettings

__all__ = ["predict"]


def _expand(sources: Sequence[str]) -> List[Path]:
    from yolopose.core.images import IMAGE_SUFFIXES

    files: List[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            # links that cannot be followed (loops) stay, to be reported as unreadable, not dropped
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
                                and (f.is_file() or f.is_symlink())))
        else:
            files.append(p)  # a missing or bad file is reported when it is read
    return files


def _unique_stem(path: Path, used: Dict[str, int]) -> str:
    stem = path.stem or "image"
    n = used.get(stem, 0)
    used[stem] = n + 1
    return stem if n == 0 else f"{stem}_{n}"


@click.command("predict")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "-m", type=click.Path(path_type=str), default=None, help="Model file (.onnx, .xml, .tflite) or folder. Default: the bundled model.")
@backend_option()
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, tensorrt (onnxruntime); gpu, npu, auto (OpenVINO).")
@postprocess_options()
@click.option("--threads", default=None, type=click.IntRange(1), help="Engine threads (default: the engine's choice).")
@click.option("--save-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write <name>.jpg (drawn) and <name>.json per input here. Default: runs/predict, or nothing with --json.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input to stdout (JSON Lines).")
@click.option("--labels/--no-labels", default=False, show_default=True, help="Write scores on the drawn images.")
def predict(
    sources: Sequence[str],
    model: Optional[str],
    backend: str,
    device: str,
    postprocess: PostprocessSettings,
    threads: Optional[int],
    save_dir: Optional[Path],
    as_json: bool,
    labels: bool,
) -> None:
    """Find people and their keypoints in SOURCES (image files or folders of images)."""
    from yolopose._demo_notice import demo_notice
    from yolopose._progress import progress_bar
    from yolopose.core.errors import ImageError, YoloPoseError
    from yolopose.estimator import PoseEstimator
    from yolopose.core.fileio import atomic_write_bytes, atomic_write_text, check_writable
    from yolopose.core.images import load_image

    files = _expand(sources)
    if not files:
        raise click.ClickException("no images found in " + ", ".join(sources))
    if save_dir is None and not as_json:
        save_dir = Path("runs/predict")
    try:
        if save_dir is not None:
            check_writable(save_dir / "results", "results")
        est = PoseEstimator(model, backend=backend, device=device, threads=threads, postprocess=postprocess)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    notice_due = model is None  # said once, at the first image of the user's that the demo model runs on
    used: Dict[str, int] = {}
    failures = 0
    with progress_bar(len(files), desc="predict", enabled=len(files) > 1, unit="img") as bar:
        for path in files:
            bar.update(1)
            try:
                image = load_image(path)
                poses = est.predict(image)
            except ImageError as exc:
                failures += 1
                click.echo(f"\nskipped: {exc}", err=True)
                continue
            except YoloPoseError as exc:
                raise click.ClickException(str(exc)) from None
            notice = demo_notice(model, [path]) if notice_due else None
            if notice:
                click.echo(("\n" if len(files) > 1 else "") + notice, err=True)
                notice_due = False
            record = {"source": str(path), "width": int(image.shape[1]), "height": int(image.shape[0]), **poses.to_dict()}
            if as_json:
                click.echo(json.dumps(record))
            if save_dir is not None:
                stem = _unique_stem(path, used)
                try:  # a read-only or full --save-dir: WriteError naming the file, nothing half-written
                    # encoded in memory first: Pillow's encoder writing to a file ignores short writes,
                    # so on a full disk it would leave a cut JPEG; Python's writes are checked
                    jpeg = io.BytesIO()
                    poses.draw(image, labels=labels).save(jpeg, format="JPEG", quality=90)
                    atomic_write_bytes(save_dir / f"{stem}.jpg", jpeg.getvalue())
                    atomic_write_text(save_dir / f"{stem}.json", json.dumps(record, indent=1))
                except YoloPoseError as exc:
                    raise click.ClickException(str(exc)) from None
    if save_dir is not None:
        click.echo(f"{len(files) - failures} result(s) written to {save_dir}", err=True)
    if failures:
        raise click.ClickException(f"{failures} of {len(files)} input(s) could not be read")
