"""What an export is asked to do, and what it produced."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from yolopose.errors import ConfigError

from .verify import FP32_TOLERANCE_PX, FP32_TOLERANCE_REL, MIN_BOX_IOU, MIN_KEYPOINT_OKS

__all__ = ["PRECISIONS", "ExportOptions", "ExportResult", "select_precisions"]

PRECISIONS = ("fp32", "fp16", "int8")


def select_precisions(
    precisions: Optional[Sequence[str]] = None, *, fp32: Optional[bool] = None, fp16: bool = False, int8: bool = False
) -> Tuple[str, ...]:
    """The precisions to write: ``precisions`` plus the ``fp16`` / ``int8`` flags; fp32 is added
    when ``fp32=True``, or (``fp32=None``) when nothing else is asked for. The one rule used by
    ``yolopose-export``'s flags and by :func:`yolopose.export.export`'s arguments."""
    chosen = list(precisions or ())
    chosen += (["fp16"] if fp16 else []) + (["int8"] if int8 else [])
    if fp32 or (fp32 is None and not chosen):
        chosen.insert(0, "fp32")
    return tuple(dict.fromkeys(chosen))


@dataclass(frozen=True)
class ExportOptions:
    """Everything an export is asked to do (the one place the formats and ``export()`` read it).

    ``imgsz`` is the network input ``(h, w)`` (``None`` until resolved: the checkpoint's size, else
    640). ``batch`` is a fixed batch size; ``dynamic=True`` makes the batch dimension dynamic (ONNX
    and OpenVINO; TFLite is always exported with a fixed batch). ``calib`` is a folder of images
    or a dataset folder (``None``: generated images). ``qat`` takes int8 ranges and weights from a
    QAT checkpoint (and requires one). ``int8_recipe`` names the layers kept float
    (:mod:`yolopose.training.int8_recipes`: ``"mixed"``, ``"full"``; ``None``: a QAT checkpoint's
    own recipe, else ``"mixed"``). ``int8_weight_bits=7`` stores the int8 ONNX and OpenVINO
    weights on a 7-bit grid: x86 CPUs without VNNI add their int8 products in saturating 16-bit
    pairs, which 7-bit weights cannot overflow (:func:`yolopose.cpu.int8_dot_saturates`).
    """

    imgsz: Optional[Tuple[int, int]] = None
    precisions: Tuple[str, ...] = ("fp32",)
    batch: int = 1
    dynamic: bool = False
    calib: Optional[str] = None
    calib_images: int = 64
    qat: bool = False
    int8_recipe: Optional[str] = None
    int8_weight_bits: int = 8  # 7: int8 ONNX/OpenVINO for x86 CPUs without VNNI (the TFLite keeps 8)
    out: Path = Path("exports")
    verify: bool = True
    fp32_tolerance_px: float = FP32_TOLERANCE_PX  # fp32 keypoints may differ from torch's by this
    fp32_tolerance_rel: float = FP32_TOLERANCE_REL  # plus this fraction of their reach (verify.KeypointComparison)
    min_keypoint_oks: float = MIN_KEYPOINT_OKS  # below this keypoint agreement with torch an artifact is flagged (see verify)
    min_box_iou: float = MIN_BOX_IOU  # ... or below this box agreement
    simplify: bool = True
    seed: int = 0
    trained_on: Optional[str] = None  # metadata "trained_on" (None: the training data's folder name)
    description: Optional[str] = None  # metadata "description" (None: model and yolopose version)

    def __post_init__(self) -> None:
        unknown = [p for p in self.precisions if p not in PRECISIONS]
        if unknown or not self.precisions:
            raise ConfigError(f"precisions must be a non-empty subset of {PRECISIONS}, got {tuple(self.precisions)}")
        if self.batch < 1:
            raise ConfigError(f"batch must be >= 1, got {self.batch}")
        if self.int8_weight_bits not in (7, 8):
            raise ConfigError(f"int8_weight_bits must be 7 or 8, got {self.int8_weight_bits}")
        if self.calib_images < 1:
            raise ConfigError(f"calib_images must be >= 1, got {self.calib_images}")
        if self.int8_recipe is not None:
            from yolopose.training.int8_recipes import get_recipe

            get_recipe(self.int8_recipe)  # ConfigError naming the known recipes


@dataclass
class ExportResult:
    """One written artifact and how it compared with torch."""

    format: str
    precision: str
    path: Path
    size_bytes: int
    quantization: Optional[str] = None  # None, "ptq" or "qat"
    int8_recipe: Optional[str] = None  # the int8 recipe (int8 artifacts only)
    kpt_err_max_px: Optional[float] = None  # decoded keypoints vs torch fp32, max abs (pixels)
    kpt_err_mean_px: Optional[float] = None
    kpt_oks: Optional[float] = None  # keypoint agreement with torch where torch sees people (verify.KeypointComparison)
    kpt_oks_candidates: int = 0  # how many candidates that agreement is averaged over
    box_iou: Optional[float] = None  # the same candidates' box agreement with torch (mean IoU)
    verified: bool = False
    ops: Dict[str, int] = field(default_factory=dict)  # op histogram (TFLite)
    float_ops: Sequence[str] = ()  # ops computing in float inside an int8 graph
    notes: Sequence[str] = ()

    @property
    def size_mb(self) -> float:
        """File size in MiB (all files of a multi-file artifact)."""
        return self.size_bytes / 2**20
