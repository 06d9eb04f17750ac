"""What an export is asked to do, and what it produced.

:class:`ExportOptions` is the one place an export setting is written: :func:`yolopose.export.export`
takes its fields as keywords, and ``yolopose-export``'s options are generated from it
(:func:`yolopose.core.cli.settings_options`); a new setting is one field here."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from yolopose.core.errors import ConfigError
from yolopose.core.settings import Option, ints, paths, setting, with_values
from yolopose.training.int8_recipes import DEFAULT_RECIPE, get_recipe, list_recipes

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
    pairs, which 7-bit weights cannot overflow (:func:`yolopose.core.cpu.int8_dot_saturates`).
    """

    imgsz: Optional[Tuple[int, int]] = setting(None, cli=Option(
        "Input size: 640 or HxW such as 384x640.", type=lambda: _ImageSize(), show_default="the checkpoint's, else 640"))
    precisions: Tuple[str, ...] = ("fp32",)  # on the command line: --fp32/--fp16/--int8 (select_precisions)
    batch: int = setting(1, cli=Option("Fixed batch size.", type=ints(1)))
    dynamic: bool = setting(False, cli=Option("Dynamic batch dimension (ONNX, OpenVINO)."))
    calib: Optional[str] = setting(None, cli=Option(
        "Folder of calibration images (e.g. a `yolopose-train synth` dataset).", flags=("--calib", "--data"),
        type=paths(exists=True, file_okay=False), show_default="generated images"))
    calib_images: int = setting(64, cli=Option("Calibration images to use.", type=ints(1)))
    qat: bool = setting(False, cli=Option("Take int8 quantization from a QAT checkpoint (`yolopose-train qat`)."))
    int8_recipe: Optional[str] = setting(None, cli=Option(
        "Layers the int8 artifacts keep float. " + " ".join(f"{name}: {get_recipe(name).summary}." for name in list_recipes()),
        type=lambda: _recipe_choice(), show_default=f"{DEFAULT_RECIPE}; a QAT checkpoint's own recipe"))
    int8_weight_bits: int = setting(8, cli=Option(  # 7: int8 ONNX/OpenVINO for x86 CPUs without VNNI (the TFLite keeps 8)
        "Bits of the int8 ONNX/OpenVINO weights. 7 can help on x86 CPUs without VNNI (AVX2 only), whose int8 convolutions "
        "saturate 16-bit sums of 8-bit products (`yolopose bench` prints the CPU's flags), but costs QAT-tuned weights "
        "accuracy: compare with `yolopose eval`. The TFLite keeps 8.", type=lambda: _choice(["8", "7"]), convert=int))
    out: Path = setting(Path("exports"), cli=Option("Output folder.", flags=("--out", "-o"), type=paths(file_okay=False),
                                                    convert=Path))
    verify: bool = setting(True, cli=Option("Run each artifact against torch (--no-verify skips it)."))
    fp32_tolerance_px: float = FP32_TOLERANCE_PX  # fp32 keypoints may differ from torch's by this
    fp32_tolerance_rel: float = FP32_TOLERANCE_REL  # plus this fraction of their reach (verify.KeypointComparison)
    min_keypoint_oks: float = MIN_KEYPOINT_OKS  # below this keypoint agreement with torch an artifact is flagged (see verify)
    min_box_iou: float = MIN_BOX_IOU  # ... or below this box agreement
    simplify: bool = True
    seed: int = 0
    trained_on: Optional[str] = setting(None, cli=Option(  # metadata "trained_on"
        "What the weights were trained on, for the metadata.", metavar="TEXT", show_default="the training data's folder name"))
    description: Optional[str] = setting(None, cli=Option(  # metadata "description" (None: model and yolopose version)
        "Free-text model description for the metadata.", metavar="TEXT"))

    def __post_init__(self) -> None:
        from yolopose.core.ops import as_hw

        if self.imgsz is not None:
            object.__setattr__(self, "imgsz", as_hw(self.imgsz))
        object.__setattr__(self, "precisions", tuple(self.precisions))
        object.__setattr__(self, "out", Path(self.out))
        if self.calib is not None:
            object.__setattr__(self, "calib", os.fspath(self.calib))
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
            get_recipe(self.int8_recipe)  # ConfigError naming the known recipes

    def with_values(self, **values: Any) -> "ExportOptions":
        """A copy with the given values that are not ``None`` (unknown names: :class:`ConfigError`)."""
        return with_values(self, **values)


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


def _choice(names: Sequence[str]) -> Any:
    import click

    return click.Choice(list(names))


def _recipe_choice() -> Any:
    from yolopose.core.cli import RegistryChoice

    return RegistryChoice(list_recipes)


def _parse_imgsz(value: str) -> Any:
    """``--imgsz`` text: ``640`` or ``HxW`` (``384x640``, ``384,640``); ``None`` when it is neither."""
    parts = value.lower().replace(",", "x").split("x")
    try:
        nums = [int(p) for p in parts if p]
    except ValueError:
        return None
    return (nums[0], nums[0]) if len(nums) == 1 else (nums[0], nums[1]) if len(nums) == 2 else None


def _ImageSize() -> Any:  # noqa: N802 - a click type, built lazily (click is imported on use)
    import click

    class ImageSize(click.ParamType):
        name = "size"

        def convert(self, value: Any, param: Any, ctx: Any) -> Any:
            if value is None or isinstance(value, tuple):
                return value
            size = _parse_imgsz(str(value))
            if size is None:
                self.fail(f"{value!r} is not a size like 640 or 384x640 (height x width)", param, ctx)
            return size

    return ImageSize()
