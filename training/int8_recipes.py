"""int8 recipes: which layers of a YOLO-Pose network stay in float when the rest runs in int8.

Torch-free, so command lines list the recipes without loading torch. One registry, used by post-training quantization (``yolopose-export --int8 --int8-recipe NAME``)
and by QAT (``yolopose-train qat --int8-recipe NAME``), so a QAT checkpoint is fine-tuned under
the same float/int8 split it is deployed with:

- ``mixed`` (the default): the pose head (box/objectness/class outputs and the depthwise keypoint
  branch) and the neck layers that compute its input features stay float; the backbone and the
  rest of the neck run in int8. Per-tensor int8 activations crush the keypoint branch's depthwise
  channels (most of its channels span a few int8 steps), and one int8 range for box offsets and
  objectness logits costs box precision; in float they keep the fp32 accuracy for a small part
  of the compute (measured by ``benchmarks/int8_speed.py``).
- ``full``: every layer int8, inputs and outputs included (full-integer TFLite), for NPUs and
  accelerators that run int8 operators only (Edge TPU and the like). Costs keypoint accuracy.

Each format applies the recipe with its own library's mechanism (docs/int8.md): the PT2E quantizer
leaves these modules unannotated (TFLite, ONNX), NNCF's ``ignored_scope`` skips their nodes
(OpenVINO).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Tuple

from yolopose.core.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = ["DEFAULT_RECIPE", "Int8Recipe", "get_recipe", "list_recipes", "register_recipe"]

DEFAULT_RECIPE = "mixed"


@dataclass(frozen=True)
class Int8Recipe:
    """A named float/int8 split. ``float_modules(model)`` returns the names (as in
    ``model.named_modules()``) of the modules that stay float; every module below one of them does
    too. ``summary`` is what the exporter and ``--help`` say it does and costs."""

    name: str
    summary: str
    float_modules: Callable[["nn.Module"], Tuple[str, ...]]

    @property
    def full_integer(self) -> bool:
        """Whether every operator, input and output is int8 (no float layer at all)."""
        return self.name == "full"

    def float_layers(self, model: "nn.Module") -> Tuple[str, ...]:
        """``float_modules(model)``, each checked to name a module of ``model``."""
        names = tuple(self.float_modules(model))
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise ValueError(f"int8 recipe {self.name!r} names modules the model does not have: {missing}")
        return names


_RECIPES: Registry[Int8Recipe] = Registry("int8 recipe")


def register_recipe(recipe: Int8Recipe, replace: bool = False) -> Int8Recipe:
    """Add a recipe to the registry (open to third parties)."""
    return _RECIPES.register(recipe.name, recipe, replace=replace)


def get_recipe(name: str) -> Int8Recipe:
    """The recipe registered as ``name`` (:class:`~yolopose.core.errors.ConfigError` lists the known ones)."""
    return _RECIPES.get(name)


def list_recipes() -> List[str]:
    """Registered recipe names, the default first."""
    return _RECIPES.names()


def _head_and_its_inputs(model: "nn.Module") -> Tuple[str, ...]:
    return tuple(model.head_and_its_inputs())


register_recipe(Int8Recipe(
    "mixed",
    "int8 backbone and neck, float pose head and the neck layers feeding it: keeps the fp32 keypoint "
    "accuracy for a small part of the compute (the default)",
    _head_and_its_inputs,
))
register_recipe(Int8Recipe(
    "full",
    "every layer, input and output int8 (full-integer TFLite, for int8-only NPUs such as the Edge TPU): "
    "loses keypoint accuracy, most of it after post-training quantization",
    lambda model: (),
))
