"""Fast preprocessing of large inputs: the letterbox's area filter and reduced JPEG decoding keep
the geometry exact and the pixels close to a full decode + bilinear resize."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pathlib import Path

from yolopose.core.images import open_image, open_image_fit
from yolopose.core.ops import letterbox, letterbox_content
from yolopose.core.ops.letterbox import _pillow_area, resize_for_letterbox

FIXTURES = Path(__file__).resolve().parent / "fixtures"


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


# ------------------------------------------------------------------ the input tensor, written in place
def _plan(layout, dtype, quant=None, imgsz=(64, 96)):
    from yolopose._plan import ModelPlan
    from yolopose.layouts.raw import RawLayout
    from yolopose.core.metadata import ModelMetadata

    meta = ModelMetadata(model="t", imgsz=imgsz, strides=(32,), anchors=(((10.0, 13.0),),))
    return ModelPlan(RawLayout(meta, used=(), transposed=()), layout, dtype, quant, None, ())


_PLANS = {
    "nchw-f32": ("NCHW", "float32", None, "scale"),
    "nhwc-f32": ("NHWC", "float32", None, "scale"),
    "nchw-f16": ("NCHW", "float16", None, "scale"),
    "nhwc-u8": ("NHWC", "uint8", None, "copy"),
    "nhwc-i8": ("NHWC", "int8", (1 / 255, -128, "int8"), "flip"),
    "nchw-i8-other": ("NCHW", "int8", (0.0125, 3, "int8"), "table"),
    "nhwc-u8-quant": ("NHWC", "uint8", (1 / 255, 0, "uint8"), "copy"),
    "nhwc-u8-other": ("NHWC", "uint8", (0.02, 7, "uint8"), "table"),
}


@pytest.mark.parametrize("name", sorted(_PLANS))
@pytest.mark.parametrize("shape", [(720, 1280), (1080, 810), (33, 47), (64, 96), (200, 10)])
def test_input_written_in_place_equals_make_input_of_the_letterbox(name, shape):
    """The SDK writes the resized image straight into the tensor: bit-identical to the padded canvas
    converted by make_input, for every layout, dtype and quantization, with any padding."""
    from yolopose._input import InputWriter
    from yolopose.core.ops import QuantParams, letterbox_content

    layout, dtype, q, method = _PLANS[name]
    plan = _plan(layout, dtype, QuantParams(*q) if q else None)
    writer = InputWriter(plan, 114)
    assert writer.method == method
    img = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    x = writer.new(2)
    x.fill(1)  # stale values must all be overwritten
    for i, image in enumerate((img, img[::-1].copy())):
        content, t = letterbox_content(image, plan.metadata.imgsz)
        writer.write(x, i, content, t)
    ref = plan.make_input(np.stack([letterbox(img, (64, 96))[0], letterbox(img[::-1].copy(), (64, 96))[0]]))
    assert x.dtype == ref.dtype and x.shape == ref.shape
    assert np.array_equal(x, ref)


def test_estimator_preprocess_equals_the_letterbox_then_make_input(tmp_path):
    from yolopose import PoseEstimator

    est = PoseEstimator(FIXTURES / "tiny_raw_int8.tflite") if _has_tflite() else PoseEstimator()
    path = tmp_path / "photo.jpg"
    Image.fromarray(_scene(1280, 720)).save(path, quality=90)
    arr = _scene(300, 200)
    x, transforms = est.preprocess([str(path), arr])
    pixels, full = open_image_fit(path, est.input_size)
    ref = est.plan.make_input(np.stack([letterbox(pixels, est.input_size, src_shape=full)[0],
                                        letterbox(arr, est.input_size)[0]]))
    assert np.array_equal(x, ref)
    assert transforms[0] == letterbox(open_image(path), est.input_size)[1]


def _has_tflite() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) is not None for m in ("ai_edge_litert", "tflite_runtime"))


# ------------------------------------------------------------------ reduced decodes for a 640 model
def test_a_1280x720_jpeg_for_640_decodes_at_half_and_is_not_resampled(tmp_path):
    path = tmp_path / "hd.jpg"
    Image.fromarray(_scene(1280, 720)).save(path, quality=90)
    pixels, full = open_image_fit(path, (640, 640))
    assert pixels.shape[:2] == (360, 640) and full == (720, 1280)
    content, t = letterbox_content(pixels, 640, src_shape=full)
    assert content is pixels and t == letterbox(open_image(path), 640)[1]


def test_an_810x1080_jpeg_for_640_decodes_at_half_then_enlarges_bicubic(tmp_path):
    path = tmp_path / "portrait.jpg"
    Image.fromarray(_scene(810, 1080)).save(path, quality=90)
    pixels, full = open_image_fit(path, (640, 640))
    assert pixels.shape[:2] == (540, 405) and full == (1080, 810)
    fast, t = letterbox(pixels, 640, src_shape=full)
    slow, t_full = letterbox(open_image(path), 640)
    assert t == t_full and t.content_size == (480, 640)
    assert np.abs(fast.astype(int) - slow.astype(int)).mean() < 2.0
    # enlargement is bicubic (OpenCV's when installed, else Pillow's), not bilinear
    expect = np.asarray(Image.fromarray(pixels).resize((480, 640), Image.BICUBIC)).astype(int)
    assert np.abs(resize_for_letterbox(pixels, (480, 640)).astype(int) - expect).mean() < 1.0
    with _no_opencv():
        assert np.array_equal(resize_for_letterbox(pixels, (480, 640)), expect.astype(np.uint8))


def test_no_reduced_decode_when_it_would_enlarge_more_than_1_2x(tmp_path):
    path = tmp_path / "small.jpg"
    Image.fromarray(_scene(1000, 700)).save(path, quality=90)  # 1/2 would be 500 px for 640: 1.28x
    pixels, full = open_image_fit(path, (640, 640))
    assert pixels.shape[:2] == (700, 1000) == full


class _no_opencv:
    def __enter__(self):
        import sys

        self.mod = sys.modules["yolopose.core.ops.letterbox"]
        self.saved = self.mod._opencv_resizers
        self.mod._opencv_resizers = lambda: None

    def __exit__(self, *exc):
        self.mod._opencv_resizers = self.saved
