"""The validator: mapping to original pixels, and an end-to-end run in which a
fixed-output "oracle" network that encodes the ground truth must score AP ~ 1."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from conftest import encode  # noqa: E402

from yolopose.core.ops import EVAL_POSTPROCESS, Candidates, LetterboxTransform  # noqa: E402
from yolopose.training.data import build_dataset, collate  # noqa: E402
from yolopose.training.models import create_model, get_config  # noqa: E402
from yolopose.training.synth import write_dataset  # noqa: E402
from yolopose.training.validator import Validator, coco_results  # noqa: E402

IMGSZ = 128


def _cands(boxes, scores, k=17):
    boxes = np.asarray(boxes, np.float32)
    n = len(boxes)
    kp = np.zeros((n, k, 3), np.float32)
    kp[..., 0] = boxes[:, :1]
    kp[..., 1] = boxes[:, 1:2]
    kp[..., 2] = 0.5
    return Candidates(boxes, np.asarray(scores, np.float32), kp, np.zeros(n, np.int64))


def test_coco_results_are_in_original_pixels():
    t = LetterboxTransform(scale=0.5, pad_x=0.0, pad_y=16.0, src_shape=(192, 256), dst_shape=(128, 128))
    c = _cands([[10, 26, 30, 66]], [0.75])
    c.keypoints[0, 3] = (20, 36, 0.9)
    (res,) = coco_results(c, t, image_id=7, category_ids=[1])
    assert res["image_id"] == 7 and res["category_id"] == 1 and res["score"] == pytest.approx(0.75)
    assert res["bbox"] == pytest.approx([20, 20, 40, 80])
    assert res["keypoints"][9:12] == pytest.approx([40, 40, 0.9])
    assert len(res["keypoints"]) == 51


class _Oracle(torch.nn.Module):
    """Raw head outputs that decode exactly to the letterboxed ground truth of each batch."""

    def __init__(self, dataset, batch: int) -> None:
        super().__init__()
        cfg = get_config("yolov5n-pose")
        self.strides, self.anchors, self.num_keypoints, self.num_classes = cfg.strides, cfg.anchors, 17, 1
        self.dataset, self.batch, self.calls = dataset, batch, 0

    def forward(self, x):
        b = x.shape[0]
        h, w = x.shape[2:]
        na, k = len(self.anchors[0]), self.num_keypoints
        outs = [
            (torch.full((b, na * 6, h // s, w // s), -12.0), torch.zeros((b, na * 2 * k, h // s, w // s)), torch.full((b, na * k, h // s, w // s), -6.0))
            for s in self.strides
        ]
        for j in range(b):
            targets = self.dataset[self.calls * self.batch + j][1]
            for row in targets.tolist():
                cx, cy, bw, bh = (v * IMGSZ for v in row[2:6])
                kp = np.asarray(row[6:]).reshape(k, 3)
                # the anchor (over all levels) closest in shape
                lvl, a = min(
                    ((li, ai) for li in range(len(self.strides)) for ai in range(na)),
                    key=lambda la: abs(math.log(bw / self.anchors[la[0]][la[1]][0])) + abs(math.log(bh / self.anchors[la[0]][la[1]][1])),
                )
                s = self.strides[lvl]
                aw, ah = self.anchors[lvl][a]
                gx, gy = int(cx // s), int(cy // s)
                det, kxy, kconf = outs[lvl]
                t, raw_kpts = encode((cx, cy, bw, bh), kp[:, :2] * IMGSZ, (gx, gy), s, (aw, ah))
                det[j, a * 6 : a * 6 + 6, gy, gx] = torch.tensor([*t, 8.0, 8.0])
                kxy[j, a * 2 * k : (a + 1) * 2 * k, gy, gx] = torch.from_numpy(raw_kpts.ravel()).float()
                for i in range(k):
                    kconf[j, a * k + i, gy, gx] = 6.0 if kp[i, 2] > 0 else -6.0
        self.calls += 1
        return outs


@pytest.fixture(scope="module")
def val_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, train=1, val=6, imgsz=160, seed=11, workers=1, preview=0)  # letterboxed down to 128
    return build_dataset(out, IMGSZ, augment=False, split="val")


def test_oracle_network_scores_ap_one(val_set):
    validator = Validator(val_set, collate, batch=4, workers=0, progress=False)
    result = validator(_Oracle(val_set, batch=4))
    gt_people = sum(1 for a in val_set.coco_gt["annotations"] if not a.get("iscrowd"))
    assert gt_people > 0 and len(result.results) >= 0.9 * gt_people
    assert result.metrics["AP"] > 0.9, result.metrics
    assert result.metrics["box_AP"] > 0.85, result.metrics
    assert result.fitness > 0.9
    assert "keypoints" in result.table()


def test_untrained_model_validates_end_to_end(val_set):
    model = create_model("yolov5n-pose-lite")
    result = Validator(val_set, collate, batch=3, workers=0, progress=False, postprocess=EVAL_POSTPROCESS.with_values(max_det=50))(model)
    assert set(result.metrics) >= {"AP", "AP50", "AP75", "APm", "APl", "AR", "box_AP", "box_AP50"}
    assert all(-1.0 <= v <= 1.0 for v in result.metrics.values())
    assert model.training  # the validator restores the mode it found
    per_image = {}
    for r in result.results:
        per_image[r["image_id"]] = per_image.get(r["image_id"], 0) + 1
    assert max(per_image.values(), default=0) <= 50
