"""Scoring pose results against COCO keypoint ground truth: one package for training and the SDK.

=================== ===========================================================================
``annotations``     the record-by-record check of COCO annotation files (:func:`check_coco`) and
                    the image-folder rule for their ``file_name`` entries (:func:`image_path`)
``coco``            COCO keypoint (OKS) and box AP/AR: :func:`evaluate`, :func:`evaluate_per_image`,
                    pycocotools or its numpy port (``_numpy_cocoeval``), :func:`format_metrics`
``keypoint_errors`` which keypoints cost the AP: each keypoint's error on the people found
=================== ===========================================================================

The OKS itself is :mod:`yolopose.core.oks`. Running a model over a labelled set to get the
results scored here is the SDK's :func:`yolopose.evaluate.evaluate_model`; the training
validator scores its own predictions with the same :func:`evaluate`.
"""
from __future__ import annotations

from .annotations import CocoCheck, Problem, check_coco, image_path, raise_problems
from .coco import (
    BOX_METRICS,
    IOU_TYPES,
    KEYPOINT_METRICS,
    GroundTruth,
    ImageEvaluation,
    available_backends,
    evaluate,
    evaluate_per_image,
    format_metrics,
    load_ground_truth,
)
from .keypoint_errors import FAR_OFF, LARGE_AREA, KeypointError, KeypointErrors, keypoint_errors

__all__ = [
    "BOX_METRICS",
    "FAR_OFF",
    "IOU_TYPES",
    "KEYPOINT_METRICS",
    "LARGE_AREA",
    "CocoCheck",
    "GroundTruth",
    "ImageEvaluation",
    "KeypointError",
    "KeypointErrors",
    "Problem",
    "available_backends",
    "check_coco",
    "evaluate",
    "evaluate_per_image",
    "format_metrics",
    "image_path",
    "keypoint_errors",
    "load_ground_truth",
    "raise_problems",
]
