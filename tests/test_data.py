"""Dataset loaders (COCO JSON, YOLO-pose txt, YAML, synth folder), label cache, targets, collate."""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.core.errors import DatasetError  # noqa: E402
from yolopose.training.data import build_dataset, collate, list_dataset_formats  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "pose_tiny"


@pytest.fixture()
def tiny(tmp_path):
    """A private copy of the fixture (caches and edits never touch the repository)."""
    dst = tmp_path / "pose_tiny"
    shutil.copytree(FIXTURE, dst)
    return dst


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_yolo_txt_loader_skips_bad_samples_once(tiny, caplog):
    caplog.set_level(logging.WARNING, logger="yolopose.training.data")
    ds = build_dataset(tiny / "images" / "train", 64, augment=False)
    names = sorted(Path(r.path).name for r in ds.records)
    assert names == ["background.jpg", "p1.jpg", "p2.png"]
    skipped = ds.skipped
    assert len(skipped) == 3
    assert any("badcount.txt:2" in m and "expected 56 or 39" in m for m in skipped)
    assert any("outofrange.txt:1" in m and "out of range" in m for m in skipped)
    assert any("broken.jpg" in m for m in skipped)
    msgs = _warnings(caplog)
    for m in skipped:
        assert msgs.count(m) == 1
    assert any("3 sample(s) skipped" in m for m in msgs)


def test_yolo_targets_are_normalised_to_the_letterboxed_input(tiny):
    ds = build_dataset(tiny / "images" / "train", 64, augment=False)
    idx = [Path(r.path).name for r in ds.records].index("p1.jpg")
    image, targets, info = ds[idx]
    assert image.shape == (3, 64, 64) and image.dtype == torch.uint8
    assert targets.shape == (2, 6 + 51) and (targets[:, 0] == 0).all() and (targets[:, 1] == 0).all()
    t = info["transform"]  # 64x48 image into 64x64: scale 1, 8 px padding on top
    assert (t.scale, t.pad_x, t.pad_y) == (1.0, 0.0, 8.0) and info["orig_shape"] == (48, 64)
    first = targets[0].numpy()
    np.testing.assert_allclose(first[2:6], [0.5, (24 + 8) / 64, 0.5, 24 / 64], atol=1e-5)
    kp = first[6:].reshape(17, 3)
    np.testing.assert_allclose(kp[0], [0.5, 0.5, 2], atol=1e-5)
    np.testing.assert_allclose(kp[1], [0.4, (0.4 * 48 + 8) / 64, 1], atol=1e-5)
    assert (kp[5:] == 0).all()
    # labels without visibility: (0, 0) means unlabelled, anything else visible
    idx2 = [Path(r.path).name for r in ds.records].index("p2.png")
    kp2 = ds.records[idx2].keypoints[0]
    assert (kp2[:10, 2] == 2).all() and (kp2[10:] == 0).all()
    # images without a label file are background images
    idx3 = [Path(r.path).name for r in ds.records].index("background.jpg")
    assert ds[idx3][1].shape == (0, 57)


def test_coco_loader_ignores_crowd_in_training_but_keeps_it_in_gt(tiny, caplog):
    ds = build_dataset(tiny / "annotations" / "person_keypoints_train.json", 64, augment=False)
    assert ds.image_ids == [11, 12]
    assert any("annotations[4]" in m and "48 keypoint values" in m for m in ds.skipped)
    assert any("image 13" in m and "broken.jpg" in m for m in ds.skipped)
    p1 = ds.records[0]
    assert len(p1.boxes) == 1  # the crowd annotation is not a training target
    gt = ds.coco_gt
    assert sorted(im["id"] for im in gt["images"]) == [11, 12]
    assert any(a.get("iscrowd") for a in gt["annotations"])
    _, targets, info = ds[0]
    assert info["image_id"] == 11 and targets.shape[0] == 1


def test_yaml_and_folder_sources(tiny):
    train = build_dataset(tiny, 64, augment=True)
    val = build_dataset(tiny, 64, augment=False)
    assert train.spec.format == "yolo" and val.spec.format == "coco"
    assert train.flip_index is not None and len(train.flip_index) == 17
    assert val.image_ids == [11, 12]
    explicit = build_dataset(tiny / "data.yaml", 64, augment=False, split="train")
    assert explicit.spec.format == "yolo"


def test_label_cache_makes_restart_skip_parsing_and_notices_changes(tiny, tmp_path, caplog):
    cache = tmp_path / "cache"
    build_dataset(tiny / "images" / "train", 64, augment=True, cache_dir=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="yolopose.training.data")
    again = build_dataset(tiny / "images" / "train", 64, augment=True, cache_dir=cache)
    assert len(again) == 3 and len(again.skipped) == 3  # skipped samples are still reported
    assert any("outofrange.txt:1" in m for m in _warnings(caplog))
    # fix the bad label: the cache key changes and the image comes back
    (tiny / "labels" / "train" / "outofrange.txt").write_text("0 0.5 0.5 0.5 0.5" + " 0 0 0" * 17 + "\n")
    fixed = build_dataset(tiny / "images" / "train", 64, augment=True, cache_dir=cache)
    assert len(fixed) == 4 and len(fixed.skipped) == 2
    # a corrupt cache file is rebuilt, not trusted
    for f in cache.glob("*.npz"):
        f.write_bytes(b"garbage")
    assert len(build_dataset(tiny / "images" / "train", 64, augment=True, cache_dir=cache)) == 4


def test_default_cache_lives_next_to_the_labels(tiny):
    build_dataset(tiny / "annotations" / "person_keypoints_train.json", 64, augment=False)
    assert list((tiny / "annotations").glob("*.yolopose-cache*.npz"))


def test_augmented_items_and_collate(tiny):
    ds = build_dataset(tiny / "images" / "train", 64, augment=True)
    torch.manual_seed(0)
    batch = [ds[i % len(ds)] for i in range(4)]
    for image, targets, info in batch:
        assert image.shape == (3, 64, 64) and image.dtype == torch.uint8
        assert targets.shape[1] == 57
        if len(targets):
            assert (targets[:, 2:6] >= 0).all() and (targets[:, 2:6] <= 1).all()
            kp = targets[:, 6:].reshape(-1, 17, 3)
            assert ((kp[..., 2] == 0) | ((kp[..., :2] >= 0) & (kp[..., :2] <= 1)).all(-1)).all()
    images, targets, infos = collate(batch)
    assert images.shape == (4, 3, 64, 64) and len(infos) == 4
    counts = [len(b[1]) for b in batch]
    assert targets.shape[0] == sum(counts)
    expect = torch.cat([torch.full((c,), float(i)) for i, c in enumerate(counts)])
    assert torch.equal(targets[:, 0], expect)


def test_dataloader_yields_collated_batches(tiny):
    ds = build_dataset(tiny / "images" / "train", 64, augment=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, shuffle=True, num_workers=0, collate_fn=collate)
    images, targets, infos = next(iter(loader))
    assert images.shape == (2, 3, 64, 64) and len(infos) == 2


def test_coco_gt_of_yolo_labels_scores_itself_perfectly(tiny):
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    coco_mod = pytest.importorskip("pycocotools.coco")
    ds = build_dataset(tiny / "images" / "train", 64, augment=False)
    gt = coco_mod.COCO()
    gt.dataset = ds.coco_gt
    gt.createIndex()
    dets = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0,
             "bbox": a["bbox"]} for a in ds.coco_gt["annotations"] if a["num_keypoints"] > 0]
    ev = cocoeval.COCOeval(gt, gt.loadRes(dets), "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_bad_sources_raise_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        build_dataset(tmp_path / "missing", 64, augment=True)
    bad = tmp_path / "person_keypoints_x.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="person_keypoints_x.json"):
        build_dataset(bad, 64, augment=True)
    (tmp_path / "images" / "x").mkdir(parents=True)
    bad.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(DatasetError, match="no usable images"):
        build_dataset(bad, 64, augment=True)
    y = tmp_path / "d.yaml"
    y.write_text("train: nowhere\n")
    with pytest.raises(DatasetError, match="'val'"):
        build_dataset(y, 64, augment=False)


def test_synth_folder_is_a_source(tmp_path):
    from yolopose.training.synth import write_dataset

    write_dataset(tmp_path / "syn", train=4, val=2, imgsz=64, seed=0, preview=0)
    train = build_dataset(tmp_path / "syn", 64, augment=True, cache_dir=tmp_path / "c")
    val = build_dataset(tmp_path / "syn", 64, augment=False, cache_dir=tmp_path / "c")
    assert len(train) == 4 and len(val) == 2 and val.spec.format == "coco"
    assert val.coco_gt["categories"][0]["name"] == "person"
    assert os.path.basename(val[1][2]["path"]) == "000002.jpg" and val[1][2]["image_id"] == 2


def test_image_that_fails_to_decode_during_training_is_replaced_and_reported(tmp_path, caplog):
    from PIL import Image

    from yolopose.training.data import AugmentHyp

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "images" / f"{name}.jpg")
    data = (root / "images" / "b.jpg").read_bytes()
    (root / "images" / "b.jpg").write_bytes(data[: len(data) // 2])  # header intact, data cut
    caplog.set_level(logging.WARNING, logger="yolopose.training.data")
    ds = build_dataset(root / "images", 64, augment=True, hyp=AugmentHyp(mosaic=0.0), cache_dir=tmp_path / "c")
    assert len(ds) == 2  # the header check cannot see it
    idx = [Path(r.path).name for r in ds.records].index("b.jpg")
    for _ in range(3):
        image, _, info = ds[idx]
        assert Path(info["path"]).name == "a.jpg" and image.shape == (3, 64, 64)
    assert len(ds.skipped) == 1 and "b.jpg" in ds.skipped[0]
    assert sum("b.jpg" in m for m in _warnings(caplog)) == 1
    # a validation set decodes everything up front and leaves the broken image out
    val = build_dataset(root / "images", 64, augment=False, cache_dir=tmp_path / "c")
    assert [Path(r.path).name for r in val.records] == ["a.jpg"]


# ---------------------------------------------------------------------- the dataset-format registry
def _example_records(folder: Path):
    """Two images: two people (one keypoint not labelled, one labelled but hidden), and none."""
    from PIL import Image

    from yolopose.training.data import ImageRecord

    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    records = []
    for i, (w, h, people) in enumerate([(80, 60, 2), (64, 48, 0)], start=1):
        path = folder / f"im{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        boxes = np.array([[4, 6, 40, 50], [30, 10, 76, 58]], np.float32)[:people]
        kpts = np.zeros((people, 17, 3), np.float32)
        for n, (x1, y1, x2, y2) in enumerate(boxes):
            kpts[n, :, 0] = np.linspace(x1 + 1, x2 - 1, 17)
            kpts[n, :, 1] = np.linspace(y1 + 1, y2 - 1, 17)
            kpts[n, :, 2] = 2
        if people:
            kpts[0, 3] = 0  # not labelled: x = y = 0
            kpts[1, 5, 2] = 1  # labelled, hidden
        records.append(ImageRecord(str(path), i, h, w, boxes, kpts))
    return records


@pytest.mark.parametrize("name", list_dataset_formats())
def test_every_dataset_format_reads_back_what_it_writes(name, tmp_path):
    """Each registered format, through its own ``write``: the labels and the dataset folder both
    resolve to it, the records come back (pixels within 1e-3 of the originals), and its ground
    truth holds every image and person. A new format passes without editing this test."""
    from yolopose.training.data import SkipLog, get_dataset_format, resolve_source
    from yolopose.training.data.sources import load_records

    fmt = get_dataset_format(name)
    original = _example_records(tmp_path / "src")
    labels = fmt.write(original, tmp_path / name, "val")
    for source in (labels, tmp_path / name):
        spec = resolve_source(source, "val")
        assert spec.format == name, source
        log = SkipLog()
        records, k = load_records(spec, log, cache_dir=tmp_path / "cache")
        assert k == 17 and log.messages == []
        got = {Path(r.path).name: r for r in records}
        assert sorted(got) == ["im1.png", "im2.png"]
        for want in original:
            rec = got[Path(want.path).name]
            assert (rec.height, rec.width) == (want.height, want.width)
            np.testing.assert_allclose(rec.boxes, want.boxes, atol=1e-3)
            np.testing.assert_allclose(rec.keypoints, want.keypoints, atol=1e-3)
    gt = fmt.ground_truth(spec, records, k)
    assert len(gt["images"]) == 2 and len(gt["annotations"]) == 2
    assert gt["categories"][0]["name"] == "person" and len(gt["categories"][0]["keypoints"]) == 17
