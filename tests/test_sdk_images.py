"""Image loading: EXIF orientation, mode conversion, bombs, formats, arrays; fuzzed inputs."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from yolopose.core.errors import ImageError, YoloPoseError
from yolopose.core.images import load_image


def _save(tmp_path, im, name, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("orientation, expected_hw, corner", [(1, (20, 40), (0, 0)), (3, (20, 40), (19, 39)), (6, (40, 20), (0, 19)), (8, (40, 20), (39, 0))])
def test_exif_orientation_is_applied(tmp_path, orientation, expected_hw, corner):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:5, :5] = 255  # a white top-left block
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    path = _save(tmp_path, im, "o.jpg", exif=exif.tobytes(), quality=100)
    out = load_image(path)
    assert out.shape[:2] == expected_hw
    assert out[corner].mean() > 200  # the white block moved to where the orientation puts it
    pil_out = load_image(Image.open(path))
    np.testing.assert_array_equal(pil_out, out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("1", (8, 6), 1),
        lambda: Image.new("L", (8, 6), 200),
        lambda: Image.new("LA", (8, 6), (200, 255)),
        lambda: Image.new("RGBA", (8, 6), (10, 20, 30, 255)),
        lambda: Image.new("CMYK", (8, 6), (0, 0, 0, 0)),
        lambda: Image.new("P", (8, 6), 3),
        lambda: Image.new("I;16", (8, 6), 65535),
        lambda: Image.new("I", (8, 6), 32768),
        lambda: Image.new("F", (8, 6), 0.5),
        lambda: Image.new("YCbCr", (8, 6), (128, 128, 128)),
    ],
)
def test_modes_become_8bit_rgb(make):
    out = load_image(make())
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_16bit_is_scaled_not_clamped(tmp_path):
    arr = np.array([[0, 257 * 100, 65535]], np.uint16)
    im = Image.fromarray(arr)
    path = _save(tmp_path, im, "g16.png")
    out = load_image(path)
    assert out[0, :, 0].tolist() == [0, 100, 255]


def test_transparent_pixels_over_grey(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]
    out = load_image(Image.fromarray(rgba, "RGBA"))
    assert out[0, 0].tolist() == [255, 0, 0] and out[1, 1].tolist() == [114, 114, 114]
    pal = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.info["transparency"] = 1
    out = load_image(pal)
    assert out[0, 0].tolist() == [255, 0, 0] and out[0, 1].tolist() == [114, 114, 114]


def test_decompression_bomb_is_our_error(tmp_path, monkeypatch):
    path = _save(tmp_path, Image.new("RGB", (100, 100)), "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our error only: Pillow's warning is not printed first
        with pytest.raises(ImageError, match="decompression"):
            load_image(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # over twice the limit: Pillow raises
    with pytest.raises(ImageError, match="decompression"):
        load_image(path)


def test_non_image_formats_are_refused(tmp_path):
    path = tmp_path / "x.pdf"
    Image.new("RGB", (10, 10)).save(path)  # Pillow can write PDFs but we never open them
    with pytest.raises(ImageError, match="not an image"):
        load_image(path)
    (tmp_path / "eps.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    with pytest.raises(ImageError, match="not an image"):
        load_image(tmp_path / "eps.eps")


def test_missing_truncated_and_empty_files(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(tmp_path / "cut.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png"):
        load_image(tmp_path / "empty.png")


def test_arrays():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(load_image(rgb), rgb)
    np.testing.assert_array_equal(load_image(rgb[..., ::-1], bgr=True), rgb)
    assert load_image(rgb[..., 0]).shape == (2, 3, 3)
    assert load_image(np.zeros((2, 3, 4), np.uint8)).shape == (2, 3, 3)
    for bad in (rgb.astype(np.float32), np.zeros((0, 3, 3), np.uint8), np.zeros((2, 3, 2), np.uint8), np.zeros((2,), np.uint8)):
        with pytest.raises(ImageError):
            load_image(bad)
    with pytest.raises(ImageError, match="expected an image path"):
        load_image(42)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048), st.sampled_from([".jpg", ".png", ".gif", ".tif", ".bmp", ".webp", ".bin"]))
def test_fuzz_random_bytes_as_image_files(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        out = load_image(path)
    except YoloPoseError:
        return
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8


_PREFIXES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"II*\x00", b"BM", b"RIFF\x00\x00\x00\x00WEBP"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_PREFIXES), st.binary(max_size=512))
def test_fuzz_image_headers_with_random_bodies(tmp_path, prefix, body):
    path = tmp_path / "h.img"
    path.write_bytes(prefix + body)
    try:
        load_image(path)
    except YoloPoseError:
        pass


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)), st.booleans())
def test_fuzz_random_arrays(arr, bgr):
    try:
        out = load_image(arr, bgr=bgr)
    except YoloPoseError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
