"""The interface every output layout implements, and what it is given to decide (see the package
docstring of :mod:`yolopose.layouts`)."""
from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import ConfigError, MetadataError
from ..core.metadata import ModelMetadata
from ..core.ops.decode import Candidates

__all__ = ["LayoutExample", "ModelFacts", "OutputLayout", "input_layout_of"]


def input_layout_of(shape: Sequence[Optional[int]], hint: str = "NCHW") -> str:
    """``"NCHW"`` or ``"NHWC"`` from a 4-D image input shape (3 channels); ``hint`` when unclear."""
    if shape[1] == 3 and shape[3] != 3:
        return "NCHW"
    if shape[3] == 3 and shape[1] != 3:
        return "NHWC"
    return hint


@dataclass(frozen=True)
class ModelFacts:
    """What a layout may look at: one loaded model's tensors and metadata, no engine.

    ``outputs`` are the engine's tensor descriptions (``name``, ``shape`` with ``None`` for dynamic
    dimensions, ``dtype``, ``quant``), in engine order. ``metadata`` is the embedded yolopose
    metadata (``None`` for other tools' models), with a requested ``imgsz`` already applied;
    ``properties`` the artifact's key/value metadata as strings (ONNX ``metadata_props``, ...).
    """

    source: str
    input: Any  # yolopose.runtimes.TensorInfo of the image input
    outputs: Tuple[Any, ...]
    properties: Mapping[str, str] = field(default_factory=dict)
    metadata: Optional[ModelMetadata] = None
    imgsz: Optional[Tuple[int, int]] = None  # a requested input size (models with a dynamic size)

    @property
    def input_layout(self) -> str:
        """``"NCHW"`` or ``"NHWC"``."""
        return input_layout_of(self.input.shape, self.metadata.input_layout if self.metadata else "NCHW")

    @property
    def input_hw(self) -> Tuple[Optional[int], Optional[int]]:
        """The input's ``(height, width)`` as the engine states it (``None`` where dynamic)."""
        shape = self.input.shape
        return (shape[2], shape[3]) if self.input_layout == "NCHW" else (shape[1], shape[2])

    def describe_outputs(self) -> str:
        """``"output0 (1, 300, 57), ..."`` for error messages."""
        return ", ".join(f"{o.name} {tuple(o.shape)}" for o in self.outputs) or "no outputs"

    @classmethod
    def from_runtime(cls, runtime: Any, imgsz: Optional[Tuple[int, int]] = None) -> "ModelFacts":
        """The facts of a loaded :class:`yolopose.runtimes.Runtime` (``imgsz``: requested ``(h, w)``)."""
        meta = runtime.metadata
        facts = cls(str(runtime.path), runtime.inputs[0], tuple(runtime.outputs), dict(runtime.properties), meta)
        if imgsz is None:
            return facts
        hw, fixed = (int(imgsz[0]), int(imgsz[1])), facts.input_hw
        if None not in fixed:
            if hw != fixed:
                raise ConfigError(f"{facts.source} has a fixed input size {fixed[0]}x{fixed[1]}; it cannot run at {hw[0]}x{hw[1]}")
            return facts
        if meta is not None and hw != tuple(meta.imgsz):
            try:
                meta = dataclasses.replace(meta, imgsz=hw)
            except MetadataError as exc:
                raise ConfigError(str(exc)) from None
        return dataclasses.replace(facts, metadata=meta, imgsz=hw)


@dataclass(frozen=True)
class LayoutExample:
    """A tiny model of one layout, and the poses it holds.

    The model has one input ``images`` ``(1, 3, *imgsz)`` float32 and returns ``outputs`` (batch 1,
    float32) whatever the image; ``properties`` are its key/value metadata. Decoded at ``conf``,
    its outputs give exactly ``boxes`` ``(N, 4)`` xyxy, ``scores`` ``(N,)`` and ``keypoints``
    ``(N, K, 3)`` in input pixels (in any order), before NMS.
    """

    outputs: Tuple[Tuple[str, np.ndarray], ...]
    properties: Mapping[str, str]
    imgsz: Tuple[int, int]
    conf: float
    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray


class OutputLayout(abc.ABC):
    """One family of model outputs: recognise it, arrange the engine's outputs, decode them.

    An instance is bound to one model: ``metadata`` (what the SDK runs it with), ``used`` (the
    engine output indices it reads, in the order :meth:`arrange` receives them) and ``batch``
    (the batch the engine runs at when the layout knows it better than the input shape, else
    ``None``).
    """

    #: registry name
    name: ClassVar[str] = ""
    #: whether the decoded candidates still need non-maximum suppression
    nms: ClassVar[bool] = True

    def __init__(self, metadata: ModelMetadata, used: Sequence[int], source: str = "", batch: Optional[int] = None) -> None:
        self.metadata = metadata
        self.used = tuple(int(i) for i in used)
        self.source = source
        self.batch = batch

    @classmethod
    @abc.abstractmethod
    def match(cls, model: ModelFacts) -> Optional["OutputLayout"]:
        """This layout bound to ``model``, or ``None`` when the model is not of this family."""

    def arrange(self, outputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """The used engine outputs (float32, in ``used`` order) -> the arrays :meth:`decode` reads,
        batch first. The default keeps them as they are."""
        return [np.asarray(o) for o in outputs]

    @abc.abstractmethod
    def decode(self, arrays: Sequence[np.ndarray], conf: float) -> List[Candidates]:
        """Arrays from :meth:`arrange` -> one :class:`Candidates` per image, ``score >= conf``, in
        network-input pixels."""

    @classmethod
    @abc.abstractmethod
    def example(cls) -> LayoutExample:
        """A tiny model of this layout (for the registry's contract test and as documentation)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.metadata.model!r}, outputs {list(self.used)})"
