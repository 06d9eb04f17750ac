"""The YOLO-Pose loss (paper Eq. 1).

``L = box * L_box + obj * L_obj + cls * L_cls + kpt * L_kpts + kpt_conf * L_kpts_conf``, times the
batch size (YOLOv5 convention), with

- ``L_box``: ``1 - CIoU`` of decoded predicted and target boxes (grid units), matched cells only;
- ``L_obj``: BCE of every objectness logit against the detached IoU (clamped >= 0) of the matched
  prediction (0 elsewhere), weighted per level by ``balance`` ([4, 1, .25, .06] / [4, 1, .4]);
- ``L_cls``: BCE of the class logits against the one-hot class (only with more than one class,
  as in YOLOv5: with one class the score is the objectness);
- ``L_kpts``: the OKS loss ``1 - exp(-d / (s * 4 * sigma^2))`` averaged over *visible* keypoints
  (``d`` squared keypoint distance, ``s`` target box area, both in grid units), i.e.
  ``(n K / n_visible) * mean((1 - exp(...)) * visible)`` as in the paper's implementation;
- ``L_kpts_conf``: BCE of the keypoint confidence logits against visibility (``v > 0``).

Targets (``(M, 6 + 3K)``: ``image, class, cx, cy, w, h, x1, y1, v1, ...`` normalised to [0, 1])
are assigned YOLOv5 style: to every anchor whose shape ratio to the box is below ``anchor_t``, in
the cell holding the centre and the two neighbouring cells nearest to it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from yolopose.core.errors import ConfigError
from yolopose.core.keypoints import oks_sigmas

__all__ = ["LossHyp", "PoseLoss", "LevelTargets", "bbox_ciou", "oks_loss", "keypoint_l1_loss", "keypoint_sigmas", "default_balance"]

_BALANCE = {3: (4.0, 1.0, 0.4), 4: (4.0, 1.0, 0.25, 0.06), 5: (4.0, 1.0, 0.25, 0.06, 0.02)}
#: the centre cell and its four neighbours (x, y); scaled by the neighbour offset
_NEIGHBOURS = ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1))


@dataclass(frozen=True)
class LossHyp:
    """Loss weights and assignment settings (defaults: the paper's)."""

    box: float = 0.05
    obj: float = 1.0
    cls: float = 0.5
    kpt: float = 0.10
    kpt_conf: float = 0.5
    #: weight of an optional L1 keypoint term (distance / sqrt(box area), visible keypoints). The
    #: OKS term's gradient vanishes for keypoints many sigmas away from their target, which is
    #: where every keypoint starts when training from scratch; this term pulls them into range.
    #: 0 (the paper's loss) by default.
    kpt_l1: float = 0.0
    anchor_t: float = 4.0  # a GT matches an anchor when max(w/aw, aw/w, h/ah, ah/h) < anchor_t
    neighbour_offset: float = 0.5  # also assign to neighbouring cells within this of the centre
    iou_ratio: float = 1.0  # objectness target = (1 - iou_ratio) + iou_ratio * IoU
    cls_pw: float = 1.0  # BCE positive weights
    obj_pw: float = 1.0
    label_smoothing: float = 0.0
    balance: Optional[Tuple[float, ...]] = None  # per-level objectness weights; None: default

    @classmethod
    def from_mapping(cls, hyp: Mapping[str, Any]) -> "LossHyp":
        """Pick this dataclass's fields out of a larger hyperparameter dict (others are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in hyp.items() if k in names}
        if kwargs.get("balance") is not None:
            kwargs["balance"] = tuple(float(b) for b in kwargs["balance"])
        return cls(**kwargs)

    def scaled(self, num_levels: int, num_classes: int, imgsz: int) -> "LossHyp":
        """The weights the authors' training script applies: YOLOv5's scaling to the number of
        levels, classes and the image size (``box * 3/nl``, ``cls * nc/80 * 3/nl``,
        ``obj * (imgsz/640)^2 * 3/nl``), and the keypoint-confidence term scaled like ``cls``
        (their code multiplies it by the *scaled* class weight: 0.5 -> 0.00625 for one class and
        3 levels, where the paper's text says 0.5). The OKS term's weight is not scaled."""
        f = 3.0 / num_levels
        cls_factor = num_classes / 80.0 * f
        return dataclasses.replace(
            self,
            box=self.box * f,
            cls=self.cls * cls_factor,
            obj=self.obj * (imgsz / 640.0) ** 2 * f,
            kpt_conf=self.kpt_conf * cls_factor,
        )


def default_balance(num_levels: int) -> Tuple[float, ...]:
    """YOLOv5 objectness weights per level, small stride first."""
    if num_levels in _BALANCE:
        return _BALANCE[num_levels]
    raise ConfigError(f"no default objectness balance for {num_levels} levels; set LossHyp.balance")


def keypoint_sigmas(num_keypoints: int) -> torch.Tensor:
    """OKS-loss sigmas (:func:`yolopose.core.keypoints.oks_sigmas`) as a float32 tensor."""
    return torch.tensor(oks_sigmas(num_keypoints), dtype=torch.float32)


def bbox_ciou(box1: torch.Tensor, box2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of matching rows of two ``(n, 4)`` ``cx, cy, w, h`` box tensors -> ``(n,)``."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.unbind(-1), box2.unbind(-1)
    b1x1, b1x2, b1y1, b1y2 = x1 - w1 / 2, x1 + w1 / 2, y1 - h1 / 2, y1 + h1 / 2
    b2x1, b2x2, b2y1, b2y2 = x2 - w2 / 2, x2 + w2 / 2, y2 - h2 / 2, y2 + h2 / 2
    inter = (torch.min(b1x2, b2x2) - torch.max(b1x1, b2x1)).clamp(0) * (
        torch.min(b1y2, b2y2) - torch.max(b1y1, b2y1)
    ).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(b1x2, b2x2) - torch.min(b1x1, b2x1)  # enclosing box
    ch = torch.max(b1y2, b2y2) - torch.min(b1y1, b2y1)
    c2 = cw**2 + ch**2 + eps
    rho2 = (x2 - x1) ** 2 + (y2 - y1) ** 2
    v = (4 / math.pi**2) * (torch.atan(w2 / (h2 + eps)) - torch.atan(w1 / (h1 + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


def oks_loss(
    pred_xy: torch.Tensor, target_xy: torch.Tensor, visible: torch.Tensor, area: torch.Tensor, sigmas: torch.Tensor
) -> torch.Tensor:
    """The OKS keypoint loss of ``n`` instances: ``pred_xy``/``target_xy`` ``(n, K, 2)``,
    ``visible`` ``(n, K)`` bool, ``area`` ``(n,)`` target box areas (same units as the
    coordinates), ``sigmas`` ``(K,)``. Mean of ``1 - exp(-d / (area * 4 sigma^2))`` over the
    visible keypoints (0 when none is visible)."""
    d = ((pred_xy - target_xy) ** 2).sum(-1)
    e = d / (area[:, None] * (4 * sigmas**2) + 1e-9)
    mask = visible.to(d.dtype)
    # the paper's (n K / n_visible) * mean((1 - exp(-e)) * visible), written as the equal
    # sum / n_visible (which is also defined when there is nothing to average)
    return ((1 - torch.exp(-e)) * mask).sum() / mask.sum().clamp(min=1.0)


def keypoint_l1_loss(pred_xy: torch.Tensor, target_xy: torch.Tensor, visible: torch.Tensor, area: torch.Tensor) -> torch.Tensor:
    """Mean over visible keypoints of the L1 distance divided by ``sqrt(area)`` (scale-free)."""
    err = (pred_xy - target_xy).abs().sum(-1) / area.clamp(min=1e-9).sqrt()[:, None]
    mask = visible.to(err.dtype)
    return (err * mask).sum() / mask.sum().clamp(min=1.0)


class LevelTargets(NamedTuple):
    """Targets assigned to one output level (one row per positive sample)."""

    image: torch.Tensor  # (n,) long: batch index
    anchor: torch.Tensor  # (n,) long
    gy: torch.Tensor  # (n,) long: grid row
    gx: torch.Tensor  # (n,) long: grid column
    cls: torch.Tensor  # (n,) long
    box: torch.Tensor  # (n, 4) cx, cy relative to the cell, w, h; grid units
    kpt_xy: torch.Tensor  # (n, K, 2) relative to the cell, grid units
    kpt_visible: torch.Tensor  # (n, K) bool
    anchor_wh: torch.Tensor  # (n, 2) anchor size, grid units


class PoseLoss:
    """``total, terms = PoseLoss(model)(raw, targets)``.

    ``raw``: the model output (per level ``(det, kpt_xy, kpt_conf)`` NCHW); ``targets``: ``(M, 6 +
    3K)`` (see module docstring). ``total`` is the weighted sum times the batch size (a scalar
    tensor to backpropagate); ``terms`` maps ``box, obj, cls, kpt, kpt_conf`` to the weighted
    per-term values as floats (``total == batch * sum(terms.values())``).
    """

    TERMS = ("box", "obj", "cls", "kpt", "kpt_conf", "kpt_l1")

    def __init__(self, model: nn.Module, hyp: Optional[LossHyp] = None) -> None:
        self.hyp = hyp or LossHyp()
        self.strides: Tuple[int, ...] = tuple(int(s) for s in model.strides)
        self.num_keypoints = int(model.num_keypoints)
        self.num_classes = int(getattr(model, "num_classes", 1))
        anchors = torch.tensor(model.anchors, dtype=torch.float32)  # (nl, na, 2) pixels
        self.num_levels, self.num_anchors = anchors.shape[:2]
        if len(self.strides) != self.num_levels:
            raise ConfigError(f"model has {len(self.strides)} strides but {self.num_levels} anchor levels")
        self.anchors_px = anchors
        self.balance = self.hyp.balance or default_balance(self.num_levels)
        if len(self.balance) != self.num_levels:
            raise ConfigError(f"LossHyp.balance has {len(self.balance)} values for {self.num_levels} levels")
        self.sigmas = keypoint_sigmas(self.num_keypoints)

    # ------------------------------------------------------------------ validation
    def _check(self, raw: Sequence[Sequence[torch.Tensor]], targets: torch.Tensor) -> torch.Tensor:
        na, k, nc = self.num_anchors, self.num_keypoints, self.num_classes
        if len(raw) != self.num_levels:
            raise ConfigError(f"loss expects {self.num_levels} output levels, got {len(raw)}")
        want = (na * (5 + nc), na * 2 * k, na * k)
        for i, level in enumerate(raw):
            got = tuple(int(t.shape[1]) for t in level)
            if len(level) != 3 or got != want:
                raise ConfigError(f"level {i} outputs have {got} channels, expected (det, kpt_xy, kpt_conf) = {want}")
        cols = 6 + 3 * k
        if not isinstance(targets, torch.Tensor):
            raise ConfigError(f"targets must be a tensor (M, {cols}), got {type(targets).__name__}")
        if targets.numel() == 0:
            return targets.new_zeros((0, cols), dtype=torch.float32)
        if targets.dim() != 2 or targets.shape[1] != cols:
            ncols = targets.shape[-1] if targets.dim() else 0
            hint = f" ({(ncols - 6) / 3:g} keypoints)" if targets.dim() == 2 and ncols >= 6 and (ncols - 6) % 3 == 0 else ""
            raise ConfigError(
                f"targets have shape {tuple(targets.shape)}{hint}, but the model has {k} keypoints: "
                f"expected (M, 6 + 3*{k}) = (M, {cols}) rows of image, class, cx, cy, w, h, (x, y, v) * {k}"
            )
        batch = int(raw[0][0].shape[0])
        img = targets[:, 0]
        if bool((img < 0).any() or (img >= batch).any()):
            raise ConfigError(f"targets refer to image indices outside the batch of {batch}")
        cls = targets[:, 1]
        if bool((cls < 0).any() or (cls >= nc).any()):
            raise ConfigError(f"targets have class ids outside [0, {nc})")
        return targets.float()

    # ------------------------------------------------------------------ assignment
    def build_targets(self, raw: Sequence[Sequence[torch.Tensor]], targets: torch.Tensor) -> List[LevelTargets]:
        """Assign ``targets`` to anchors and cells of every level (YOLOv5 rule)."""
        targets = self._check(raw, targets)
        device = raw[0][0].device
        targets = targets.to(device)
        na, k, nt = self.num_anchors, self.num_keypoints, targets.shape[0]
        g = self.hyp.neighbour_offset
        anchor_idx = torch.arange(na, device=device, dtype=torch.float32).view(na, 1, 1).expand(na, nt, 1)
        t_all = torch.cat((targets.unsqueeze(0).expand(na, nt, -1), anchor_idx), 2)  # (na, nt, 7 + 3K)
        offsets_unit = torch.tensor(_NEIGHBOURS, device=device, dtype=torch.float32) * g
        out: List[LevelTargets] = []
        for i, stride in enumerate(self.strides):
            ny, nx = int(raw[i][0].shape[2]), int(raw[i][0].shape[3])
            anchors = self.anchors_px[i].to(device) / stride  # grid units
            gain = torch.ones(t_all.shape[-1], device=device)
            gain[2:6] = torch.tensor([nx, ny, nx, ny], device=device, dtype=torch.float32)
            gain[6 : 6 + 3 * k : 3] = nx
            gain[7 : 6 + 3 * k : 3] = ny
            t = t_all * gain
            if nt:
                r = t[..., 4:6] / anchors[:, None]
                t = t[torch.max(r, 1 / r).max(2)[0] < self.hyp.anchor_t]  # (n, C)
                gxy = t[:, 2:4]
                gxi = gain[2:4] - gxy
                left_up = ((gxy % 1 < g) & (gxy > 1)).T
                right_down = ((gxi % 1 < g) & (gxi > 1)).T
                pick = torch.stack((torch.ones_like(left_up[0]), left_up[0], left_up[1], right_down[0], right_down[1]))
                t = t.unsqueeze(0).expand(5, -1, -1)[pick]
                offsets = (torch.zeros_like(gxy)[None] + offsets_unit[:, None])[pick]
            else:
                t = t_all[0]
                offsets = torch.zeros((0, 2), device=device)
            gxy = t[:, 2:4]
            gij = (gxy - offsets).long()
            gx = gij[:, 0].clamp(0, nx - 1)
            gy = gij[:, 1].clamp(0, ny - 1)
            cell = torch.stack((gx, gy), 1).float()
            a = t[:, -1].long()
            kpts = t[:, 6 : 6 + 3 * k].reshape(-1, k, 3)
            out.append(
                LevelTargets(
                    image=t[:, 0].long(),
                    anchor=a,
                    gy=gy,
                    gx=gx,
                    cls=t[:, 1].long(),
                    box=torch.cat((gxy - cell, t[:, 4:6]), 1),
                    kpt_xy=kpts[..., :2] - cell[:, None],
                    kpt_visible=kpts[..., 2] > 0,
                    anchor_wh=anchors[a],
                )
            )
        return out

    # ------------------------------------------------------------------ the loss
    def __call__(
        self, raw: Sequence[Sequence[torch.Tensor]], targets: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, float]]:
        hyp = self.hyp
        assigned = self.build_targets(raw, targets)
        device = raw[0][0].device
        na, k, nc = self.num_anchors, self.num_keypoints, self.num_classes
        sigmas = self.sigmas.to(device)
        bce_obj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([hyp.obj_pw], device=device))
        bce_cls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([hyp.cls_pw], device=device))
        bce_kpt = nn.BCEWithLogitsLoss()
        zero = torch.zeros((), device=device)
        lbox, lobj, lcls, lkpt, lkconf, lkl1 = zero, zero, zero, zero, zero, zero
        batch = int(raw[0][0].shape[0])
        for (det, kxy, kconf), tg, balance in zip(raw, assigned, self.balance):
            det, kxy, kconf = det.float(), kxy.float(), kconf.float()
            b, _, ny, nx = det.shape
            det = det.view(b, na, 5 + nc, ny, nx)
            tobj = torch.zeros((b, na, ny, nx), device=device)
            n = int(tg.image.shape[0])
            if n:
                ps = det[tg.image, tg.anchor, :, tg.gy, tg.gx]  # (n, 5 + nc)
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * tg.anchor_wh
                iou = bbox_ciou(torch.cat((pxy, pwh), 1), tg.box)
                lbox = lbox + (1.0 - iou).mean()
                score = iou.detach().clamp(0)
                order = score.argsort()  # duplicates: the best match is written last
                tobj[tg.image[order], tg.anchor[order], tg.gy[order], tg.gx[order]] = (
                    1.0 - hyp.iou_ratio
                ) + hyp.iou_ratio * score[order]
                if nc > 1:
                    pos, neg = 1.0 - 0.5 * hyp.label_smoothing, 0.5 * hyp.label_smoothing
                    tcls = torch.full_like(ps[:, 5:], neg)
                    tcls[torch.arange(n, device=device), tg.cls] = pos
                    lcls = lcls + bce_cls(ps[:, 5:], tcls)
                pk = kxy.view(b, na, 2 * k, ny, nx)[tg.image, tg.anchor, :, tg.gy, tg.gx].view(n, k, 2) * 2 - 0.5
                area = tg.box[:, 2] * tg.box[:, 3]
                lkpt = lkpt + oks_loss(pk, tg.kpt_xy, tg.kpt_visible, area, sigmas)
                if hyp.kpt_l1:
                    lkl1 = lkl1 + keypoint_l1_loss(pk, tg.kpt_xy, tg.kpt_visible, area)
                pc = kconf.view(b, na, k, ny, nx)[tg.image, tg.anchor, :, tg.gy, tg.gx]
                lkconf = lkconf + bce_kpt(pc, tg.kpt_visible.float())
            lobj = lobj + bce_obj(det[:, :, 4], tobj) * balance
        weighted = {
            "box": lbox * hyp.box,
            "obj": lobj * hyp.obj,
            "cls": lcls * hyp.cls,
            "kpt": lkpt * hyp.kpt,
            "kpt_conf": lkconf * hyp.kpt_conf,
            "kpt_l1": lkl1 * hyp.kpt_l1,
        }
        total = sum(weighted.values()) * batch
        return total, {name: float(v.detach()) for name, v in weighted.items()}
