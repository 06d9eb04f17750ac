"""The pipelined stream (``PoseEstimator.stream`` / ``yolopose.video.predict_frames``, ``yolopose track``)
and batch worker: frame N+1 is decoded and preprocessed in a pipeline thread while the engine runs on
frame N; results stay in frame order, none is dropped, errors surface at their frame, and no thread
outlives the loop (early break, an exception in the body, an error in preprocessing)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolopose.video import Frame, predict_frames


def _pipeline_threads():
    return [t for t in threading.enumerate() if t.name in ("yolopose-frames", "yolopose-batch-read")]


@pytest.fixture(autouse=True)
def no_thread_left():
    yield
    deadline = time.monotonic() + 30  # generous: the CI machine may be loaded
    while _pipeline_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _pipeline_threads(), "a pipeline thread outlived its loop"


class Recorder:
    """An estimator stand-in: each step records the frame (its first pixel) and its thread."""

    def __init__(self, fail_preprocess_at: int = -1, slow_infer: float = 0.0) -> None:
        self.fail_at = fail_preprocess_at
        self.slow = slow_infer
        self.pre_threads = set()
        self.infer_threads = set()
        self.inferred = []

    def preprocess(self, image):
        self.pre_threads.add(threading.current_thread().name)
        value = int(image[0, 0, 0])
        if value == self.fail_at:
            raise ValueError(f"frame {value} cannot be letterboxed")
        return np.full((1, 1), value), [value]

    def infer(self, x):
        self.infer_threads.add(threading.current_thread().name)
        if self.slow:
            time.sleep(self.slow)
        self.inferred.append(int(x[0, 0]))
        return [x]

    def postprocess(self, raw, transforms):
        assert int(raw[0][0, 0]) == transforms[0]  # the input and its transform travel together
        return [f"poses of {transforms[0]}"]


def _frames(n):
    for i in range(n):
        yield Frame(i, i / 30.0, np.full((4, 4, 3), i, np.uint8))


@pytest.mark.parametrize("prefetch", [0, 1, 2, 4])
def test_every_frame_in_order_with_preprocessing_in_the_pipeline_thread(prefetch):
    est = Recorder(slow_infer=0.001)
    out = list(predict_frames(est, _frames(50), prefetch=prefetch))
    assert [f.index for f, _ in out] == list(range(50))
    assert [p for _, p in out] == [f"poses of {i}" for i in range(50)]
    assert est.inferred == list(range(50))
    main = threading.current_thread().name
    assert est.infer_threads == {main}  # the engine stays in the caller's thread (TFLite/OpenVINO are not thread-safe)
    assert est.pre_threads == ({main} if prefetch == 0 else {"yolopose-frames"})


def test_a_preprocessing_error_arrives_after_the_frames_before_it():
    est = Recorder(fail_preprocess_at=7)
    got = []
    with pytest.raises(ValueError, match="frame 7 cannot be letterboxed"):
        for frame, poses in predict_frames(est, _frames(100), prefetch=2):
            got.append(frame.index)
    assert got == list(range(7))


def test_a_reading_error_arrives_after_the_frames_before_it():
    def frames():
        yield from _frames(3)
        raise OSError("the capture broke off")

    got = []
    with pytest.raises(OSError, match="broke off"):
        for frame, _ in predict_frames(Recorder(), frames(), prefetch=2):
            got.append(frame.index)
    assert got == [0, 1, 2]


def test_early_break_and_body_exception_stop_the_thread():
    closed = []

    def frames():
        try:
            yield from _frames(10_000)
        finally:
            closed.append(threading.current_thread().name)

    for frame, _ in predict_frames(Recorder(), frames(), prefetch=2):
        if frame.index == 5:
            break
    assert closed == ["yolopose-frames"]  # the source is closed by the thread that reads it
    with pytest.raises(RuntimeError, match="drawing failed"):
        for frame, _ in predict_frames(Recorder(), _frames(10_000), prefetch=2):
            if frame.index == 3:
                raise RuntimeError("drawing failed")


def test_an_estimator_with_only_predict_still_streams():
    class PredictOnly:
        def predict(self, image):
            return int(image[0, 0, 0])

    assert [p for _, p in predict_frames(PredictOnly(), _frames(5))] == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ with a real model and files
@pytest.fixture()
def tiny_model(tiny_onnx: Path) -> Path:
    pytest.importorskip("onnxruntime")
    return tiny_onnx


def _folder(tmp_path: Path, n: int = 9) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:, :, 0] = (20 * i) % 256
        img[8:24, 4 * (i % 12) : 4 * (i % 12) + 16, 2] = 255
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    return folder


def test_stream_pipelined_equals_stream_unpipelined_and_predict(tmp_path: Path, tiny_model: Path):
    from yolopose import PoseEstimator

    est = PoseEstimator(tiny_model)
    folder = _folder(tmp_path)
    piped = list(est.stream(folder))
    plain = list(est.stream(folder, prefetch=0))
    assert len(piped) == len(plain) == 9
    for (fa, pa), (fb, pb), path in zip(piped, plain, sorted(folder.iterdir())):
        assert np.array_equal(fa, fb) and np.array_equal(fa, np.asarray(Image.open(path)))
        ref = est.predict(fa)
        for got in (pa, pb):
            assert np.array_equal(got.boxes, ref.boxes) and np.array_equal(got.keypoints, ref.keypoints)
    tracked = [p.ids.tolist() for _, p in est.stream(folder, track=True)]
    assert len(tracked) == 9 and tracked[0] and all(ids == tracked[0] for ids in tracked)


def test_stream_early_break_closes_the_pipeline(tmp_path: Path, tiny_model: Path):
    from yolopose import PoseEstimator

    est = PoseEstimator(tiny_model)
    gen = est.stream(_folder(tmp_path, 30))
    for i, _ in enumerate(gen):
        if i == 2:
            break
    gen.close()  # what leaving a for loop over the generator does when it is collected


def test_batch_worker_rows_in_order_with_errors_in_place(tmp_path: Path, tiny_model: Path):
    from yolopose.batch.predictor import BatchPredictor, PredictorConfig
    from yolopose.batch.sources import WorkItem

    folder = _folder(tmp_path, 6)
    files = sorted(str(p) for p in folder.iterdir())
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    sources = files[:3] + [str(bad)] + files[3:]
    items = [WorkItem(s, "image").to_dict() for s in sources]
    rows = {}
    for prefetch in (0, 2):
        worker = BatchPredictor(PredictorConfig(model=str(tiny_model), prefetch=prefetch))
        rows[prefetch] = worker.process(items)
        worker.estimator.close()
    assert [r["source"] for r in rows[2]] == sources  # one row per input, in input order
    assert [bool(r["error"]) for r in rows[2]] == [False] * 3 + [True] + [False] * 3
    assert "broken.jpg" in rows[2][3]["error"]
    strip = lambda rs: [{k: v for k, v in r.items() if "second" not in k} for r in rs]  # noqa: E731
    assert strip(rows[2]) == strip(rows[0])
