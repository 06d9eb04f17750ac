"""yolopose.core.evaluation: the numpy backend against pycocotools run directly, and input checks."""
from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from yolopose.core import evaluation
from yolopose.core.errors import ConfigError, DatasetError
from yolopose.core.keypoints import COCO_OKS_SIGMAS

SIGMAS = np.array(COCO_OKS_SIGMAS)


def _person(rng: np.random.Generator, ann_id: int, image_id: int, crowd: bool = False) -> dict:
    w, h = rng.uniform(8, 180, 2)
    x, y = rng.uniform(0, 300, 2)
    k = np.zeros((17, 3))
    k[:, 0] = x + rng.uniform(0, w, 17)
    k[:, 1] = y + rng.uniform(0, h, 17)
    k[:, 2] = rng.choice([0, 1, 2], 17, p=[0.25, 0.15, 0.6])
    k[k[:, 2] == 0, :2] = 0
    if rng.random() < 0.05:  # a person with no labelled keypoint
        k[:] = 0
    return {
        "id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [x, y, w, h],
        "area": float(w * h * rng.uniform(0.4, 1.0)), "iscrowd": int(crowd),
        "keypoints": k.ravel().tolist(), "num_keypoints": int((k[:, 2] > 0).sum()),
    }


def _dataset(seed: int, n_images: int = 25):
    """Ground truth and noisy detections (good, poor, duplicated and spurious ones, tied scores)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 480, "height": 400, "file_name": f"{i}.jpg"} for i in range(n_images)]
    anns, results = [], []
    for img in images:
        for _ in range(int(rng.integers(0, 6))):
            gt = _person(rng, len(anns) + 1, img["id"], crowd=rng.random() < 0.05)
            anns.append(gt)
            k = np.asarray(gt["keypoints"]).reshape(17, 3)
            x, y, w, h = gt["bbox"]
            for _ in range(int(rng.integers(0, 3))):
                noise = rng.uniform(0.5, 12)
                kk = k.copy()
                kk[:, 0] = np.where(k[:, 2] > 0, k[:, 0], x + w / 2) + rng.normal(0, noise, 17)
                kk[:, 1] = np.where(k[:, 2] > 0, k[:, 1], y + h / 2) + rng.normal(0, noise, 17)
                kk[:, 2] = rng.random(17)
                box = [x + rng.normal(0, 3), y + rng.normal(0, 3), w * rng.uniform(0.8, 1.2), h * rng.uniform(0.8, 1.2)]
                results.append({"image_id": img["id"], "category_id": 1, "bbox": box,
                                "score": float(np.round(rng.random(), 2)), "keypoints": kk.ravel().tolist()})
        for _ in range(int(rng.integers(0, 3))):  # false positives
            results.append({"image_id": img["id"], "category_id": 1, "bbox": rng.uniform(1, 150, 4).tolist(),
                            "score": float(rng.random()), "keypoints": rng.uniform(0, 400, 51).tolist()})
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    return gt, results


def _pycocotools_stats(gt: dict, results: list, iou_type: str) -> np.ndarray:
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        e = COCOeval(coco_gt, coco_dt, iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return np.asarray(e.stats)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_numpy_backend_matches_pycocotools(seed):
    gt, results = _dataset(seed)
    ours = evaluation.evaluate(gt, results, backend="numpy")
    kp = _pycocotools_stats(gt, results, "keypoints")
    box = _pycocotools_stats(gt, results, "bbox")
    np.testing.assert_allclose([ours[n] for n in evaluation.KEYPOINT_METRICS], kp, rtol=0, atol=1e-12)
    np.testing.assert_allclose([ours[n] for n in evaluation.BOX_METRICS], box, rtol=0, atol=1e-12)
    assert 0.05 < ours["AP"] < 0.95 and 0.05 < ours["box_AP"] < 0.95  # a non-trivial case


def _resampled(gt: dict, results: list, ids: list):
    """The ground truth and results of images ``ids`` (repeats allowed), each copy a new image."""
    images = {im["id"]: im for im in gt["images"]}
    new_gt = {**gt, "images": [], "annotations": []}
    new_results = []
    for new_id, old_id in enumerate(ids, 1):
        new_gt["images"].append({**images[old_id], "id": new_id})
        new_gt["annotations"] += [{**a, "id": len(new_gt["annotations"]) + j + 1, "image_id": new_id}
                                  for j, a in enumerate(x for x in gt["annotations"] if x["image_id"] == old_id)]
        new_results += [{**r, "image_id": new_id} for r in results if r["image_id"] == old_id]
    return new_gt, new_results


@pytest.mark.parametrize("backend", ["numpy", "pycocotools"])
def test_per_image_evaluation_of_a_resample_equals_evaluating_the_resampled_set(backend):
    if backend == "pycocotools":
        pytest.importorskip("pycocotools")
    gt, results = _dataset(4, n_images=15)
    per_image = evaluation.evaluate_per_image(gt, results, backend=backend)
    assert per_image.image_ids == tuple(range(1, 16))
    assert per_image.metrics() == evaluation.evaluate(gt, results, backend=backend)
    drawn = [3, 3, 0, 14, 7, 7, 7, 2, 11, 5, 5, 9, 1, 13, 6]  # positions in image_ids, with repeats
    slow = evaluation.evaluate(*_resampled(gt, results, [per_image.image_ids[i] for i in drawn]), backend=backend)
    fast = per_image.metrics(drawn)
    assert fast.keys() == slow.keys()
    np.testing.assert_allclose([fast[k] for k in slow], [slow[k] for k in slow], rtol=0, atol=1e-12)
    assert fast["AP"] != per_image.metrics()["AP"]  # the resample is another split


def test_keypoint_only_results_use_keypoint_extent_like_pycocotools():
    gt, results = _dataset(5)
    kp_only = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    ours = evaluation.evaluate(gt, kp_only, iou_types=("keypoints",), backend="numpy")
    np.testing.assert_allclose([ours[n] for n in evaluation.KEYPOINT_METRICS], _pycocotools_stats(gt, kp_only, "keypoints"), atol=1e-12)


def test_pycocotools_backend_agrees_and_perfect_results_score_one(tmp_path):
    gt, results = _dataset(7)
    a = evaluation.evaluate(gt, results, backend="numpy")
    b = evaluation.evaluate(gt, results, backend="pycocotools") if "pycocotools" in evaluation.available_backends() else a
    assert a == pytest.approx(b, abs=1e-12)
    def perfect(anns):
        return [{"image_id": g["image_id"], "category_id": 1, "bbox": g["bbox"], "score": 1.0, "keypoints": g["keypoints"]} for g in anns]

    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    people = [g for g in gt["annotations"] if not g["iscrowd"]]
    m = evaluation.evaluate(path, perfect([g for g in people if g["num_keypoints"] > 0]), iou_types=("keypoints",), backend="numpy")
    assert m["AP"] == pytest.approx(1.0) and m["AR"] == pytest.approx(1.0)
    m = evaluation.evaluate(path, perfect(people), iou_types=("bbox",), backend="numpy")
    assert m["box_AP"] == pytest.approx(1.0) and "AP" not in m


def test_no_results_gives_zero_ap():
    gt, _ = _dataset(3)
    for backend in evaluation.available_backends():
        m = evaluation.evaluate(gt, [], backend=backend)
        assert m["AP"] == 0.0 and m["box_AP"] == 0.0


def test_bad_inputs_raise_clear_errors(tmp_path):
    gt, results = _dataset(1)
    with pytest.raises(DatasetError, match="not found"):
        evaluation.evaluate(tmp_path / "missing.json", results)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="bad.json"):
        evaluation.evaluate(bad, results)
    with pytest.raises(ConfigError, match="image_id 999"):
        evaluation.evaluate(gt, [dict(results[0], image_id=999)])
    with pytest.raises(ConfigError, match="keypoint values"):
        evaluation.evaluate(gt, [dict(results[0], keypoints=[1, 2, 3])])
    with pytest.raises(ConfigError, match="backend"):
        evaluation.evaluate(gt, results, backend="matlab")
    broken = copy.deepcopy(gt)
    broken["annotations"][0]["bbox"] = [1, 2]
    with pytest.raises(DatasetError, match=r"annotations\[0\] \(id 1\): field .bbox.: a list of 2 items"):
        evaluation.evaluate(broken, results)


def test_other_keypoint_counts_default_to_the_shared_sigmas():
    from yolopose.core.keypoints import oks_sigmas

    gt, results = _dataset(2)
    for a in gt["annotations"]:
        a["keypoints"] = a["keypoints"][:15]
    five = [dict(r, keypoints=r["keypoints"][:15]) for r in results]
    default = evaluation.evaluate(gt, five, iou_types=("keypoints",), backend="numpy")
    assert default == evaluation.evaluate(gt, five, iou_types=("keypoints",), backend="numpy", sigmas=oks_sigmas(5))
    m = evaluation.evaluate(gt, five, iou_types=("keypoints",), backend="numpy", sigmas=SIGMAS[:5])
    assert 0.0 <= m["AP"] <= 1.0 and m != default
    with pytest.raises(ConfigError, match="4 OKS sigmas for 5 keypoints"):
        evaluation.evaluate(gt, five, iou_types=("keypoints",), sigmas=SIGMAS[:4])


def test_pycocotools_missing_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pycocotools(name, *args, **kwargs):
        if name.startswith("pycocotools"):
            raise ImportError("no pycocotools")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pycocotools)
    gt, results = _dataset(0)
    assert evaluation.available_backends() == ("numpy",)
    with pytest.raises(ImportError, match=r'pip install "yolopose\[eval\]"'):
        evaluation.evaluate(gt, results, backend="pycocotools")


def test_format_metrics_lists_both_rows():
    gt, results = _dataset(0)
    text = evaluation.format_metrics(evaluation.evaluate(gt, results, backend="numpy"))
    assert "keypoints" in text and "box" in text and "AP50" in text


def test_oks_sigmas_have_one_default_for_every_user():
    """Evaluation, tracking and the loss share one default for non-COCO keypoint layouts."""
    from yolopose.core.keypoints import COCO_OKS_SIGMAS, oks_sigmas
    from yolopose.core.oks import oks_matrix

    assert oks_sigmas(17) == COCO_OKS_SIGMAS
    five = oks_sigmas(5)
    assert len(five) == 5 and five[0] == pytest.approx(np.mean(COCO_OKS_SIGMAS))
    a = np.zeros((1, 5, 3))
    a[..., 2] = 1.0
    b = a.copy()
    b[..., 0] += 3.0
    got, _ = oks_matrix(a, b, np.array([100.0]))
    want, _ = oks_matrix(a, b, np.array([100.0]), sigmas=five)
    assert got == pytest.approx(want) and 0 < got[0, 0] < 1


def test_one_oks_for_evaluation_tracking_and_export():
    """COCO's keypoint matching, the tracker's similarity and the exporter's agreement are one
    formula (yolopose.core.oks.oks_terms): on labelled keypoints they give the same OKS."""
    from yolopose.core.evaluation import _numpy_cocoeval as port
    from yolopose.core.oks import oks_matrix, oks_pairs

    rng = np.random.default_rng(3)
    truth = np.concatenate([rng.uniform(0, 200, (2, 17, 2)), np.ones((2, 17, 1))], axis=-1)
    pred = truth.copy()
    pred[..., :2] += rng.normal(0, 4, (2, 17, 2))
    area = np.array([3000.0, 5000.0])
    gt = port._as_objects([{"bbox": [0, 0, 10, 10], "area": a, "keypoints": t.ravel().tolist(), "num_keypoints": 17}
                           for a, t in zip(area, truth)], True, "keypoints", 51)
    dt = port._as_objects([{"bbox": [0, 0, 10, 10], "area": 1.0, "keypoints": p.ravel().tolist(), "score": 1.0}
                           for p in pred], False, "keypoints", 51)
    coco = port._oks(dt, gt, np.asarray(COCO_OKS_SIGMAS))  # (D, G)
    tracked, counted = oks_matrix(truth, pred, area)  # (G, D)
    np.testing.assert_allclose(coco, tracked.T, rtol=1e-12)
    assert (counted == 17).all()
    pairs, _ = oks_pairs(truth, pred, area)
    np.testing.assert_allclose(pairs, np.diag(tracked), rtol=1e-12)
