"""The YOLO-Pose loss: CIoU, OKS, target assignment and the whole criterion."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from conftest import encode  # noqa: E402

from yolopose.core.errors import ConfigError  # noqa: E402
from yolopose.core.keypoints import COCO_OKS_SIGMAS  # noqa: E402
from yolopose.training.loss import LossHyp, PoseLoss, bbox_ciou, keypoint_l1_loss, keypoint_sigmas, oks_loss  # noqa: E402
from yolopose.training.models import create_model  # noqa: E402

K = 17
SIGMAS = keypoint_sigmas(K)


def _box(*rows):
    return torch.tensor(rows, dtype=torch.float32)


# ---------------------------------------------------------------------- CIoU
def test_ciou_perfect_is_one():
    b = _box([3.0, 4.0, 2.0, 5.0], [0.2, 0.7, 1.5, 0.5])
    assert torch.allclose(1 - bbox_ciou(b, b), torch.zeros(2), atol=1e-6)


def test_ciou_loss_grows_with_centre_and_size_error():
    target = _box([5.0, 5.0, 2.0, 3.0])
    shifts = [0.0, 0.1, 0.3, 0.7, 1.5, 3.0, 6.0]  # beyond 3 the boxes no longer overlap
    losses = [float(1 - bbox_ciou(_box([5.0 + d, 5.0, 2.0, 3.0]), target)) for d in shifts]
    assert all(a < b for a, b in zip(losses, losses[1:])), losses
    scales = [1.0, 1.1, 1.5, 2.0, 4.0]
    losses = [float(1 - bbox_ciou(_box([5.0, 5.0, 2.0 * f, 3.0 * f]), target)) for f in scales]
    assert all(a < b for a, b in zip(losses, losses[1:])), losses
    # the aspect-ratio term: same area, other shape, costs more than plain 1 - IoU
    pred = _box([5.0, 5.0, 3.0, 2.0])
    assert float(1 - bbox_ciou(pred, target)) > 1 - (2 * 2) / (6 + 6 - 4) + 1e-3


def test_ciou_value_by_hand():
    # two unit squares offset by 0.5 in x: IoU = 0.5 / 1.5, enclosing box 1.5 x 1, same aspect
    p, t = _box([0.5, 0.5, 1.0, 1.0]), _box([1.0, 0.5, 1.0, 1.0])
    expected = 1 / 3 - 0.25 / (1.5**2 + 1.0)
    assert float(bbox_ciou(p, t)) == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------- OKS
def _instances(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, K, 2, generator=g) * 4
    visible = torch.ones(n, K, dtype=torch.bool)
    area = torch.full((n,), 6.0)
    return target, visible, area


def test_oks_zero_for_perfect_prediction():
    target, visible, area = _instances()
    assert float(oks_loss(target.clone(), target, visible, area, SIGMAS)) == pytest.approx(0.0, abs=1e-7)


def test_oks_monotone_in_keypoint_error():
    target, visible, area = _instances()
    direction = torch.nn.functional.normalize(torch.randn(target.shape, generator=torch.Generator().manual_seed(1)), dim=-1)
    losses = [float(oks_loss(target + e * direction, target, visible, area, SIGMAS)) for e in (0, 0.05, 0.1, 0.3, 1, 3)]
    assert losses[0] == pytest.approx(0, abs=1e-7)
    assert all(a < b for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] <= 1.0  # bounded: it saturates at 1


def test_oks_value_by_hand():
    target = torch.zeros(1, K, 2)
    pred = target.clone()
    pred[0, 5, 0] = 0.3  # only left_shoulder off, by 0.3
    visible = torch.ones(1, K, dtype=torch.bool)
    area = torch.tensor([2.0])
    sigma = COCO_OKS_SIGMAS[5]
    expected = (1 - math.exp(-0.09 / (2.0 * 4 * sigma**2))) / K
    assert float(oks_loss(pred, target, visible, area, SIGMAS)) == pytest.approx(expected, rel=1e-5)


def test_invisible_keypoints_add_nothing():
    target, visible, area = _instances()
    visible[:, ::2] = False
    pred = target + 0.2
    base = float(oks_loss(pred, target, visible, area, SIGMAS))
    wild = pred.clone()
    wild[~visible] += 100.0  # invisible keypoints predicted anywhere
    assert float(oks_loss(wild, target, visible, area, SIGMAS)) == pytest.approx(base, rel=1e-6)
    assert base > 0


def test_visible_count_scaling():
    """An instance with few visible keypoints weighs the same per keypoint: the loss is the mean
    over visible keypoints, i.e. (n K / n_visible) * mean(term * visible)."""
    target, visible, area = _instances(n=2)
    pred = target + 0.25
    full = float(oks_loss(pred, target, visible, area, SIGMAS))
    d_all = ((pred - target) ** 2).sum(-1)
    assert full == pytest.approx(float((1 - torch.exp(-d_all / (area[:, None] * 4 * SIGMAS**2 + 1e-9))).mean()), rel=1e-6)
    few = visible.clone()
    few[:, 3:] = False  # 3 of 17 visible
    d = ((pred - target) ** 2).sum(-1)
    term = 1 - torch.exp(-d / (area[:, None] * 4 * SIGMAS**2 + 1e-9))
    paper = float((2 * K / few.sum()) * (term * few).mean())
    assert float(oks_loss(pred, target, few, area, SIGMAS)) == pytest.approx(paper, rel=1e-6)
    assert float(oks_loss(pred, target, few, area, SIGMAS)) == pytest.approx(float(term[:, :3].mean()), rel=1e-6)
    # same error on every keypoint -> the same loss whatever the number visible
    same = torch.zeros(2, K, 2)
    shifted = same + 0.1
    sig = torch.full((K,), 0.05)
    assert float(oks_loss(shifted, same, few, area, sig)) == pytest.approx(float(oks_loss(shifted, same, visible, area, sig)))
    # nothing visible: zero, not NaN
    none = torch.zeros_like(visible)
    assert float(oks_loss(pred, target, none, area, SIGMAS)) == 0.0


# ---------------------------------------------------------------------- assignment
def _toy(anchors, strides=(8, 16, 32), k=K):
    """A stand-in with just what PoseLoss reads; the loss is independent of the network."""
    return SimpleNamespace(strides=strides, anchors=anchors, num_keypoints=k, num_classes=1)


TOY_ANCHORS = (((8, 8), (40, 40)), ((16, 16), (64, 64)), ((64, 64), (128, 128)))


def _raw(model, batch, h, w):
    na, k, nc = len(model.anchors[0]), model.num_keypoints, model.num_classes
    return [
        (torch.zeros(batch, na * (5 + nc), h // s, w // s), torch.zeros(batch, na * 2 * k, h // s, w // s),
         torch.zeros(batch, na * k, h // s, w // s))
        for s in model.strides
    ]


def _target(image, cx, cy, w, h, kpts=(), size=64.0, k=K):
    row = torch.zeros(6 + 3 * k)
    row[0], row[2:6] = image, torch.tensor([cx, cy, w, h]) / size
    for j, (x, y) in kpts:
        row[6 + 3 * j : 9 + 3 * j] = torch.tensor([x / size, y / size, 2.0])
    return row


def _cells(lt):
    return sorted(zip(lt.anchor.tolist(), lt.gx.tolist(), lt.gy.tolist()))


def test_assignment_hand_built():
    toy = _toy(TOY_ANCHORS)
    crit = PoseLoss(toy)
    # centre (19, 45) px, 16 x 16 px, one keypoint at (24, 40) px; input 64 x 64
    t = _target(0, 19, 45, 16, 16, kpts=[(0, (24, 40))])[None]
    l0, l1, l2 = crit.build_targets(_raw(toy, 1, 64, 64), t)
    # stride 8: centre (2.375, 5.625) grid; box 2x2 fits anchors 1x1 and 5x5 (ratios 2, 2.5 < 4);
    # x is in the left half of its cell -> left neighbour; y in the lower half -> cell below
    assert _cells(l0) == [(0, 1, 5), (0, 2, 5), (0, 2, 6), (1, 1, 5), (1, 2, 5), (1, 2, 6)]
    centre = (l0.anchor == 0) & (l0.gx == 2) & (l0.gy == 5)
    torch.testing.assert_close(l0.box[centre], torch.tensor([[0.375, 0.625, 2.0, 2.0]]))
    left = (l0.anchor == 0) & (l0.gx == 1) & (l0.gy == 5)
    torch.testing.assert_close(l0.box[left], torch.tensor([[1.375, 0.625, 2.0, 2.0]]))
    torch.testing.assert_close(l0.kpt_xy[centre][0, 0], torch.tensor([1.0, 0.0]))  # (3, 5) - (2, 5)
    assert l0.kpt_visible[centre][0].tolist() == [True] + [False] * (K - 1)
    torch.testing.assert_close(l0.anchor_wh[l0.anchor == 1][0], torch.tensor([5.0, 5.0]))
    # stride 16: box 1x1 grid; anchor 4x4 has ratio exactly 4 -> not matched
    assert _cells(l1) == [(0, 0, 2), (0, 1, 2), (0, 1, 3)]
    # stride 32: box 0.5 grid vs anchors 2 and 4 -> nothing
    assert len(l2.image) == 0


def test_assignment_edges_and_images():
    toy = _toy(TOY_ANCHORS)
    crit = PoseLoss(toy)
    # centre in the top-left cell: no neighbour on the left/top exists (gxy > 1 fails)
    t = torch.stack([_target(1, 3, 3, 8, 8), _target(0, 60, 60, 8, 8)])
    l0 = crit.build_targets(_raw(toy, 2, 64, 64), t)[0]
    first = l0.image == 1
    assert _cells(SimpleNamespace(anchor=l0.anchor[first], gx=l0.gx[first], gy=l0.gy[first])) == [(0, 0, 0)]
    # centre (7.5, 7.5) grid: exactly half -> no neighbours either side, stays in the last cell
    last = l0.image == 0
    assert sorted(zip(l0.gx[last].tolist(), l0.gy[last].tolist())) == [(7, 7)]


# ---------------------------------------------------------------------- the criterion
def test_perfect_prediction_has_zero_box_and_keypoint_terms():
    """Write the inverse of the decode into the assigned cells: box and OKS terms vanish."""
    toy = _toy(TOY_ANCHORS)
    crit = PoseLoss(toy)
    kpts = [(j, (10 + 2 * j, 30 + j)) for j in range(K)]
    t = _target(0, 19, 45, 16, 16, kpts=kpts)[None]
    raw = _raw(toy, 1, 64, 64)
    for (det, kxy, _), lt in zip(raw, crit.build_targets(raw, t)):
        det = det.view(1, 2, 6, *det.shape[2:])
        kxy = kxy.view(1, 2, 2 * K, *kxy.shape[2:])
        for i in range(len(lt.image)):
            a, gy, gx = int(lt.anchor[i]), int(lt.gy[i]), int(lt.gx[i])
            # box and keypoints relative to the cell, in grid units: a cell at (0, 0) with stride 1
            box_logits, raw_kpts = encode(lt.box[i].tolist(), lt.kpt_xy[i].reshape(-1, 2).numpy(), (0, 0), 1, lt.anchor_wh[i].tolist())
            det[0, a, :4, gy, gx] = torch.tensor(box_logits)
            kxy[0, a, :, gy, gx] = torch.from_numpy(raw_kpts.ravel()).float()
    total, terms = crit(raw, t)
    assert terms["box"] == pytest.approx(0.0, abs=1e-5)
    assert terms["kpt"] == pytest.approx(0.0, abs=1e-6)
    assert terms["obj"] > 0 and terms["kpt_conf"] > 0 and terms["cls"] == 0.0
    assert float(total.detach()) == pytest.approx(sum(terms.values()), rel=1e-6)  # batch of 1
    # moving every keypoint prediction away raises the keypoint term
    for _, kxy, _ in raw:
        kxy += 0.05
    assert crit(raw, t)[1]["kpt"] > 1e-4


def _batch(k=K):
    g = torch.Generator().manual_seed(0)
    rows = []
    for img, (cx, cy, w, h) in [(0, (30, 34, 20, 40)), (0, (12, 14, 10, 12)), (1, (40, 20, 30, 24))]:
        kp = [(j, (cx + float(torch.randn(1, generator=g)) * w / 4, cy + float(torch.randn(1, generator=g)) * h / 4)) for j in range(k)]
        row = _target(img, cx, cy, w, h, kpts=kp, k=k)
        row[6 + 3 * 4 + 2] = 0  # one unlabelled keypoint
        row[6 + 3 * 4 : 6 + 3 * 4 + 2] = 0
        rows.append(row)
    return torch.rand(3, 3, 64, 64, generator=g), torch.stack(rows)  # image 2 has no people


def test_total_is_batch_times_weighted_terms_and_weights_apply():
    torch.manual_seed(0)
    model = create_model("yolov5n-pose-lite")
    x, t = _batch()
    raw = model(x)
    total, terms = PoseLoss(model)(raw, t)
    assert set(terms) == set(PoseLoss.TERMS) == {"box", "obj", "cls", "kpt", "kpt_conf", "kpt_l1"}
    assert terms["kpt_l1"] == 0.0  # off by default: the paper's loss
    assert float(total.detach()) == pytest.approx(3 * sum(terms.values()), rel=1e-5)
    doubled = PoseLoss(model, LossHyp(kpt=0.2, box=0.1))(raw, t)[1]
    assert doubled["kpt"] == pytest.approx(2 * terms["kpt"], rel=1e-5)
    assert doubled["box"] == pytest.approx(2 * terms["box"], rel=1e-5)
    assert doubled["obj"] == pytest.approx(terms["obj"], rel=1e-6)


@pytest.mark.slow
def test_a_few_steps_lower_the_loss():
    """Gradient steps on one batch lower the loss (a few: the objectness target is the detached
    IoU of the prediction, so it moves with the weights and one step alone may not)."""
    torch.manual_seed(0)
    model = create_model("yolov5n-pose-lite")
    x, t = _batch()
    crit = PoseLoss(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.002)
    before = float(crit(model(x), t)[0].detach())
    for _ in range(10):
        loss, _ = crit(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after, _ = crit(model(x), t)
    assert float(after) < before


@pytest.mark.parametrize("case", ["empty", "no_people_in_one_image"])
def test_gradients_finite(case):
    torch.manual_seed(0)
    model = create_model("yolov5n-pose-lite")
    x, t = _batch()
    if case == "empty":
        t = torch.zeros((0, 6 + 3 * K))
    total, terms = PoseLoss(model)(model(x), t)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(total)
    if case == "empty":
        assert terms["box"] == terms["kpt"] == terms["kpt_conf"] == 0.0 and terms["obj"] > 0


def test_bad_targets_are_config_errors():
    model = create_model("yolov5n-pose-lite")
    x, t = _batch()
    raw = model(x)
    crit = PoseLoss(model)
    with pytest.raises(ConfigError, match=r"5 keypoints.*17 keypoints"):
        crit(raw, torch.zeros(2, 6 + 3 * 5))
    with pytest.raises(ConfigError, match="outside the batch of 3"):
        bad = t.clone()
        bad[0, 0] = 3
        crit(raw, bad)
    with pytest.raises(ConfigError, match="class ids"):
        bad = t.clone()
        bad[0, 1] = 1
        crit(raw, bad)
    with pytest.raises(ConfigError, match="expected 3 output levels|expects 3 output levels"):
        crit(raw[:2], t)
    other = create_model("yolov5n-pose-lite", num_keypoints=5)
    with pytest.raises(ConfigError, match="channels"):
        crit(other(x), t)


def test_multi_class_adds_class_term():
    model = create_model("yolov5n-pose-lite", num_classes=2)
    x, t = _batch()
    t[:, 1] = torch.tensor([0.0, 1.0, 1.0])
    total, terms = PoseLoss(model)(model(x), t)
    assert terms["cls"] > 0


def test_hyp_helpers():
    hyp = LossHyp.from_mapping({"kpt": 0.2, "lr0": 0.01, "balance": [1, 1, 1]})
    assert hyp.kpt == 0.2 and hyp.balance == (1.0, 1.0, 1.0) and hyp.box == 0.05
    scaled = LossHyp().scaled(num_levels=4, num_classes=1, imgsz=1280)
    assert scaled.box == pytest.approx(0.05 * 0.75) and scaled.obj == pytest.approx(4 * 0.75)
    assert scaled.kpt == 0.10
    # the authors' code weights keypoint confidence by the scaled class weight, not the text's 0.5
    assert scaled.kpt_conf == pytest.approx(0.5 / 80 * 0.75)
    assert LossHyp().scaled(num_levels=3, num_classes=1, imgsz=256).kpt_conf == pytest.approx(0.00625)
    assert PoseLoss(create_model("yolov5n-pose-lite"), hyp).balance == (1.0, 1.0, 1.0)
    with pytest.raises(ConfigError, match="balance has 3 values for 4 levels"):
        PoseLoss(create_model("yolov5n6-pose-lite"), hyp)


def test_keypoint_l1_pulls_where_the_oks_gradient_vanishes():
    """Far from the target the OKS term is flat (exp(-d/...) underflows); the L1 term is not."""
    target = torch.zeros(1, 17, 2)
    visible = torch.ones(1, 17, dtype=torch.bool)
    area = torch.tensor([4.0])  # a 2x2 grid-cell box: keypoints 5 cells away are hopeless for OKS
    pred = torch.full((1, 17, 2), 5.0, requires_grad=True)
    oks_loss(pred, target, visible, area, keypoint_sigmas(17)).backward()
    assert float(pred.grad.abs().max()) < 1e-12
    pred.grad = None
    l1 = keypoint_l1_loss(pred, target, visible, area)
    assert float(l1.detach()) == pytest.approx(10.0 / 2.0)  # (|5| + |5|) / sqrt(4)
    l1.backward()
    assert float(pred.grad.abs().min()) > 0
    hidden = keypoint_l1_loss(pred, target, torch.zeros_like(visible), area)
    assert float(hidden) == 0.0


def test_keypoint_l1_weight_enters_the_total():
    torch.manual_seed(0)
    model = create_model("yolov5n-pose-lite")
    x, t = _batch()
    raw = model(x)
    total0, terms0 = PoseLoss(model)(raw, t)
    total1, terms1 = PoseLoss(model, LossHyp(kpt_l1=0.5))(raw, t)
    assert terms1["kpt_l1"] > 0
    assert float(total1 - total0) == pytest.approx(3 * terms1["kpt_l1"], rel=1e-4)
