"""Dataset formats: how one kind of label files is found, read and scored. One module per format.

A format is a :class:`DatasetFormat` registered in :data:`DATASET_FORMATS` (the built-in ones,
``coco`` and ``yolo``, are listed in :data:`BUILTIN_FORMATS`; code outside the package calls
:func:`register_dataset_format`). :func:`~yolopose.training.data.sources.resolve_source` asks the
formats, in registration order, which one a path is (a file or folder given directly, a split
inside a dataset folder, an entry of a data YAML), and
:func:`~yolopose.training.data.sources.load_records` asks the format for the inputs of the label
cache and then for the records; the dataset asks it for the COCO ground truth validation scores
against. Nothing outside a format's module knows its file layout.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from yolopose.core.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .records import ImageRecord, SkipLog

__all__ = ["DATASET_FORMATS", "DataSpec", "DatasetFormat", "FormatInputs", "get_dataset_format", "list_dataset_formats",
           "register_dataset_format"]


@dataclass(frozen=True)
class DataSpec:
    """One split of a dataset: ``format`` names its :class:`~yolopose.training.data.formats.DatasetFormat`
    (``"coco"``: ``labels`` is the JSON; ``"yolo"``: ``labels`` is the image folder or .txt list);
    ``images`` is the image folder."""

    format: str
    labels: Path
    images: Path
    num_keypoints: Optional[int] = None
    flip_index: Optional[Tuple[int, ...]] = None
    split: str = "train"
    #: read COCO images whose ``file_name`` leaves ``images`` (data YAML ``allow_outside_images: true``)
    allow_outside: bool = False

    @property
    def dataset_format(self) -> "DatasetFormat":
        return get_dataset_format(self.format)


@dataclass
class FormatInputs:
    """What a split's records are read from: the ``files`` and ``folders`` whose contents key the
    label cache, the keypoint count expected (``None``: read from the labels), and whatever the
    format found on the way (``state``, handed back to :meth:`DatasetFormat.load`)."""

    files: Sequence[Path]
    folders: Sequence[Path]
    num_keypoints: Optional[int]
    state: Any = None
    extra: Dict[str, Any] = field(default_factory=dict)


class DatasetFormat:
    """Base class of a dataset format; subclasses set :attr:`name` and implement the methods.

    ``accepts(path)``: whether ``path`` (a file or folder given as the data, or named by a data
    YAML) holds labels of this format. ``in_folder(root, split)``: where this format keeps ``split``
    inside a dataset folder (``None``: not there). ``images_for(labels)``: the image folder of a
    label source. ``inputs(spec, log)`` and ``load(spec, inputs, log, decode)``: the records of a
    split (skipped samples reported through ``log``). ``ground_truth(spec, records,
    num_keypoints)``: the COCO keypoint ground truth of those records, in original pixels.
    ``write(records, root, split)``: the records as split ``split`` of a dataset folder ``root`` in
    this format (images copied), returning the label source a user would pass (what
    ``resolve_source`` reads back): the registry's round-trip test (``tests/test_data.py``) runs
    every format through it, so a new format is tested without editing the test.
    """

    name: str = ""

    def accepts(self, path: Path) -> bool:
        raise NotImplementedError

    def in_folder(self, root: Path, split: str) -> Optional[Path]:
        return None

    def images_for(self, labels: Path) -> Path:
        raise NotImplementedError

    def inputs(self, spec: "DataSpec", log: "SkipLog") -> FormatInputs:
        raise NotImplementedError

    def load(self, spec: "DataSpec", inputs: FormatInputs, log: "SkipLog", decode: bool) -> Tuple[List["ImageRecord"], int]:
        raise NotImplementedError

    def ground_truth(self, spec: "DataSpec", records: Sequence["ImageRecord"], num_keypoints: int) -> Dict[str, Any]:
        raise NotImplementedError

    def write(self, records: Sequence["ImageRecord"], root: Path, split: str) -> Path:
        raise NotImplementedError


#: the built-in formats, ``module:class``, in the order they are asked (a new one is one line here)
BUILTIN_FORMATS = (
    "yolopose.training.data.coco:CocoFormat",
    "yolopose.training.data.yolo:YoloFormat",
)


def _builtins() -> None:
    for target in BUILTIN_FORMATS:
        module, name = target.split(":")
        register_dataset_format(getattr(importlib.import_module(module), name))


#: every dataset format by name, in the order :func:`~yolopose.training.data.sources.resolve_source` asks them
DATASET_FORMATS: Registry[DatasetFormat] = Registry("dataset format", builtins=_builtins)


def register_dataset_format(cls: type, replace: bool = False) -> type:
    """Register an instance of ``cls`` under ``cls.name`` (asked after the formats registered
    before it); usable as a class decorator."""
    DATASET_FORMATS.register(cls.name, cls(), replace=replace)
    return cls


def get_dataset_format(name: str) -> DatasetFormat:
    """The format registered as ``name`` (:class:`~yolopose.core.errors.ConfigError` lists the known ones)."""
    return DATASET_FORMATS.get(name)


def list_dataset_formats() -> List[str]:
    """Registered format names, in the order they are asked."""
    return DATASET_FORMATS.names()
