"""Reading images safely into ``HxWx3`` uint8 RGB arrays.

- paths are opened with Pillow restricted to image formats, with Pillow's decompression-bomb
  limit (``PIL.Image.MAX_IMAGE_PIXELS``) enforced as an :class:`~yolopose.core.errors.ImageError`;
- EXIF orientation is applied (phones store portrait photos as rotated landscape pixels);
- grey, 1-bit, palette, CMYK, YCbCr/LAB/HSV, 16-bit and float images become 8-bit RGB (16-bit is
  scaled, not clamped); transparent pixels are composited over the letterbox grey (114);
- arrays must be uint8 ``HxWx3`` (``HxW``, ``HxWx1`` grey and ``HxWx4`` with alpha dropped are
  accepted too); ``bgr=True`` for OpenCV frames.

Truncated files are an error: ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageError, YoloPoseError
from .ops.letterbox import PAD_VALUE

__all__ = ["ImageSource", "IMAGE_FORMATS", "IMAGE_SUFFIXES", "load_image", "open_image", "open_image_fit", "to_rgb_array"]

ImageSource = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]

#: Pillow formats predict may open (no PDF/EPS/ICO/ICNS/... decoders on untrusted input).
IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "AVIF")
#: File suffixes the CLI picks up when given a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".avif", ".mpo")

_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: a reduced JPEG decode is at least 1 / this of the letterboxed size (the letterbox then enlarges it
#: by at most this much): a 1280x720 JPEG for a 640 model decodes at 1/2 (640x360, used as it is),
#: an 810x1080 one at 1/2 too (405x540, enlarged 1.19x), a 1280x720 one for a 256 model at 1/4.
#: libjpeg's reduced decode averages each 2x2, 4x4 or 8x8 block in the DCT domain, so it keeps the
#: detail of an antialiased resize. Keypoint AP against a full decode: ``benchmarks/ap_ratio.py``
#: (README, "Fast preprocessing").
_DRAFT_MAX_ENLARGE = 1.2


def _formats() -> list:
    Image.init()
    return [f for f in IMAGE_FORMATS if f in Image.OPEN]


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:  # malformed EXIF: keep the pixels as stored
        return 1


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    """16-bit / 32-bit integer or float pixels -> uint8 by scaling to the value range, never clamping."""
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
        if lo >= 0.0 and hi <= 1.0:
            return np.rint(arr * 255.0).astype(np.uint8)
    else:
        arr = arr.astype(np.int64)
        lo, hi = int(arr.min(initial=0)), int(arr.max(initial=0))
        if lo >= 0 and hi <= 65535:  # 16-bit data
            return ((arr * 255 + 32767) // 65535).astype(np.uint8)
    span = (hi - lo) or 1
    return np.rint((arr - lo) * (255.0 / span)).astype(np.uint8)


def to_rgb_array(im: Image.Image, source: str = "<image>") -> np.ndarray:
    """Any Pillow image (already oriented) -> ``HxWx3`` uint8 RGB."""
    mode = im.mode
    if mode == "RGB":
        out = np.asarray(im)
    elif mode in ("I", "F") or mode.startswith("I;16"):
        grey = _scale_to_uint8(np.asarray(im))
        out = np.repeat(grey[..., None], 3, axis=2)
    elif mode in _ALPHA_MODES or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (PAD_VALUE, PAD_VALUE, PAD_VALUE, 255))
        out = np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    else:  # 1, L, P, CMYK, YCbCr, LAB, HSV
        try:
            out = np.asarray(im.convert("RGB"))
        except (ValueError, OSError) as exc:
            raise ImageError(f"{source}: cannot convert a {mode} image to RGB ({exc})") from None
    if out.ndim != 3 or out.shape[2] != 3 or out.dtype != np.uint8:
        raise ImageError(f"{source}: unsupported image mode {mode}")
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise ImageError(f"{source}: the image is empty ({out.shape[1]}x{out.shape[0]})")
    return np.ascontiguousarray(out)


def _oriented(im: Image.Image) -> Image.Image:
    if _orientation(im) != 1:
        try:
            return ImageOps.exif_transpose(im)
        except Exception:  # unusable orientation tag: keep the stored pixels
            return im
    return im


def open_image(path: Union[str, "os.PathLike[str]"]) -> np.ndarray:
    """Read an image file into ``HxWx3`` uint8 RGB with EXIF orientation applied."""
    return _read(path, None)[0]


def open_image_fit(path: Union[str, "os.PathLike[str]"], fit: Tuple[int, int]) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Read an image file that will be letterboxed into ``fit`` ``(h, w)``; returns the RGB array
    and the ``(h, w)`` of the full image (EXIF orientation applied to both).

    A JPEG that shrinks by 1.67x or more is decoded at 1/2, 1/4 or 1/8 scale (Pillow's draft mode:
    libjpeg skips the fine DCT coefficients, faster), never below 1 / 1.2 of the size the letterbox
    will resize it to, and only at a scale that divides its width and height, so that
    :func:`yolopose.core.ops.letterbox` with ``src_shape`` places it exactly as the full image. Other
    files are read as :func:`open_image` reads them.
    """
    return _read(path, fit)


def _draft_scale(size: Tuple[int, int], fit: Tuple[int, int]) -> int:
    """The largest JPEG decode reduction (8, 4, 2) that the letterbox enlarges by ``_DRAFT_MAX_ENLARGE`` at most."""
    w, h = size
    r = min(fit[0] / h, fit[1] / w)
    for s in (8, 4, 2):
        if w % s == 0 and h % s == 0 and r * s <= _DRAFT_MAX_ENLARGE:
            return s
    return 1


def _read(path: Union[str, "os.PathLike[str]"], fit: Optional[Tuple[int, int]]) -> Tuple[np.ndarray, Tuple[int, int]]:
    p = Path(path)
    where = str(p)
    if not p.exists():
        raise ImageError(f"image file {where!r} does not exist")
    if not p.is_file():
        raise ImageError(f"image path {where!r} is not a file")
    try:
        with warnings.catch_warnings():
            # we refuse over-limit images ourselves below, with the file named; Pillow's own warning
            # (between 1x and 2x the limit) would only print noise before that error
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(p, formats=_formats())
        with im:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and im.width * im.height > limit:
                raise ImageError(
                    f"image file {where!r} is {im.width}x{im.height} pixels, over the decompression-bomb "
                    f"limit of {limit} pixels (PIL.Image.MAX_IMAGE_PIXELS)"
                )
            full = (im.height, im.width)
            if fit is not None and im.format == "JPEG":
                scale = _draft_scale(im.size, fit)
                if scale > 1:
                    im.draft(None, (im.width // scale, im.height // scale))
            im.load()
            oriented = _oriented(im)
            if oriented.size != im.size:  # rotated by 90 degrees: the full size turns too
                full = full[::-1]
            return to_rgb_array(oriented, where), full
    except YoloPoseError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image file {where!r} refused as a decompression bomb: {exc}") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{where!r} is not an image in a supported format ({', '.join(IMAGE_FORMATS)})") from None
    except MemoryError:
        raise
    except Exception as exc:  # truncated/corrupt data: Pillow raises OSError, ValueError, SyntaxError...
        raise ImageError(f"image file {where!r} is corrupt or truncated ({type(exc).__name__}: {exc})") from None


def load_image(image: ImageSource, bgr: bool = False) -> np.ndarray:
    """A path, PIL image or uint8 array -> ``HxWx3`` uint8 RGB (C-contiguous).

    ``bgr=True`` says an array holds BGR (OpenCV) channel order; it is ignored for files and PIL.
    """
    if isinstance(image, (str, os.PathLike)):
        return open_image(image)
    if isinstance(image, Image.Image):
        try:
            return to_rgb_array(_oriented(image), "PIL image")
        except YoloPoseError:
            raise
        except (OSError, ValueError) as exc:
            raise ImageError(f"PIL image cannot be read ({exc})") from None
    if isinstance(image, np.ndarray):
        return _from_array(image, bgr)
    raise ImageError(f"expected an image path, a PIL image or a uint8 array, got {type(image).__name__}")


def _from_array(arr: np.ndarray, bgr: bool) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise ImageError(f"image arrays must be uint8 (0-255), got {arr.dtype}; convert with (x * 255).astype(np.uint8) if in [0, 1]")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = arr[..., :3]
        if bgr:
            arr = arr[..., ::-1]
    else:
        raise ImageError(f"image arrays must be HxWx3 (or HxW, HxWx1, HxWx4), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"the image array is empty (shape {arr.shape})")
    return np.ascontiguousarray(arr)
