"""Fast preprocessing of large inputs: the letterbox's area filter and reduced JPEG decoding keep
the geometry exact and the pixels close to a full decode + bilinear resize."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolopose.images import open_image, open_image_fit
from yolopose.ops import letterbox
from yolopose.ops.letterbox import _pillow_area, resize_for_letterbox


def _scene(w: int, h: int) -> np.ndarray:
    """A smooth image with edges (shapes on a gradient), like a scaled-up photo."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 127 // (w + h))], -1).astype(np.uint8)
    img[h // 4 : h // 2, w // 5 : w // 3] = (230, 40, 40)
    img[h // 2 : 3 * h // 4, w // 2 : w // 2 + w // 10] = (20, 200, 90)
    return img


def _bilinear(img: np.ndarray, size) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR)).astype(int)


def test_area_filter_close_to_bilinear_for_large_shrinks():
    img = _scene(1280, 720)
    out, t = letterbox(img, 256)
    assert (t.scale, t.pad_x, t.pad_y, t.src_shape) == (0.2, 0.0, 56.0, (720, 1280))
    ref = _bilinear(img, (256, 144))
    assert np.abs(out[56:200].astype(int) - ref).mean() < 2.0
    pillow = _pillow_area(img, (256, 144)).astype(int)  # the fallback without OpenCV
    assert np.abs(pillow - ref).mean() < 2.0


def test_small_shrinks_stay_bilinear():
    img = _scene(400, 300)
    resized = resize_for_letterbox(img, (256, 192))
    assert np.array_equal(resized, _bilinear(img, (256, 192)))


@pytest.mark.parametrize("size, reduced", [((1280, 720), (180, 320)), ((1283, 721), (721, 1283)), ((320, 200), (200, 320))])
def test_reduced_jpeg_decode_keeps_the_geometry(tmp_path, size, reduced):
    path = tmp_path / "big.jpg"
    Image.fromarray(_scene(*size)).save(path, quality=95)
    pixels, full = open_image_fit(path, (256, 256))
    assert pixels.shape[:2] == reduced and full == (size[1], size[0])
    fast, t_fast = letterbox(pixels, 256, src_shape=full)
    slow, t_slow = letterbox(open_image(path), 256)
    assert t_fast == t_slow
    assert np.abs(fast.astype(int) - slow.astype(int)).mean() < 2.0


def test_reduced_decode_applies_exif_rotation(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.fromarray(_scene(1280, 720)).save(path, exif=exif)
    pixels, full = open_image_fit(path, (256, 256))
    assert full == (1280, 720) and pixels.shape[:2] == (320, 180)
    assert letterbox(pixels, 256, src_shape=full)[1] == letterbox(open_image(path), 256)[1]


def test_png_is_read_whole(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(_scene(1280, 720)).save(path)
    pixels, full = open_image_fit(path, (256, 256))
    assert full == (720, 1280) and np.array_equal(pixels, open_image(path))
