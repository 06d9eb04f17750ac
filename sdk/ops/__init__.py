"""Numpy pre- and post-processing: letterbox, decode, NMS."""
from .decode import Candidates, decode
from .letterbox import LetterboxTransform, as_hw, letterbox
from .nms import box_iou, nms

__all__ = ["Candidates", "LetterboxTransform", "as_hw", "box_iou", "decode", "letterbox", "nms"]
