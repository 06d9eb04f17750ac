"""Small inputs for the batch tests: the bundled sample images, a corrupt image, a corrupt video,
and (when OpenCV is installed) a short real video."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

SAMPLES = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "samples"


def make_archive(folder: Path, video: bool = False) -> Path:
    """``folder`` with 3 good JPEGs (one in a sub-folder), ``broken.jpg`` and ``broken.mp4``;
    ``video=True`` adds ``clip.avi`` (5 frames, needs OpenCV)."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(sorted(SAMPLES.glob("*.jpg"))):
        shutil.copy(src, folder / ("sub" if i == 2 else ".") / src.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    if video:
        write_video(folder / "clip.avi", frames=5)
    return folder


def write_video(path: Path, frames: int) -> Path:
    import cv2
    from PIL import Image

    image = np.asarray(Image.open(sorted(SAMPLES.glob("*.jpg"))[0]).convert("RGB"))
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for i in range(frames):
        writer.write(np.ascontiguousarray(np.roll(image, 4 * i, axis=1)[:, :, ::-1]))
    writer.release()
    return path
