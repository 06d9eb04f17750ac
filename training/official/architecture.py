"""The authors' YOLO-Pose layer list, mapped onto our :class:`ModelConfig` and our weight names.

Their model is a flat ``nn.Sequential`` built from a YAML file (``model.<index>.<...>`` names).
For the P6 pose models (``yolov5{s,m,l}6_kpts[_ti_lite].yaml``) with ``L`` output levels:

- backbone: index 0 the stem (``Focus``, or ``ConvFocus`` in ``ti_lite``), then per stage a
  stride-2 ``Conv`` and a ``C3`` (indices ``1 + 2s``, ``2 + 2s``); the last stage has ``Conv``,
  ``SPP``, ``C3`` (no shortcut);
- neck: from index ``B = 4 + 2 * L`` (``L`` = stages - 1), per top-down step ``Conv`` 1x1,
  ``Upsample``, ``Concat``, ``C3``; then per bottom-up step ``Conv`` stride 2, ``Concat``, ``C3``;
- head: the last index, ``Detect`` with per level ``m`` (1x1 conv, ``na * (5 + nc)``) and
  ``m_kpt`` (depthwise-separable blocks ending in a 1x1 conv to ``na * 3K``, or that 1x1 conv
  alone when ``dw_conv_kpt`` is not set).

Everything the network needs is read from the file: channels and repeats from the weight shapes,
anchors from the ``Detect`` buffers (the YAML's may be stale after their auto-anchor step),
activations from the pickled modules (``ti_lite`` uses ReLU everywhere except in the SPP block and
the keypoint branch, which keep SiLU), SPP kernels from the pickled pooling chain. Only a plain
state dict, which holds no module objects, falls back to the authors' defaults (SiLU, or ReLU with
a ``ConvFocus`` stem; SPP 3, 5, 7).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from yolopose.core.errors import CheckpointError
from yolopose.training.models import ModelConfig, get_config, list_models

from .reader import OfficialWeights

__all__ = ["OfficialLayout", "official_config", "layout_of"]

_ACT = {"torch.nn.modules.activation.SiLU": "silu", "torch.nn.modules.activation.ReLU": "relu"}


@dataclass(frozen=True)
class OfficialLayout:
    """Layer indices of the authors' network (see module docstring)."""

    num_levels: int
    detect: int  # index of Detect

    @property
    def num_stages(self) -> int:
        return self.num_levels + 1

    @property
    def neck_start(self) -> int:
        return 4 + 2 * (self.num_stages - 1)

    def backbone_prefixes(self) -> List[Tuple[str, str]]:
        """(official prefix, our prefix) for the backbone after the stem."""
        pairs = []
        last = self.num_stages - 1
        for s in range(self.num_stages):
            pairs.append((f"model.{1 + 2 * s}", f"backbone.stages.{s}.0"))
            if s < last:
                pairs.append((f"model.{2 + 2 * s}", f"backbone.stages.{s}.1"))
            else:
                pairs.append((f"model.{2 + 2 * s}", f"backbone.stages.{s}.1"))  # SPP
                pairs.append((f"model.{3 + 2 * s}", f"backbone.stages.{s}.2"))
        return pairs

    def neck_prefixes(self) -> List[Tuple[str, str]]:
        """(official prefix, our prefix) for the PANet neck."""
        b, n = self.neck_start, self.num_levels
        pairs = []
        for j in range(n - 1):  # top-down, from the coarsest level
            i = n - 2 - j
            pairs += [(f"model.{b + 4 * j}", f"neck.lateral.{i}"), (f"model.{b + 4 * j + 3}", f"neck.top_down.{i}")]
        base = b + 4 * (n - 1)
        for j in range(n - 1):  # bottom-up
            pairs += [(f"model.{base + 3 * j}", f"neck.down.{j}"), (f"model.{base + 3 * j + 2}", f"neck.bottom_up.{j}")]
        return pairs

    def concat_sources(self) -> Dict[int, List[int]]:
        """Expected ``from`` of every Concat layer (their wiring; checked when the file has it)."""
        b, n = self.neck_start, self.num_levels
        level_out = [2 + 2 * s for s in range(1, self.num_stages - 1)]  # backbone C3 of levels 0..n-2
        expect: Dict[int, List[int]] = {}
        for j in range(n - 1):
            expect[b + 4 * j + 2] = [-1, level_out[n - 2 - j]]
        base = b + 4 * (n - 1)
        for j in range(n - 1):
            expect[base + 3 * j + 1] = [-1, b + 4 * (n - 2 - j)]
        return expect

    def detect_sources(self) -> List[int]:
        b, n = self.neck_start, self.num_levels
        base = b + 4 * (n - 1)
        return [b + 4 * (n - 2) + 3] + [base + 3 * j + 2 for j in range(n - 1)]


def layout_of(weights: OfficialWeights) -> OfficialLayout:
    """Find the Detect layer and the number of levels from the weight names."""
    det = sorted({int(m.group(1)) for k in weights.state for m in [re.match(r"model\.(\d+)\.m\.\d+\.weight$", k)] if m})
    if len(det) != 1:
        raise CheckpointError(f"{weights.source}: no single Detect layer (model.N.m.*) found; not a YOLO-Pose model")
    d = det[0]
    levels = len({k for k in weights.state if re.match(rf"model\.{d}\.m\.\d+\.weight$", k)})
    layout = OfficialLayout(num_levels=levels, detect=d)
    expected_detect = layout.neck_start + 4 * (levels - 1) + 3 * (levels - 1)
    if d != expected_detect:
        raise CheckpointError(
            f"{weights.source}: Detect is layer {d}, but a {levels}-level YOLOv5 pose network has it at "
            f"{expected_detect}; this architecture is not supported"
        )
    return layout


def _count(state: Dict[str, torch.Tensor], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state for m in [rx.match(k)] if m})


def _shape(weights: OfficialWeights, key: str) -> Tuple[int, ...]:
    if key not in weights.state:
        raise CheckpointError(f"{weights.source}: expected weight {key!r} is missing; not a supported YOLO-Pose model")
    return tuple(weights.state[key].shape)


def _activation(weights: OfficialWeights, prefix: str, default: str) -> str:
    name = weights.modules.get(f"{prefix}.act")
    if name is None:
        return default
    if name not in _ACT:
        raise CheckpointError(f"{weights.source}: {prefix} uses activation {name}, which is not supported")
    return _ACT[name]


def _spp_kernels(weights: OfficialWeights, prefix: str, default: Tuple[int, ...]) -> Tuple[int, ...]:
    chains = sorted(
        {int(m.group(1)) for k in weights.modules for m in [re.match(rf"{re.escape(prefix)}\.m\.(\d+)$", k)] if m}
    )
    if not chains:
        return default
    kernels = []
    for c in chains:
        pools = [k for k in weights.modules if re.match(rf"{re.escape(prefix)}\.m\.{c}\.\d+$", k)]
        attrs = weights.attrs.get(f"{prefix}.m.{c}", {})
        if not pools and weights.modules.get(f"{prefix}.m.{c}", "").endswith("MaxPool2d"):
            kernels.append(int(_first(attrs.get("kernel_size", 3))))
        else:
            sizes = [int(_first(weights.attrs.get(p, {}).get("kernel_size", 3))) for p in pools]
            kernels.append(1 + sum(s - 1 for s in sizes))  # chained stride-1 pools
    return tuple(kernels)


def _first(v):
    return v[0] if isinstance(v, (list, tuple)) else v


def _check_wiring(weights: OfficialWeights, layout: OfficialLayout) -> None:
    if not weights.attrs:
        return
    for index, expect in layout.concat_sources().items():
        got = weights.attrs.get(f"model.{index}", {}).get("f")
        if weights.modules.get(f"model.{index}", "").endswith("Concat") and got is not None and list(got) != expect:
            raise CheckpointError(
                f"{weights.source}: layer {index} concatenates {got}, the supported YOLO-Pose layout has {expect}"
            )
    got = weights.attrs.get(f"model.{layout.detect}", {}).get("f")
    if got is not None and list(got) != layout.detect_sources():
        raise CheckpointError(f"{weights.source}: Detect reads layers {got}, expected {layout.detect_sources()}")
    for index, kind in [(0, ("Focus", "ConvFocus"))] + [(layout.neck_start + 1, ("Upsample",))]:
        name = weights.modules.get(f"model.{index}", "")
        if name and not name.endswith(kind):
            raise CheckpointError(f"{weights.source}: layer {index} is a {name}, expected {' or '.join(kind)}")


def official_config(weights: OfficialWeights) -> Tuple[ModelConfig, OfficialLayout, Dict[str, object]]:
    """The :class:`ModelConfig` that reproduces the checkpoint's network exactly, its layer layout,
    and facts for the metadata (``variant``, ``depth_multiple``, ``width_multiple``, ``base``: the
    registry model it matches or ``None``)."""
    st, src = weights.state, weights.source
    layout = layout_of(weights)
    _check_wiring(weights, layout)
    d, n = layout.detect, layout.num_levels
    ti_lite = "model.0.conv_slice.conv.weight" in st
    stem_channels = _shape(weights, "model.0.conv.conv.weight")[0]
    stages = []
    for s in range(layout.num_stages):
        c = _shape(weights, f"model.{1 + 2 * s}.conv.weight")[0]
        c3 = 2 + 2 * s if s < layout.num_stages - 1 else 3 + 2 * s
        stages.append((c, _count(st, rf"model\.{c3}\.m\.(\d+)\.cv1\.conv\.weight$")))
    neck_repeats = _count(st, rf"model\.{layout.neck_start + 3}\.m\.(\d+)\.cv1\.conv\.weight$")
    na = _shape(weights, f"model.{d}.anchor_grid")[2] if f"model.{d}.anchor_grid" in st else _shape(weights, f"model.{d}.anchors")[1]
    nc = _shape(weights, f"model.{d}.m.0.weight")[0] // na - 5
    single = f"model.{d}.m_kpt.0.weight" in st
    if single:
        kpt_out = _shape(weights, f"model.{d}.m_kpt.0.weight")[0]
        blocks = 0
    else:
        last = _count(st, rf"model\.{d}\.m_kpt\.0\.(\d+)\.")
        if last < 2 or f"model.{d}.m_kpt.0.{last - 1}.weight" not in st:
            raise CheckpointError(f"{src}: keypoint branch model.{d}.m_kpt.0 has an unsupported structure")
        kpt_out = _shape(weights, f"model.{d}.m_kpt.0.{last - 1}.weight")[0]
        blocks = (last - 2) // 2
    k = kpt_out // na // 3
    if f"model.{d}.anchor_grid" in st:
        grid = st[f"model.{d}.anchor_grid"].float().reshape(n, na, 2)
    else:
        strides = torch.tensor([8.0 * 2**i for i in range(n)]).view(n, 1, 1)
        grid = st[f"model.{d}.anchors"].float().reshape(n, na, 2) * strides
    anchors = tuple(tuple((float(w), float(h)) for w, h in level.tolist()) for level in grid)
    default_act = "relu" if ti_lite else "silu"
    if weights.yaml and isinstance(weights.yaml.get("act"), str):
        default_act = "relu" if weights.yaml["act"] == "ReLU" else "silu"
    act = _activation(weights, "model.1", default_act)
    last_stage = 1 + 2 * (layout.num_stages - 1)
    spp = f"model.{last_stage + 1}"
    spp_act = _activation(weights, f"{spp}.cv1", "silu")
    kpt_act = _activation(weights, f"model.{d}.m_kpt.0.0", "silu") if not single else None
    default_kernels = (3, 5, 7) if n == 4 else (5, 9, 13)
    kernels = _spp_kernels(weights, spp, default_kernels)

    # Prefer the registry's full-size numbers and multiples when they produce these channels.
    base: Optional[str] = None
    candidate = ModelConfig(
        name="official",
        depth_multiple=1.0,
        width_multiple=1.0,
        anchors=anchors,
        stages=tuple(stages),
        stem_channels=stem_channels,
        neck_repeats=neck_repeats,
        spp_kernels=kernels,
        activation=act,
        stem="conv" if ti_lite else "focus",
        kpt_head_blocks=blocks,
        num_keypoints=k,
        num_classes=nc,
        kpt_head_depthwise=not single,
        head_layout="official",
        spp_activation=None if spp_act == act else spp_act,
        kpt_head_activation=None if (kpt_act is None or kpt_act == act) else kpt_act,
    )
    actual = _actual(candidate)
    depth_mult = float((weights.yaml or {}).get("depth_multiple", 1.0))
    width_mult = float((weights.yaml or {}).get("width_multiple", 1.0))
    for name in list_models():
        reg = get_config(name)
        if name.endswith("-lite") or reg.kpt_head_convs or reg.num_levels != n:
            continue
        trial = dataclasses.replace(
            candidate, depth_multiple=reg.depth_multiple, width_multiple=reg.width_multiple,
            stages=reg.stages, stem_channels=reg.stem_channels, neck_repeats=reg.neck_repeats,
        )
        if _actual(trial) == actual:
            candidate, base = trial, name
            break
    else:
        yaml_trial = _from_yaml_multiples(candidate, weights.yaml)
        if yaml_trial is not None and _actual(yaml_trial) == actual:
            candidate = yaml_trial
    variant = "ti_lite" if ti_lite else "standard"
    label = f"{base}{'-ti-lite' if ti_lite else ''}-official" if base else f"official-{variant.replace('_', '-')}-p{n + 2}"
    candidate = dataclasses.replace(candidate, name=label)
    facts = {"variant": variant, "base": base, "depth_multiple": depth_mult, "width_multiple": width_mult}
    return candidate, layout, facts


def _from_yaml_multiples(cfg: ModelConfig, yaml: Optional[dict]) -> Optional[ModelConfig]:
    """The config with the YAML's multiples and full-size numbers (any depth/width multiple)."""
    if not yaml:
        return None
    try:
        backbone = yaml["backbone"]
        stem_c = int(backbone[0][3][0])
        convs = [int(layer[3][0]) for layer in backbone[1:] if layer[2] == "Conv"]
        c3_repeats = [int(layer[1]) for layer in backbone[1:] if layer[2] == "C3"]
        neck_repeats = [int(layer[1]) for layer in yaml["head"] if layer[2] == "C3"]
        return dataclasses.replace(
            cfg,
            depth_multiple=float(yaml["depth_multiple"]),
            width_multiple=float(yaml["width_multiple"]),
            stages=tuple(zip(convs, c3_repeats)),
            stem_channels=stem_c,
            neck_repeats=neck_repeats[0],
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _actual(cfg: ModelConfig) -> tuple:
    return (
        cfg.channels(cfg.stem_channels),
        tuple((cfg.channels(c), cfg.repeats(r)) for c, r in cfg.stages),
        cfg.repeats(cfg.neck_repeats),
    )
