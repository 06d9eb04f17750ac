"""Image reading for training: the SDK's safe decoder plus a header-only size probe."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

from PIL import Image

from yolopose.core.errors import ImageError
from yolopose.core.images import IMAGE_FORMATS, IMAGE_SUFFIXES, open_image

__all__ = ["IMAGE_SUFFIXES", "read_image", "image_size"]

#: Decode a file to ``HxWx3`` uint8 RGB (EXIF orientation applied); ``ImageError`` naming the file.
read_image = open_image


def image_size(path: Path, decode: bool = False) -> Tuple[int, int]:
    """``(height, width)`` after EXIF orientation; reads only the header unless ``decode``.

    Raises :class:`~yolopose.core.errors.ImageError` naming the file when it cannot be read.
    """
    if decode:
        return read_image(path).shape[:2]
    where = str(path)
    Image.init()
    formats = [f for f in IMAGE_FORMATS if f in Image.OPEN]
    try:
        with Image.open(path, formats=formats) as im:
            w, h = im.size
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:  # malformed EXIF: the SDK keeps the stored pixels too
                orientation = 1
    except FileNotFoundError:
        raise ImageError(f"image file {where!r} does not exist") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{where!r} is not an image in a supported format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"image file {where!r} cannot be read ({type(exc).__name__}: {exc})") from None
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)
