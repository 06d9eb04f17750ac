"""PoseEstimator end to end on tiny real models, checked against hand-decoded people."""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import _graphs as g
import yolopose
from yolopose import PoseEstimator, Poses
from yolopose.core.errors import ConfigError, ModelError

FIX = g.FIXTURES
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    onnx_dyn = g.make_raw_onnx(d / "dyn.onnx", batch=None)
    out = {
        "onnxruntime": (onnx_dyn, "onnxruntime"),
        "onnx-fixed-batch": (g.make_raw_onnx(d / "fixed.onnx", batch=1, order=[5, 3, 1, 0, 2, 4], names=list("abcdef")), "auto"),
        "onnx-nchw-outputs": (g.make_raw_onnx(d / "nchw.onnx", batch=1, nchw_outputs=True), "auto"),
        "tflite-fp32": (FIX / "tiny_raw_fp32.tflite", "auto"),
        "tflite-int8": (FIX / "tiny_raw_int8.tflite", "auto"),
    }
    # the built-in kernels for the int8 fixture: XNNPACK computes its int8 MEAN 0.66 off on an
    # AVX2-only EPYC (exact with VNNI); the bundled model runs under XNNPACK in test_default_model
    out["tflite-int8"] += ({"runtime_options": {"xnnpack": False}},)
    try:
        import openvino  # noqa: F401

        out["openvino-onnx"] = (onnx_dyn, "openvino")
        out["openvino-ir"] = (g.save_openvino_ir(g.make_raw_onnx(d / "ir.onnx", batch=1), d / "ir.xml"), "auto")
    except ImportError:
        pass
    return out


MODEL_KINDS = ["onnxruntime", "openvino-onnx", "openvino-ir", "onnx-fixed-batch", "onnx-nchw-outputs", "tflite-fp32", "tflite-int8"]


def _estimator(models, kind, **kw):
    if kind not in models:
        pytest.skip(f"{kind} needs an engine that is not installed")
    path, backend, *options = models[kind]
    return PoseEstimator(path, backend=backend, **kw, **(options[0] if options else {}))


def _assert_people(poses, expected, scale=1.0, int8=False, atol_px=None):
    assert len(poses) == len(expected)
    atol_px = atol_px or (0.6 if int8 else 1e-3)
    for i, exp in enumerate(expected):
        box = np.array(exp["box"]) * scale
        box = np.clip(box, 0, 64 * scale)
        np.testing.assert_allclose(poses.boxes[i], box, atol=atol_px * scale)
        np.testing.assert_allclose(poses.scores[i], exp["score"], atol=0.01 if int8 else 1e-5)
        np.testing.assert_allclose(poses.keypoints[i, :, :2], exp["keypoints"][:, :2] * scale, atol=atol_px * scale)
        np.testing.assert_allclose(poses.keypoints[i, :, 2], exp["keypoints"][:, 2], atol=0.02 if int8 else 1e-5)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_predict_black_image_gives_hand_decoded_people(models, kind):
    est = _estimator(models, kind, conf=0.01)
    poses = est.predict(np.zeros((64, 64, 3), np.uint8))
    assert isinstance(poses, Poses)
    _assert_people(poses, g.expected_after_nms(0.01), int8=kind == "tflite-int8")
    assert len(est.predict(np.zeros((64, 64, 3), np.uint8), conf=0.25)) == 2


@pytest.mark.parametrize("kind", ["onnxruntime", "tflite-fp32", "tflite-int8"])
def test_predict_maps_back_to_original_pixels(models, kind):
    est = _estimator(models, kind, conf=0.25)
    poses = est.predict(np.zeros((128, 128, 3), np.uint8))  # letterboxed 2x down
    _assert_people(poses, g.expected_after_nms(0.25), scale=2.0, int8=kind == "tflite-int8")


@pytest.mark.parametrize("kind", ["onnxruntime", "openvino-onnx", "tflite-fp32"])
def test_grey_image_shifts_every_logit(models, kind):
    """The graphs add mean(input) to every output: a 51-grey image shifts logits by 0.2."""
    est = _estimator(models, kind, conf=0.25)
    poses = est.predict(np.full((64, 64, 3), 51, np.uint8))
    # the shift is a float32 mean over 12,288 pixels: summed in order (XNNPACK on ARM) it is 5e-5
    # off, 0.0016 px at stride 16; the keypoint checks allow 0.005 px here
    _assert_people(poses, g.expected_after_nms(0.25, shift=51 / 255), atol_px=5e-3)


@pytest.mark.parametrize("kind", ["onnxruntime", "onnx-fixed-batch", "tflite-int8"])
def test_predict_batch_matches_single_predictions(models, kind):
    est = _estimator(models, kind, conf=0.25)
    images = [np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 51, np.uint8), np.zeros((32, 96, 3), np.uint8)]
    batch = est.predict_batch(images)
    assert len(batch) == 3 and est.predict_batch([]) == []
    for image, poses in zip(images, batch):
        single = est.predict(image)
        np.testing.assert_allclose(poses.boxes, single.boxes, atol=1e-4)
        np.testing.assert_allclose(poses.keypoints, single.keypoints, atol=1e-4)


def test_three_public_steps(models):
    est = _estimator(models, "onnxruntime")
    x, transforms = est.preprocess([np.zeros((64, 64, 3), np.uint8)] * 2)
    assert x.shape == (2, 3, 64, 64) and x.dtype == np.float32 and len(transforms) == 2
    raw = est.infer(x)
    assert [r.shape for r in raw] == [(2, 4, 4, 12), (2, 4, 4, 68), (2, 4, 4, 34), (2, 2, 2, 12), (2, 2, 2, 68), (2, 2, 2, 34)]
    assert all(r.dtype == np.float32 for r in raw)
    poses = est.postprocess(raw, transforms)
    assert [len(p) for p in poses] == [2, 2]
    assert len(est.postprocess(raw, transforms, max_det=1)[0]) == 1
    x1, _ = est.preprocess(np.zeros((64, 64, 3), np.uint8))  # a single image is a batch of one
    assert x1.shape[0] == 1
    tfl = _estimator(models, "tflite-int8")
    xq, _ = tfl.preprocess([np.zeros((64, 64, 3), np.uint8)])
    assert xq.dtype == np.int8 and xq.shape == (1, 64, 64, 3) and (xq == -128).all()
    assert all(r.dtype == np.float32 for r in tfl.infer(xq))


def test_bgr_flag_and_input_kinds(models, tmp_path):
    from PIL import Image

    est = _estimator(models, "onnxruntime")
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., 0] = 255  # pure red in RGB: the mean (and so the result) is the same either way
    a = est.predict(img)
    b = est.predict(img[..., ::-1], bgr=True)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    Image.fromarray(img).save(tmp_path / "red.png")
    c = est.predict(tmp_path / "red.png")
    d = est.predict(Image.fromarray(img))
    np.testing.assert_array_equal(a.boxes, c.boxes)
    np.testing.assert_array_equal(a.boxes, d.boxes)
    assert est(img).boxes.shape == a.boxes.shape


def test_decoded_foreign_models(tmp_path):
    cf = g.make_decoded_onnx(tmp_path / "yolov8n-pose.onnx", props=g.ULTRALYTICS_PROPS)
    # no metadata at all: the channels are the smaller dimension (candidates outnumber them)
    cl = g.make_decoded_onnx(tmp_path / "bare.onnx", props=None, channels_first=False, n=100)
    for path in (cf, cl, FIX / "tiny_decoded_fp32.tflite"):
        est = PoseEstimator(path, conf=0.5)
        assert est.metadata.output_format == "decoded" and est.metadata.num_keypoints == 17
        poses = est.predict(np.zeros((64, 64, 3), np.uint8))
        assert len(poses) == 2, path
        np.testing.assert_allclose(poses.boxes[0], [12, 10, 28, 50], atol=1e-3)
        np.testing.assert_allclose(poses.boxes[1], [38, 30, 58, 50], atol=1e-3)
        np.testing.assert_allclose(poses.keypoints[0, 3], [17, 18, 0.1 + 0.8 * 3 / 16], atol=1e-3)
    assert PoseEstimator(cf).metadata.model.startswith("Ultralytics")


def test_nan_outputs_are_model_errors(tmp_path):
    est = PoseEstimator(g.make_raw_onnx(tmp_path / "nan.onnx", scale_output=float("nan")))
    with pytest.raises(ModelError, match="NaN"):
        est.predict(np.zeros((64, 64, 3), np.uint8))
    est = PoseEstimator(g.make_raw_onnx(tmp_path / "inf.onnx", scale_output=float("inf")))
    with pytest.raises(ModelError, match="nan.onnx|inf.onnx"):
        est.predict(np.zeros((64, 64, 3), np.uint8))


def test_outputs_not_matching_metadata(tmp_path):
    meta = g.metadata(anchors=(((1.0, 1.0),), ((2.0, 2.0),)), outputs=())
    with pytest.raises(ModelError, match="do not match the metadata"):
        PoseEstimator(g.make_raw_onnx(tmp_path / "wrong.onnx", meta=meta))


def test_bad_arguments(models):
    path, _ = models["onnxruntime"]
    for kwargs in ({"conf": 1.5}, {"iou": -0.1}, {"max_det": 0}):
        with pytest.raises(ConfigError):
            PoseEstimator(path, **kwargs)
    with pytest.raises(ConfigError, match="fixed input size"):
        PoseEstimator(models["tflite-fp32"][0], imgsz=128)
    est = PoseEstimator(path, imgsz=64)
    assert est.input_size == (64, 64)
    assert "PoseEstimator(" in repr(est) and est.backend == "onnxruntime" and est.device == "cpu"


def test_no_model_argument_loads_the_bundled_one():
    from yolopose._assets import default_model_candidates

    with PoseEstimator() as est:
        assert est.model_path in default_model_candidates()
        poses = est.predict(np.zeros((64, 64, 3), np.uint8))
        assert poses.keypoints.shape[1:] == (17, 3) and len(poses.scores) == len(poses)


def test_default_model_missing_is_a_clear_error(monkeypatch):
    import yolopose._assets

    monkeypatch.setattr(yolopose._assets, "default_model_candidates", lambda: [])
    with pytest.raises(ModelError, match="no default model is bundled"):
        PoseEstimator()


@pytest.mark.parametrize("kind", ["onnxruntime", "openvino-ir", "tflite-int8"])
def test_estimator_is_thread_safe(models, kind):
    est = _estimator(models, kind, conf=0.01)
    images = [np.full((64 + 8 * i, 64, 3), 10 * i, np.uint8) for i in range(6)]
    serial = [est.predict(im) for im in images]
    results = {}
    errors = []

    def work(tid):
        try:
            for rep in range(5):
                for i, im in enumerate(images):
                    results[(tid, rep, i)] = est.predict(im)
        except Exception as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (tid, rep, i), poses in results.items():
        np.testing.assert_array_equal(poses.boxes, serial[i].boxes)
        np.testing.assert_array_equal(poses.keypoints, serial[i].keypoints)


def test_import_is_light():
    code = (
        "import sys, yolopose, yolopose.runtimes, yolopose.cli;"
        "yolopose.PoseEstimator;"
        "heavy = [m for m in ('torch', 'cv2', 'onnxruntime', 'openvino', 'ai_edge_litert', 'tflite_runtime', 'onnx') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert yolopose.__version__
