"""One export run's shared state: the model, sizes, metadata, calibration set, fixed test inputs
and the torch reference outputs. Formats read from it; nothing here is format-specific."""
from __future__ import annotations

import re
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch

from yolopose.core.metadata import ModelMetadata

from .calibration import CalibrationSet, calibration_images, verification_images
from .options import ExportOptions
from .source import ModelSource
from yolopose.training.models.raw_outputs import RawOutputs

if TYPE_CHECKING:  # pragma: no cover
    from yolopose.training.int8_recipes import Int8Recipe

__all__ = ["ExportJob", "VERIFY_IMAGES", "artifact_output_names"]

#: Images every artifact is verified on (more people make the keypoint agreement of int8 steadier).
VERIFY_IMAGES = 8


def artifact_output_names(strides) -> List[str]:
    """``p3_det, p3_kpt_xy, p3_kpt_conf, p4_det, ...`` for the given strides."""
    from yolopose.training.models.inference import output_names

    return [name for _, _, name in output_names(strides)]


class ExportJob:
    """Everything the format modules share for one ``export()`` call."""

    def __init__(self, source: ModelSource, options: ExportOptions, log: Callable[[str], None]) -> None:
        if options.imgsz is None:
            raise ValueError("ExportJob needs options with a resolved imgsz")
        self.source = source
        self.options = options
        self.log = log
        #: intermediate results shared by formats (e.g. the fp32 ONNX graph OpenVINO starts from)
        self.cache: Dict[str, Any] = {}

    # ------------------------------------------------------------------ naming and metadata
    @property
    def imgsz(self) -> Tuple[int, int]:
        """Network input ``(h, w)``."""
        assert self.options.imgsz is not None
        return self.options.imgsz

    @property
    def batch(self) -> Optional[int]:
        """Fixed batch size, or ``None`` for a dynamic batch."""
        return None if self.options.dynamic else self.options.batch

    def stem(self, precision: str) -> str:
        """File stem, e.g. ``yolov5s6-pose_640_int8-qat``."""
        h, w = self.imgsz
        size = f"{h}" if h == w else f"{h}x{w}"
        quant = self.quantization(precision)
        tag = f"{precision}-{quant}" if quant == "qat" else precision
        batch = "" if self.batch == 1 else ("_bdyn" if self.batch is None else f"_b{self.batch}")
        base = re.sub(r"[^A-Za-z0-9._-]", "_", self.source.name)
        return f"{base}_{size}{batch}_{tag}"

    def quantization(self, precision: str) -> Optional[str]:
        """``None`` (float), ``"ptq"`` or ``"qat"``."""
        if precision != "int8":
            return None
        return "qat" if self.source.qat_graph is not None else "ptq"

    @cached_property
    def recipe(self) -> "Int8Recipe":
        """The int8 recipe (:mod:`yolopose.training.int8_recipes`): a QAT checkpoint's own, else the
        one asked for, else the default. Asking a QAT checkpoint for another one is an error: its
        weights were tuned under its recipe's float/int8 split."""
        from yolopose.core.errors import ConfigError
        from yolopose.training.int8_recipes import DEFAULT_RECIPE, get_recipe
        from yolopose.training.qat import qat_recipe

        asked = self.options.int8_recipe
        if self.source.qat_graph is not None:
            own = qat_recipe(self.source.checkpoint or {})
            if asked is not None and asked != own:
                raise ConfigError(f"{self.source.label} was QAT-tuned with int8 recipe {own!r}; it exports with that "
                                  f"recipe only (asked: {asked!r}). Run `yolopose-train qat --int8-recipe {asked}` for another.")
            return get_recipe(own)
        return get_recipe(asked or DEFAULT_RECIPE)

    @cached_property
    def float_layers(self) -> Tuple[str, ...]:
        """The network's modules that stay float in the int8 artifacts (:attr:`recipe`)."""
        return self.recipe.float_layers(self.source.model)

    @property
    def output_names(self) -> List[str]:
        return artifact_output_names(self.source.strides)

    def metadata(self, precision: str, input_layout: str, input_dtype: str = "float32", **extra: Any) -> ModelMetadata:
        """The artifact's metadata (docs/architecture.md, "Exported artifacts")."""
        from yolopose.core import __version__
        from yolopose.training.models import model_metadata

        ckpt = self.source.checkpoint or {}
        info: Dict[str, Any] = {"exported_from": self.source.label, "fresh_weights": self.source.fresh}
        if self.quantization(precision):
            info["int8_recipe"] = self.recipe.name
            info["float_layers"] = list(self.float_layers)  # modules computing in float (none: full integer)
            if self.quantization(precision) == "ptq":
                info["calibration"] = self.calibration.source
        if ckpt.get("source"):
            info["source"] = ckpt["source"]  # e.g. an official checkpoint and the AP its authors report
        info.update(extra)
        return model_metadata(
            self.source.model,
            self.imgsz,
            precision=precision,
            quantization=self.quantization(precision),
            input_layout=input_layout,
            input_dtype=input_dtype,
            batch=self.batch,
            version=__version__,
            trained_on=self.options.trained_on if self.options.trained_on is not None else _data_name(ckpt),
            description=self.options.description or f"YOLO-Pose {self.source.name} exported by yolopose {__version__}",
            extra=info,
        )

    # ------------------------------------------------------------------ inputs
    @cached_property
    def calibration(self) -> CalibrationSet:
        """Calibration images (built on first use; logged)."""
        cal = calibration_images(self.imgsz, self.options.calib_images, self.options.calib, self.options.seed,
                                 held_out=self.verify_count)
        self.log(f"calibration: {cal.source}")
        return cal

    @cached_property
    def int8_graph(self):
        """The PT2E int8 graph every int8 artifact is made from (:mod:`yolopose.training.qat`):
        a QAT checkpoint's fake-quantized graph with its learned ranges, or the float network
        calibrated on :attr:`calibration` (PTQ); at :attr:`imgsz`."""
        from yolopose.training.qat import build_quant_graph, calibrate, load_qat_graph

        graph = self.source.qat_graph
        if graph is None:
            graph = build_quant_graph(self.source.model, self.imgsz, qat=False, recipe=self.recipe.name)
            cal, step = self.calibration, 8
            t0 = time.perf_counter()
            calibrate(graph, (torch.from_numpy(cal.float_nhwc(i, i + step)) for i in range(0, len(cal.images), step)))
            self.log(f"int8 ranges (PT2E, for ONNX and TFLite): calibrated on {len(cal.images)} images in "
                     f"{time.perf_counter() - t0:.1f} s")
        elif tuple(graph.imgsz) != tuple(self.imgsz):
            graph, _, _ = load_qat_graph(self.source.checkpoint, imgsz=self.imgsz)
        return graph

    @cached_property
    def int8_module(self) -> torch.nn.Module:
        """:attr:`int8_graph` converted to quantize/dequantize ops (the int8 reference in torch)."""
        from yolopose.training.qat import convert_to_int8

        return convert_to_int8(self.int8_graph)

    @property
    def verify_count(self) -> int:
        """How many verification images: :data:`VERIFY_IMAGES` rounded up to whole batches."""
        batch = self.batch or 1
        return -(-VERIFY_IMAGES // batch) * batch

    @cached_property
    def test_images(self) -> np.ndarray:
        """Fixed verification images ``(N, H, W, 3)`` uint8, none of them a calibration image
        (:func:`~yolopose.export.calibration.verification_images`): held out of the calibration
        folder when one is given (the user's own people), else generated with another seed."""
        ver = verification_images(self.imgsz, self.verify_count, self.options.calib, self.options.seed)
        self.log(f"verification: {ver.source}")
        return ver.images

    @cached_property
    def reference(self) -> List[np.ndarray]:
        """Torch fp32 raw outputs (NHWC numpy, metadata order) on :attr:`test_images`."""
        wrapper = RawOutputs(self.source.model, "NHWC").eval()
        with torch.no_grad():
            outs = wrapper(torch.from_numpy(self.test_images.astype(np.float32) / 255.0))
        return [o.numpy() for o in outs]

    def out_path(self, name: str) -> Path:
        return Path(self.options.out) / name


def _data_name(ckpt: Mapping[str, Any]) -> str:
    """The training data's folder or file name (not its full local path)."""
    if (ckpt.get("source") or {}).get("kind") == "official-yolo-pose" and not ckpt.get("train_args"):
        return "COCO train2017 keypoints (the authors' official YOLO-Pose training)"
    data = str((ckpt.get("train_args") or {}).get("data", "") or "")
    return Path(data).name if data else ""
