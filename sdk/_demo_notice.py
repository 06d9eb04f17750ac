"""The one-line notice printed when the bundled demo model meets real images.

The bundled default model is trained by our own pipeline on synthetic figures, so that
``yolopose predict`` works with no download; on photographs it finds few of the people and some
that are not there. The command line says so once, on stderr, whenever the default model runs on
an image of the user's (read successfully, not one of its bundled samples) or a video, and points to the way to real accuracy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Union

__all__ = ["DEMO_NOTICE", "demo_notice", "is_bundled_sample"]

DEMO_NOTICE = (
    "note: the bundled default model is a demo trained on synthetic figures; on real photographs it misses people "
    "and finds some that are not there. For real accuracy convert one of the paper's checkpoints "
    "(`yolopose-train convert Yolov5s6_pose_640.pt`, then `yolopose-export` it; README section "
    "'Real accuracy: the paper's checkpoints') or train your own (`yolopose-train train`)."
)

_SAMPLES = Path(__file__).resolve().parent / "assets" / "samples"


def is_bundled_sample(path: Union[str, Path]) -> bool:
    """True for one of the bundled sample images (by location, or a byte-identical copy)."""
    p = Path(path)
    try:
        resolved = p.resolve()
        if resolved.parent == _SAMPLES:
            return True
        size = p.stat().st_size
        for sample in _SAMPLES.glob("*.jpg"):
            if sample.stat().st_size == size and sample.read_bytes() == p.read_bytes():
                return True
    except OSError:
        return False
    return False


def demo_notice(model: Optional[str], sources: Iterable[Union[str, Path]]) -> Optional[str]:
    """:data:`DEMO_NOTICE` when ``model`` is the default (``None``) and a source is an image file
    of the user's (one that exists and is not a bundled sample), else ``None``. A missing path is
    not a photograph: the error about it is what the user needs. The CLI says it once it has read
    such an image."""
    if model is not None:
        return None
    return DEMO_NOTICE if any(Path(s).is_file() and not is_bundled_sample(s) for s in sources) else None
