"""Malformed datasets and hostile paths (issue 30, cases 3 and 7): COCO JSON, YOLO txt and data
YAML are checked on load; ``eval`` refuses a malformed file naming the file, the record and the
field (a metric is never changed by records dropped silently), ``train`` skips each bad record
and reports it; ``file_name`` paths that leave the image folder are refused unless opted in;
symbolic-link loops are skipped with a message."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _batch_inputs import SAMPLES
from yolopose.core.evaluation import evaluate, load_ground_truth
from yolopose.core.errors import DatasetError
from yolopose.evaluate import coco_image_entries, evaluate_model

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "pose_tiny"
GT = json.loads((SAMPLES / "annotations.json").read_text())
CLI = [sys.executable, "-c", "from yolopose.cli import main; main()"]


def _mutated(edit):
    gt = copy.deepcopy(GT)
    edit(gt)
    return gt


def _set(kind, i, field, value):
    return lambda gt: gt[kind][i].__setitem__(field, value)


# (name, edit, words of the message); the first seven were tracebacks in `yolopose eval`
EVAL_CASES = [
    ("string bbox", _set("annotations", 0, "bbox", "1234"), "annotations[0] (id 79): field 'bbox'"),
    ("integer keypoints", _set("annotations", 0, "keypoints", 5), "field 'keypoints': 5 is int"),
    ("categories as strings", lambda gt: gt.__setitem__("categories", ["person"]), "categories[0] is str"),
    ("category without id", lambda gt: gt["categories"][0].pop("id"), "categories[0]: field 'id': missing"),
    ("image id a list", _set("images", 0, "id", [1]), "images[0]: field 'id'"),
    ("nan in bbox", _set("annotations", 0, "bbox", [1, 2, float("nan"), 4]), "field 'bbox[2]': nan is not a finite"),
    ("keypoints of strings", _set("annotations", 0, "keypoints", ["a"] * 51), "field 'keypoints[0]'"),
    ("image_id as a string", lambda gt: gt["annotations"][0].__setitem__("image_id", str(gt["annotations"][0]["image_id"])),
     "field 'image_id': '26' is a string, not an integer"),
    ("unknown image", _set("annotations", 0, "image_id", 123456), "field 'image_id': 123456 names no image"),
    ("unknown category", _set("annotations", 0, "category_id", 7), "field 'category_id': 7 names no category"),
    ("negative box", _set("annotations", 0, "bbox", [1, 2, -3, 4]), "negative width or height"),
    ("short keypoints", _set("annotations", 0, "keypoints", [1, 2, 2] * 16), "48 keypoint values, expected 51"),
    ("duplicate image id", lambda gt: gt["images"][1].__setitem__("id", gt["images"][0]["id"]), "another image has id"),
    ("annotation not an object", lambda gt: gt["annotations"].__setitem__(0, [1, 2]), "annotations[0] is list"),
]


@pytest.mark.parametrize("name, edit, words", EVAL_CASES, ids=[c[0] for c in EVAL_CASES])
def test_eval_refuses_malformed_ground_truth_naming_record_and_field(name, edit, words):
    with pytest.raises(DatasetError) as err:
        load_ground_truth(_mutated(edit))
    assert words in str(err.value), str(err.value)


def test_a_string_image_id_no_longer_changes_the_metric_silently(tmp_path):
    """pycocotools dropped the annotation whose image_id is "26" (the image's id is 26) and keypoint
    AP moved; now the file is refused, naming the record."""
    gt = _mutated(EVAL_CASES[7][1])
    data = tmp_path / "gt.json"
    data.write_text(json.dumps(gt))
    from yolopose import PoseEstimator

    with pytest.raises(DatasetError, match=r"annotations\[0\] \(id 79\): field 'image_id'"):
        evaluate_model(PoseEstimator(), data, SAMPLES, metrics_backend="numpy")
    proc = subprocess.run([*CLI, "eval", str(PoseEstimator().model_path), "--data", str(data), "--images", str(SAMPLES),
                           "--metrics-backend", "numpy", "--no-progress"], capture_output=True, text=True, timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert proc.returncode == 1 and len(errors) == 1 and str(data) in errors[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("file_name", ["/etc/hostname", "../../x.jpg", "sub/../../x.jpg"])
def test_eval_refuses_image_paths_outside_the_image_folder(file_name):
    gt = _mutated(_set("images", 0, "file_name", file_name))
    with pytest.raises(DatasetError, match="outside the image folder.*--allow-outside-images"):
        coco_image_entries(load_ground_truth(gt), SAMPLES, source="gt.json")


def test_eval_reads_outside_images_when_the_user_opts_in(tmp_path):
    images = tmp_path / "images"
    shutil.copytree(SAMPLES, images)
    first = GT["images"][0]["file_name"]
    shutil.move(str(images / first), tmp_path / first)  # now one folder up
    gt = _mutated(_set("images", 0, "file_name", f"../{first}"))
    with pytest.raises(DatasetError, match="outside the image folder"):
        coco_image_entries(load_ground_truth(gt), images)
    entries = coco_image_entries(load_ground_truth(gt), images, allow_outside=True)
    assert entries[0]["path"].resolve() == (tmp_path / first).resolve()


# ----------------------------------------------------------------------------- train
torch_needed = pytest.mark.torch


@pytest.fixture
def tiny(tmp_path):
    pytest.importorskip("torch")
    dst = tmp_path / "pose_tiny"
    shutil.copytree(FIXTURE, dst)
    return dst


def _coco(tiny: Path) -> Path:
    return tiny / "annotations" / "person_keypoints_train.json"


def _edit_json(path: Path, edit) -> Path:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return path


TRAIN_CASES = [  # all five were tracebacks in `yolopose-train train`
    ("image id abc", _set("images", 0, "id", "abc"), "images[0] (id 'abc'): field 'id'"),
    ("category_id person", _set("annotations", 0, "category_id", "person"), "annotations[0] (id 1): field 'category_id'"),
    ("image_id null", _set("annotations", 0, "image_id", None), "annotations[0] (id 1): field 'image_id': None is null"),
    ("width wide", _set("images", 0, "width", "wide"), "images[0] (id 11): field 'width'"),
    ("bbox of strings", _set("annotations", 2, "bbox", ["a", "b", "c", "d"]), "annotations[2] (id 3): field 'bbox[0]'"),
]


@torch_needed
@pytest.mark.parametrize("name, edit, words", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_train_skips_and_reports_malformed_coco_records(tiny, name, edit, words):
    from yolopose.training.data import build_dataset

    path = _edit_json(_coco(tiny), edit)
    for augment in (True, False):  # the training loader and the validation split
        ds = build_dataset(path, 64, augment=augment, cache_dir=tiny / f"cache{augment}")
        assert any(words in m and m.endswith("skipped") for m in ds.skipped), ds.skipped
        gt = ds.coco_gt  # the validator's ground truth holds only well-formed, attributable records
        ids = {im["id"] for im in gt["images"]}
        assert all(isinstance(i, int) for i in ids) and all(a["image_id"] in ids for a in gt["annotations"])
        assert sorted(ids) == sorted(ds.image_ids)
        evaluate(gt, [], iou_types=("bbox",), backend="numpy")  # and the evaluator takes it


@torch_needed
@pytest.mark.parametrize("file_name", ["/etc/hostname", "../../p1.jpg"])
def test_train_refuses_image_paths_outside_the_image_folder_unless_the_yaml_opts_in(tiny, file_name):
    from yolopose.training.data import build_dataset

    shutil.copy(tiny / "images/train/p1.jpg", tiny / "p1.jpg")  # images/train/../../p1.jpg
    path = _edit_json(_coco(tiny), _set("images", 0, "file_name", file_name))
    ds = build_dataset(path, 64, augment=True, cache_dir=tiny / "c1")
    assert 11 not in ds.image_ids and any("outside the image folder" in m for m in ds.skipped), ds.skipped
    if file_name.startswith(".."):
        (tiny / "opt_in.yaml").write_text("train: annotations/person_keypoints_train.json\ntrain_images: images/train\n"
                                          "allow_outside_images: true\n")
        ds = build_dataset(tiny / "opt_in.yaml", 64, augment=True, cache_dir=tiny / "c2")
        assert 11 in ds.image_ids, ds.skipped


@torch_needed
@pytest.mark.parametrize("line, words", [
    ("kpt_shape: [a, 3]", "kpt_shape[0]"),
    ("flip_idx: [x]", "flip_idx[0]"),
    ("kpt_shape: [1000000000, 3]", "kpt_shape[0]"),
    ("kpt_shape: [17, 4]", "kpt_shape[1]"),
    ("path: 5", "field 'path'"),
    ("allow_outside_images: yes please", "allow_outside_images"),
])
def test_data_yaml_fields_are_checked(tiny, line, words):
    from yolopose.training.data import build_dataset

    (tiny / "bad.yaml").write_text("train: images/train\nval: images/train\n" + line + "\n")
    with pytest.raises(DatasetError, match=words.replace("[", r"\[").replace("]", r"\]")):
        build_dataset(tiny / "bad.yaml", 64, augment=True)


@torch_needed
def test_a_symlink_loop_in_a_training_folder_is_skipped_with_a_message(tiny):
    from yolopose.training.data import build_dataset

    (tiny / "images/train/loop.jpg").symlink_to("loop.jpg")
    ds = build_dataset(tiny / "images/train", 64, augment=True, cache_dir=tiny / "cache")
    assert any("loop.jpg" in m and "symbolic link" in m for m in ds.skipped), ds.skipped
    assert len(ds) > 0


def test_a_symlink_loop_in_a_batch_folder_is_an_error_row(tmp_path):
    from yolopose.batch import execute, read_rows

    shutil.copy(sorted(SAMPLES.glob("*.jpg"))[0], tmp_path / "a.jpg")
    (tmp_path / "loop.jpg").symlink_to("loop.jpg")
    summary = execute([tmp_path], tmp_path / "out", format="jsonl", executor="local")
    rows = {Path(r["source"]).name: r for r in read_rows(summary.output)}
    assert set(rows) == {"a.jpg", "loop.jpg"} and rows["a.jpg"]["error"] is None
    assert "loop.jpg" in rows["loop.jpg"]["error"]


# ----------------------------------------------------------------------------- fuzz
def _json_values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True),
                        st.text(max_size=12))
    return st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=5),
                                                        st.dictionaries(st.text(max_size=6), kids, max_size=3)),
                        max_leaves=12)


_KINDS = st.sampled_from(["images", "annotations", "categories"])
_FIELDS = {"images": ["id", "file_name", "width", "height", "extra"],
           "annotations": ["id", "image_id", "category_id", "bbox", "keypoints", "num_keypoints", "area", "iscrowd"],
           "categories": ["id", "name", "keypoints", "skeleton"]}


def _mutate(data, kind, index, field_choice, value, drop):
    records = data[kind]
    if not records:
        return
    record = records[index % len(records)]
    if not isinstance(record, dict):
        return
    field = _FIELDS[kind][field_choice % len(_FIELDS[kind])]
    if drop:
        record.pop(field, None)
    else:
        record[field] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=_KINDS, index=st.integers(0, 10), field_choice=st.integers(0, 10), value=_json_values(), drop=st.booleans())
def test_fuzz_coco_through_eval(kind, index, field_choice, value, drop):
    """A random value (or a deletion) in a random field of a random record: the evaluation either
    refuses it with a DatasetError naming the file, or the file is valid and evaluates."""
    data = copy.deepcopy(GT)
    _mutate(data, kind, index, field_choice, value, drop)
    try:
        gt = load_ground_truth(data)
        coco_image_entries(gt, SAMPLES, source="<ground truth dict>")
    except DatasetError as exc:
        assert "<ground truth dict>" in str(exc)
        return
    ref = load_ground_truth(GT)
    results = [dict(a, score=0.9) for a in ref["annotations"] if a["image_id"] in {im["id"] for im in gt["images"]}]
    try:
        evaluate(gt, results, backend="numpy")
    except Exception as exc:  # refused with a typed error (results that no longer fit, keypoints missing...)
        from yolopose.core.errors import ConfigError

        assert isinstance(exc, (ConfigError, DatasetError)), repr(exc)


@torch_needed
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kind=_KINDS, index=st.integers(0, 10), field_choice=st.integers(0, 10), value=_json_values(), drop=st.booleans())
def test_fuzz_coco_through_train(tmp_path_factory, kind, index, field_choice, value, drop):
    from yolopose.training.data import build_dataset

    folder = tmp_path_factory.mktemp("coco")
    shutil.copytree(FIXTURE, folder / "t")
    path = _edit_json(_coco(folder / "t"), lambda d: _mutate(d, kind, index, field_choice, value, drop))
    try:
        ds = build_dataset(path, 64, augment=True, cache_dir=folder / "cache")
    except DatasetError:
        return
    ds[0]
    gt = ds.coco_gt
    evaluate(gt, [], iou_types=("bbox",), backend="numpy")


_LABEL_LINES = st.lists(st.one_of(
    st.lists(st.one_of(st.floats(allow_nan=True, width=32).map(repr), st.sampled_from(["0", "1", "x", "-1", "2", "1e9"])),
             max_size=60).map(" ".join),
    st.text(max_size=40)), max_size=4).map("\n".join)


@torch_needed
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=_LABEL_LINES, target=st.sampled_from(["p1", "p2", "background"]))
def test_fuzz_yolo_txt_through_train_and_val(tmp_path_factory, text, target):
    from yolopose.training.data import build_dataset

    folder = tmp_path_factory.mktemp("yolo")
    shutil.copytree(FIXTURE, folder / "t")
    (folder / "t/labels/train" / f"{target}.txt").write_text(text)
    for augment in (True, False):
        try:
            ds = build_dataset(folder / "t/images/train", 64, augment=augment, cache_dir=folder / f"c{augment}")
        except DatasetError:
            continue
        ds[0]
        evaluate(ds.coco_gt, [], iou_types=("bbox",), backend="numpy")


_YAML_KEYS = st.sampled_from(["path", "train", "val", "kpt_shape", "flip_idx", "train_images", "val_images",
                              "allow_outside_images"])


@torch_needed
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=_YAML_KEYS, value=_json_values())
def test_fuzz_data_yaml_through_train_and_val(tmp_path_factory, key, value):
    from yolopose.training.data import build_dataset

    yaml = pytest.importorskip("yaml")
    folder = tmp_path_factory.mktemp("yaml")
    shutil.copytree(FIXTURE, folder / "t")
    cfg = yaml.safe_load((folder / "t/data.yaml").read_text())
    cfg[key] = value
    (folder / "t/data.yaml").write_text(yaml.safe_dump(cfg))
    for augment in (True, False):
        try:
            ds = build_dataset(folder / "t/data.yaml", 64, augment=augment, cache_dir=folder / f"c{augment}")
        except DatasetError:
            continue
        ds[0]
