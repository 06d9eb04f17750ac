"""Model configurations kept as data, and the registry that names them.

A :class:`ModelConfig` describes a whole YOLO-Pose network: the CSP-darknet stages, the PANet
neck depth, the anchors per output level, the activation and the stem. The architecture code in
:mod:`yolopose.training.models.network` reads nothing else, so a new family member is a new
registry entry, not new code.

Registered families (paper Sec. 3 and Table 1):

- ``yolov5{n,s,m,l}6-pose``: P6, 4 output levels (strides 8/16/32/64), Focus stem, SPP 3/5/7.
- ``yolov5{n,s}-pose``: P5 edge variants, 3 levels (strides 8/16/32), standard YOLOv5 anchors.
- every name also as ``...-lite``: ReLU instead of SiLU and a stride-2 3x3 convolution stem in
  place of Focus (int8-friendly; ReLU runs ~2x faster in OpenVINO int8 on this CPU).
- every name also as ``...-dense``: a keypoint branch of two full 3x3 convolutions (64 channels
  for ``n``) instead of the 11-layer depthwise stack: 10% more MACs, fewer parameters, and
  keypoints learned earlier from scratch (docs/training.md). Post-training int8 is not better
  for it: it still needs QAT.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from yolopose.core.errors import ConfigError
from yolopose.core.registry import Registry

__all__ = ["ModelConfig", "ACTIVATIONS", "HEAD_LAYOUTS", "STEMS", "get_config", "list_models", "register_model"]

#: Activations a config may name (the layers map them to modules).
ACTIVATIONS = ("silu", "relu")
#: Stems a config may name: ``focus`` (space-to-depth + conv) or ``conv`` (stride-2 3x3 conv).
STEMS = ("focus", "conv")
#: Head layouts a config may name (see :class:`ModelConfig`).
HEAD_LAYOUTS = ("split", "official")

Anchors = Tuple[Tuple[Tuple[float, float], ...], ...]


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a YOLO-Pose network, as plain data.

    Channel and repeat numbers are those of the full-size ("l") model; ``width_multiple`` and
    ``depth_multiple`` scale them as YOLOv5 does (channels rounded up to a multiple of 8, repeats
    rounded, at least 1).

    - ``stages``: ``(channels, repeats)`` of each backbone stage after the stem, one per stride
      4, 8, ..., max stride. Each stage is a stride-2 3x3 conv then a C3 block; the last stage
      puts the SPP block between them and its C3 has no shortcut.
    - ``anchors``: per output level (strides 8, 16, ...), ``(w, h)`` pairs in input pixels.
    - ``kpt_head_depthwise``: the keypoint branch runs ``kpt_head_blocks`` depthwise-separable
      blocks and a depthwise conv before its 1x1 output convs; ``False`` puts the 1x1 keypoint
      convs directly on the level feature (the official ``ti_lite`` models).
    - ``head_layout``: ``"split"`` (ours: box/obj/cls from the level feature, keypoints from the
      keypoint branch) or ``"official"``: the authors' channel order, where one conv on the level
      feature and one on the keypoint branch are concatenated and read as ``(na, 5 + nc + 3K)``,
      so some anchors' boxes come from the keypoint branch. Both layouts return the same split
      ``(det, kpt_xy, kpt_conf)`` outputs; ``"official"`` exists to load the authors' weights.
    - ``kpt_head_convs``: when > 0, the keypoint branch is this many full 3x3 ConvBNAct layers of
      ``kpt_head_width`` (full-size) channels instead of the depthwise stack (the ``-dense``
      variants).
    - ``spp_activation`` / ``kpt_head_activation``: activation of the SPP block / of the keypoint
      branch when it differs from ``activation`` (the official ``ti_lite`` models keep SiLU there).
    """

    name: str
    depth_multiple: float
    width_multiple: float
    anchors: Anchors
    stages: Tuple[Tuple[int, int], ...]
    stem_channels: int = 64
    neck_repeats: int = 3
    spp_kernels: Tuple[int, ...] = (3, 5, 7)
    activation: str = "silu"
    stem: str = "focus"
    kpt_head_blocks: int = 5
    num_keypoints: int = 17
    num_classes: int = 1
    kpt_head_depthwise: bool = True
    head_layout: str = "split"
    spp_activation: Optional[str] = None
    kpt_head_activation: Optional[str] = None
    kpt_head_convs: int = 0
    kpt_head_width: int = 256

    def __post_init__(self) -> None:
        def fail(msg: str) -> None:
            raise ConfigError(f"model config {self.name!r}: {msg}")

        if self.activation not in ACTIVATIONS:
            fail(f"activation {self.activation!r} is not one of {ACTIVATIONS}")
        if self.stem not in STEMS:
            fail(f"stem {self.stem!r} is not one of {STEMS}")
        for field in ("spp_activation", "kpt_head_activation"):
            value = getattr(self, field)
            if value is not None and value not in ACTIVATIONS:
                fail(f"{field} {value!r} is not one of {ACTIVATIONS}")
        if self.head_layout not in HEAD_LAYOUTS:
            fail(f"head_layout {self.head_layout!r} is not one of {HEAD_LAYOUTS}")
        if self.kpt_head_blocks < 0:
            fail("kpt_head_blocks must be >= 0")
        if self.kpt_head_convs < 0 or self.kpt_head_width <= 0:
            fail("kpt_head_convs must be >= 0 and kpt_head_width > 0")
        if self.kpt_head_convs and self.head_layout != "split":
            fail("a dense keypoint branch (kpt_head_convs > 0) needs head_layout 'split'")
        if self.num_keypoints <= 0 or self.num_classes <= 0:
            fail("num_keypoints and num_classes must be positive")
        if len(self.stages) < 3:
            fail("needs at least 3 backbone stages (strides 4, 8, 16)")
        if len(self.anchors) != len(self.stages) - 1:
            fail(f"{len(self.anchors)} anchor levels for {len(self.stages) - 1} output levels")
        if len({len(level) for level in self.anchors}) != 1:
            fail("every level must have the same number of anchors")
        if not (0 < self.depth_multiple and 0 < self.width_multiple):
            fail("depth_multiple and width_multiple must be positive")

    # ------------------------------------------------------------------ derived facts
    @property
    def num_levels(self) -> int:
        """Number of output levels (3 for P5 models, 4 for P6 models)."""
        return len(self.anchors)

    @property
    def num_anchors(self) -> int:
        """Anchors per grid cell."""
        return len(self.anchors[0])

    @property
    def strides(self) -> Tuple[int, ...]:
        """Output strides in pixels, smallest first (8, 16, 32[, 64])."""
        return tuple(2 ** (3 + i) for i in range(self.num_levels))

    @property
    def max_stride(self) -> int:
        """The input size must be a multiple of this."""
        return self.strides[-1]

    def channels(self, c: int) -> int:
        """Scale a full-size channel count by ``width_multiple`` (multiple of 8, rounded up)."""
        return int(math.ceil(c * self.width_multiple / 8) * 8)

    def repeats(self, n: int) -> int:
        """Scale a full-size repeat count by ``depth_multiple`` (at least 1)."""
        return max(round(n * self.depth_multiple), 1) if n > 1 else n

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> Dict[str, Any]:
        """Plain lists/ints/floats/strings only (checkpoint-safe, JSON-ready)."""
        d = dataclasses.asdict(self)
        d["anchors"] = [[list(a) for a in level] for level in self.anchors]
        d["stages"] = [list(s) for s in self.stages]
        d["spp_kernels"] = list(self.spp_kernels)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<config>") -> "ModelConfig":
        """Inverse of :meth:`to_dict`; ``source`` names the file in error messages."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: model config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown model config fields {unknown}")
        try:
            kwargs = dict(data)
            kwargs["anchors"] = tuple(tuple((float(a[0]), float(a[1])) for a in lvl) for lvl in data["anchors"])
            kwargs["stages"] = tuple((int(c), int(n)) for c, n in data["stages"])
            if "spp_kernels" in data:
                kwargs["spp_kernels"] = tuple(int(k) for k in data["spp_kernels"])
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{source}: malformed model config ({exc})") from None


# ---------------------------------------------------------------------- the registry
_MODELS: Registry[ModelConfig] = Registry("model")

#: (depth, width) per size letter (YOLOv5's scales, as in the paper's Table 1 models).
_SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0)}

_P6_ANCHORS: Anchors = (
    ((19, 27), (44, 40), (38, 94)),
    ((96, 68), (86, 152), (180, 137)),
    ((140, 301), (303, 264), (238, 542)),
    ((436, 615), (739, 380), (925, 792)),
)
_P5_ANCHORS: Anchors = (
    ((10, 13), (16, 30), (33, 23)),
    ((30, 61), (62, 45), (59, 119)),
    ((116, 90), (156, 198), (373, 326)),
)
_P6_STAGES = ((128, 3), (256, 9), (512, 9), (768, 3), (1024, 3))
_P5_STAGES = ((128, 3), (256, 9), (512, 9), (1024, 3))

#: variant suffix -> field overrides
_VARIANTS: Dict[str, Dict[str, Any]] = {
    "": {},
    "-lite": {"activation": "relu", "stem": "conv"},
    "-dense": {"kpt_head_convs": 2},
}


def register_model(config: ModelConfig) -> ModelConfig:
    """Add a configuration to the registry (names are unique)."""
    return _MODELS.register(config.name, config)


def _register_family() -> None:
    families = [
        ("6-pose", "nsml", _P6_ANCHORS, _P6_STAGES, (3, 5, 7)),
        ("-pose", "ns", _P5_ANCHORS, _P5_STAGES, (5, 9, 13)),
    ]
    for suffix, sizes, anchors, stages, spp in families:
        for size in sizes:
            depth, width = _SCALES[size]
            for variant, overrides in _VARIANTS.items():
                register_model(
                    ModelConfig(
                        name=f"yolov5{size}{suffix}{variant}",
                        depth_multiple=depth,
                        width_multiple=width,
                        anchors=anchors,
                        stages=stages,
                        spp_kernels=spp,
                        **overrides,
                    )
                )


_register_family()


def list_models() -> List[str]:
    """Names of all registered models, in registration order (by family, then size)."""
    return _MODELS.names()


def get_config(name: str) -> ModelConfig:
    """The configuration registered as ``name``; :class:`ConfigError` lists the known names."""
    return _MODELS.get(name)
