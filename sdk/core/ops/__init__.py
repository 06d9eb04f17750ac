"""Numpy pre- and post-processing: letterbox, decode, NMS and detection selection, quantization,
coordinate scaling."""
from .decode import Candidates, decode
from .decode_flat import decode_flat
from .letterbox import LetterboxTransform, as_hw, letterbox, letterbox_content, letterbox_transform
from .nms import batched_nms, box_iou, box_iou_pairs, nms
from .quant import QuantParams, dequantize, quantize, quantize_pixels
from .scale import scale_boxes, scale_keypoints
from .select import EVAL_POSTPROCESS, PostprocessSettings, select_detections

__all__ = [
    "Candidates",
    "LetterboxTransform",
    "QuantParams",
    "as_hw",
    "batched_nms",
    "box_iou",
    "box_iou_pairs",
    "decode",
    "decode_flat",
    "dequantize",
    "letterbox",
    "letterbox_content",
    "letterbox_transform",
    "nms",
    "quantize",
    "quantize_pixels",
    "scale_boxes",
    "scale_keypoints",
    "select_detections",
    "EVAL_POSTPROCESS",
    "PostprocessSettings",
]
