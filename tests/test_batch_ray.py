"""``yolopose batch`` and ``eval`` on a local Ray runtime (2 CPUs, started once for the module):
the same rows and metrics as the in-process executor, error rows instead of failures, resume."""
from __future__ import annotations

import importlib.util

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("pyarrow")

from _batch_inputs import SAMPLES, make_archive  # noqa: E402
from yolopose import PoseEstimator  # noqa: E402
from yolopose.batch import execute, pose_dataset, read_rows  # noqa: E402
from yolopose.batch.executors import list_executors  # noqa: E402

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


HAS_CV2 = importlib.util.find_spec("cv2") is not None


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("ray") / "archive", video=HAS_CV2)  # a real video needs OpenCV


def test_ray_rows_equal_local_rows_with_errors_and_resume(local_ray, archive, tmp_path):
    local = execute([archive], tmp_path / "local", executor="local")
    # a first Ray run that covered only part of the inputs, then a resumed run over all of them
    execute([archive / "synthetic_1.jpg", archive / "broken.jpg"], tmp_path / "ray", executor="ray", actors=2,
            batch_size=1)
    resumed = execute([archive], tmp_path / "ray", executor="ray", actors=2, batch_size=2, resume=True)
    assert resumed.skipped == 2 and resumed.workers == 2
    got, want = read_rows(tmp_path / "ray"), read_rows(local.output)
    assert len(got) == len(want) == 3 + 1 + 1 + (5 if HAS_CV2 else 0)  # images, broken.jpg, broken.mp4, frames
    assert got == want  # bit-identical poses, same error rows
    errors = {r["source"].rsplit("/", 1)[-1]: r["frame"] for r in got if r["error"]}
    assert errors == {"broken.jpg": 0, "broken.mp4": -1}


@pytest.mark.parametrize("executor", list_executors())
def test_every_executor_gives_the_in_process_metrics(local_ray, executor):
    """Every registered batch executor (a new one too, without editing this test) gives the
    detections and metrics of the in-process loop, bit for bit."""
    from yolopose.evaluate import evaluate_model

    model = PoseEstimator().model_path
    args = (model, SAMPLES / "annotations.json", SAMPLES)
    here = evaluate_model(*args, metrics_backend="numpy")
    there = evaluate_model(*args, metrics_backend="numpy", executor=executor, executor_options={"actors": 2})
    assert there.detections == here.detections and there.metrics == here.metrics


def test_pose_dataset_is_a_ray_dataset(local_ray, archive):
    ds = pose_dataset([str(archive / "sub")], actors=1)
    rows = ds.take_all()
    assert isinstance(ds, ray.data.Dataset) and len(rows) == 1 and rows[0]["error"] is None
    assert len(rows[0]["scores"]) == len(rows[0]["boxes"]) > 0
