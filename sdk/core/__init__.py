"""The shared base of every stage: what the SDK, the engine adapters, training and export all
build on (numpy, Pillow and click only; it imports no stage).

=================== ===========================================================================
``errors``          every intentional error (:class:`~yolopose.core.errors.YoloPoseError` and kin)
``keypoints``       COCO keypoint names, skeleton, flip index, OKS sigmas
``fileio``          atomic writes, folder locks, writability checks
``limits``          the size limits every loaded model is held to
``metadata``        :class:`~yolopose.core.metadata.ModelMetadata` and its field rules (``_schema``)
``registry``        the one :class:`~yolopose.core.registry.Registry` behind every extension point
``ops``             numpy letterbox, decode, NMS, detection selection, quantization, scaling
``images``          image decoding (formats, EXIF, modes, decompression bombs)
``results``         :class:`~yolopose.core.results.Poses` and its drawing (``draw``)
``oks``             the object keypoint similarity, the one formula every OKS uses
``evaluation``      scoring against COCO ground truth: annotation checks, keypoint and box AP,
                    per-keypoint errors
``cpu``             CPU model and instruction-set flags
``cli``             the lazy click group of the command lines
=================== ===========================================================================
"""
from __future__ import annotations

__version__ = "0.1.0"
