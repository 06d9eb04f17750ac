"""Output layouts: how the outputs of a pose model are read. One module per family of outputs.

A layout is an :class:`~yolopose.layouts.base.OutputLayout` subclass with one small interface:

- ``match(model) -> layout | None``: is this model (:class:`~yolopose.layouts.base.ModelFacts`:
  its embedded yolopose metadata, other tools' key/value metadata, its tensor shapes) one of mine?
  The layout returned holds the :class:`~yolopose.core.metadata.ModelMetadata` the SDK runs with and
  which engine outputs it reads (``used``). ``None`` lets the next layout try; a model whose own
  metadata names this layout but whose outputs do not fit is a :class:`~yolopose.core.errors.ModelError`.
- ``arrange(outputs)``: the used engine outputs (float32) -> the arrays ``PoseEstimator.infer``
  returns (batch first);
- ``decode(arrays, conf)``: those arrays -> one :class:`~yolopose.core.ops.Candidates` per image;
- ``nms``: whether the candidates still need non-maximum suppression;
- ``example()``: a tiny model of the layout (outputs, metadata, the poses in it) that the
  registry's contract test (``tests/test_layouts.py``) runs through a real engine.

Built-in layouts, tried in this order (the first match wins; ``LAYOUTS.names()``):

=========== ===============================================================================
``raw``     yolopose's own exports: per level ``det``, ``kpt_xy``, ``kpt_conf`` raw head tensors
``decoded`` one ``(B, 4 + nc + K*d, N)`` or ``(B, N, ...)`` tensor of ``cx, cy, w, h``, class
            scores, keypoints (YOLOv8/YOLO11 and YOLO26 ``end2end=False`` pose exports)
``official`` the ONNX files of the YOLO-Pose authors' own exporter (raw, ``--grid``, ``--export-nms``)
``end2end`` one ``(B, N, 6 + 3K)`` tensor of ``x1, y1, x2, y2, score, class``, keypoints, already
            free of duplicates (YOLO26-pose default export): no NMS
=========== ===============================================================================

A new layout is one module with one subclass and one line in :data:`BUILTIN_LAYOUTS` below;
code outside the package calls :func:`register_layout`.
"""
from __future__ import annotations

import importlib
from typing import Type

from ..core.errors import MetadataError
from ..core.registry import Registry
from .base import LayoutExample, ModelFacts, OutputLayout

__all__ = ["LAYOUTS", "LayoutExample", "ModelFacts", "OutputLayout", "choose_layout", "register_layout"]


#: the built-in layouts, ``module:class``, in the order :func:`choose_layout` tries them (a new
#: layout is one line here)
BUILTIN_LAYOUTS = (
    "yolopose.layouts.raw:RawLayout",
    "yolopose.layouts.decoded:DecodedLayout",
    "yolopose.layouts.official:OfficialLayout",
    "yolopose.layouts.end2end:EndToEndLayout",
)


def _builtins() -> None:
    for target in BUILTIN_LAYOUTS:
        module, name = target.split(":")
        layout = getattr(importlib.import_module(module), name)
        LAYOUTS.register(layout.name, layout)


#: every output layout by name, in the order :func:`choose_layout` tries them
LAYOUTS: Registry[Type[OutputLayout]] = Registry("output layout", builtins=_builtins)


def register_layout(layout: Type[OutputLayout], replace: bool = False) -> Type[OutputLayout]:
    """Add a layout (tried after the ones registered before it); usable as a class decorator."""
    LAYOUTS.register(layout.name, layout, replace=replace)
    return layout


def choose_layout(model: ModelFacts) -> OutputLayout:
    """The first registered layout that matches ``model``; :class:`MetadataError` when none does."""
    for layout in LAYOUTS.values():
        found = layout.match(model)
        if found is not None:
            return found
    raise MetadataError(
        f"{model.source}: no known output layout fits this model ({', '.join(LAYOUTS.names())} were tried); "
        f"{'its yolopose metadata says ' + repr(model.metadata.output_format) + '; ' if model.metadata else 'it has no yolopose metadata; '}"
        f"the model has {model.describe_outputs()}"
    )

