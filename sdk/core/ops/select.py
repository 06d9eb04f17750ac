"""The step after decode: cap the candidates, per-class NMS, keep the best ``max_det``, and the
settings that steer it.

One function and one settings object for every caller (the SDK's ``PoseEstimator.postprocess``,
the batch workers, ``yolopose eval``, the training validator, the post-processing benchmark), so
that validation numbers measure what users get, and a new post-processing setting is one field of
:class:`PostprocessSettings`: every command line that turns candidates into detections offers it
(:func:`yolopose.core.cli.postprocess_options`), and every caller hands it here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping

import numpy as np

from ..errors import ConfigError
from ..settings import Option, floats, from_mapping, ints, setting, with_values
from .decode import Candidates
from .nms import batched_nms

__all__ = ["EVAL_POSTPROCESS", "PostprocessSettings", "select_detections"]


@dataclass(frozen=True)
class PostprocessSettings:
    """How a model's candidates become the people reported (frozen; :meth:`with_values` makes
    changed copies).

    ``conf``: least score kept (applied while decoding); ``iou``: the NMS IoU threshold;
    ``max_det``: people per image at most; ``max_nms``: candidates entering NMS at most (the
    highest scores), bounding the time at a low ``conf``.
    """

    conf: float = setting(0.25, cli=Option("Minimum person score.", type=floats(0, 1)))
    iou: float = setting(0.65, cli=Option("NMS IoU threshold.", type=floats(0, 1)))
    max_det: int = setting(300, cli=Option("People per image at most.", type=ints(1)))
    max_nms: int = setting(30000, cli=Option("Candidates entering NMS at most (the best scores; bounds the time at a low "
                                              "--conf).", type=ints(1)))

    def __post_init__(self) -> None:
        for name in ("conf", "iou"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("max_det", "max_nms"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))

    def with_values(self, **values: Any) -> "PostprocessSettings":
        """A copy with the given values that are not ``None``."""
        return with_values(self, **values)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<postprocess settings>") -> "PostprocessSettings":
        return from_mapping(cls, data, source)


#: the paper's evaluation: every candidate down to score 0.001, NMS IoU 0.65
EVAL_POSTPROCESS = PostprocessSettings(conf=0.001)


def select_detections(cand: Candidates, settings: PostprocessSettings = PostprocessSettings(), nms: bool = True) -> Candidates:
    """Non-maximum suppression of one image's candidates, per class.

    Only the ``settings.max_nms`` highest scores enter NMS (YOLOv5's cap: it bounds the time at a
    low confidence threshold; ties at the cut keep the lower index), then at most
    ``settings.max_det`` detections are kept, in decreasing score order. ``nms=False`` (end-to-end
    models, whose candidates hold no duplicates) keeps the ``max_det`` best without suppressing any.
    """
    if len(cand) == 0:
        return cand
    if not nms:
        order = np.argsort(-cand.scores, kind="stable")[: settings.max_det]
        return cand.take(order)
    max_nms = settings.max_nms
    if len(cand) > max_nms:
        scores = cand.scores
        kth = np.partition(scores, len(scores) - max_nms)[len(scores) - max_nms]  # the max_nms-th best
        above = np.flatnonzero(scores > kth)
        ties = np.flatnonzero(scores == kth)[: max_nms - len(above)]
        cand = cand.take(np.sort(np.concatenate([above, ties])))
    keep = batched_nms(cand.boxes, cand.scores, cand.class_ids, settings.iou, max_output=settings.max_det)
    return cand.take(keep)
