"""Every tensor of an official checkpoint, renamed (and for the head, re-sliced) to our names.

The mapping is exact: each official tensor must be used and each of our tensors produced once,
with equal shapes; anything else is a :class:`~yolopose.core.errors.CheckpointError` listing the
offending names, never a silent skip. Two places need more than a rename:

- the Focus stem: their space-to-depth puts the pixel phases (row, column) in the order (0,0),
  (0,1), (1,0), (1,1); ours in (0,0), (1,0), (0,1), (1,1). The stem conv's input channels are
  permuted to match.
- the head: their ``m`` and ``m_kpt`` outputs are concatenated and read as ``(na, 5 + nc + 3K)``;
  rows of the two convs are distributed over our ``det`` / ``kpt_xy`` / ``kpt_conf`` outputs
  (see :func:`yolopose.training.models.network.official_channel_sources`).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

from yolopose.core.errors import CheckpointError
from yolopose.training.models import ModelConfig
from yolopose.training.models.network import official_channel_sources

from .architecture import OfficialLayout
from .reader import OfficialWeights

__all__ = ["map_official_state"]

#: our Focus phase p reads their phase _FOCUS_PHASES[p]
_FOCUS_PHASES = (0, 2, 1, 3)


def _focus_permuted(weight: torch.Tensor) -> torch.Tensor:
    c = weight.shape[1] // 4
    index = torch.cat([torch.arange(q * c, (q + 1) * c) for q in _FOCUS_PHASES])
    return weight[:, index]


def _prefix_pairs(config: ModelConfig, layout: OfficialLayout) -> List[Tuple[str, str]]:
    stem = [("model.0.conv_slice.", "backbone.stem.down."), ("model.0.conv.", "backbone.stem.conv.")]
    pairs = [(f"{a}.", f"{b}.") for a, b in layout.backbone_prefixes() + layout.neck_prefixes()]
    d = layout.detect
    kpt = [(f"model.{d}.m_kpt.{lvl}.", f"head.kpt.{lvl}.") for lvl in range(layout.num_levels)]
    return stem + pairs + (kpt if config.kpt_head_depthwise else [])


def map_official_state(
    weights: OfficialWeights, config: ModelConfig, layout: OfficialLayout, ours: Mapping[str, torch.Tensor]
) -> "OrderedDict[str, torch.Tensor]":
    """Our state dict (float32 weights, int64 counters) from the official one; ``ours`` is the
    state dict of a model built from ``config`` (names and shapes to produce)."""
    src = weights.source
    d, n = layout.detect, layout.num_levels
    state = weights.state
    out: Dict[str, torch.Tensor] = {}
    used = set()

    def put(name: str, tensor: torch.Tensor, official: str) -> None:
        if name in out:
            raise CheckpointError(f"{src}: {official} maps onto {name}, which is already filled")
        out[name] = tensor
        used.add(official)

    # the head's output convs: distribute the rows of m / m_kpt's last conv
    na, nc, k = config.num_anchors, config.num_classes, config.num_keypoints
    det_rows = na * (5 + nc)
    sources = official_channel_sources(na, nc, k)
    for lvl in range(n):
        m_key = f"model.{d}.m.{lvl}"
        kpt_key = f"model.{d}.m_kpt.{lvl}" if not config.kpt_head_depthwise else f"model.{d}.m_kpt.{lvl}.{2 * config.kpt_head_blocks + 1}"
        for part in ("weight", "bias"):
            a, b = f"{m_key}.{part}", f"{kpt_key}.{part}"
            if a not in state or b not in state:
                raise CheckpointError(f"{src}: head weights {a} / {b} are missing")
            full = torch.cat((state[a], state[b]), dim=0)
            if full.shape[0] != det_rows + na * 3 * k:
                raise CheckpointError(f"{src}: {a} and {b} hold {full.shape[0]} channels, expected {det_rows + na * 3 * k}")
            for output, channels in sources.items():
                from_feature = [c for c in channels if c < det_rows]
                from_branch = [c for c in channels if c >= det_rows]
                if from_feature:
                    put(f"head.{output}.{lvl}.from_feature.{part}", full[from_feature], a)
                if from_branch:
                    put(f"head.{output}.{lvl}.from_branch.{part}", full[from_branch], b)
            used.update((a, b))
    # the anchor buffers were read into the config; they are not weights of ours
    for buf in ("anchors", "anchor_grid"):
        if f"model.{d}.{buf}" in state:
            used.add(f"model.{d}.{buf}")
    pairs = _prefix_pairs(config, layout)
    for name, tensor in state.items():
        if name in used:
            continue
        for theirs, mine in pairs:
            if name.startswith(theirs):
                target = mine + name[len(theirs):]
                if name == "model.0.conv.conv.weight" and config.stem == "focus":
                    tensor = _focus_permuted(tensor)
                put(target, tensor, name)
                break
    leftover = [k for k in state if k not in used]
    if leftover:
        raise CheckpointError(f"{src}: {len(leftover)} official tensors have no place in {config.name!r}: {leftover[:6]}")
    missing = [k for k in ours if k not in out]
    extra = [k for k in out if k not in ours]
    if missing or extra:
        raise CheckpointError(f"{src}: mapping to {config.name!r} left {missing[:6]} unfilled and made unknown {extra[:6]}")
    wrong = [f"{k} {tuple(out[k].shape)} vs {tuple(ours[k].shape)}" for k in ours if out[k].shape != ours[k].shape]
    if wrong:
        raise CheckpointError(f"{src}: shapes differ from {config.name!r}: {wrong[:4]}")
    result: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, ref in ours.items():
        result[key] = out[key].to(ref.dtype).clone()
    return result
