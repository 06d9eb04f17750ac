"""``PoseEstimator``: load a pose model once, then ``predict`` images.

The work runs in three public steps, which ``yolopose bench`` times separately::

    x, transforms = est.preprocess(images)   # decode/convert + letterbox + layout/dtype/quantize
    raw = est.infer(x)                       # the engine; outputs dequantized to float32, ordered
    poses = est.postprocess(raw, transforms) # decode + NMS + back to original pixels

``predict(image)`` and ``predict_batch(images)`` chain them. An estimator may be shared by
threads: it holds no per-call state and every runtime's ``run`` is thread-safe.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .core.errors import ConfigError, ModelError
from .core.images import ImageSource, load_image, open_image_fit
from .core.metadata import ModelMetadata
from .core.ops.decode import Candidates
from .core.ops.letterbox import LetterboxTransform, as_hw, letterbox_content
from .core.ops.scale import scale_boxes, scale_keypoints
from .core.ops.select import PostprocessSettings, select_detections
from .core.results import Poses

__all__ = ["PoseEstimator"]

ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, None]


class PoseEstimator:
    """Multi-person pose estimation with a yolopose model, or another tool's pose export (decoded
    or end-to-end outputs, the YOLO-Pose authors' ONNX files: see :mod:`yolopose.layouts`).

    Args:
        model: ``.onnx``, ``.xml`` (OpenVINO IR), ``.tflite`` file, a folder holding one, the bytes
            of an ONNX or TFLite model (e.g. decrypted from storage; it must not reference external
            data), or ``None`` for the model bundled with the package.
        backend: ``"auto"`` (from the file type and what is installed), ``"onnxruntime"``,
            ``"openvino"`` or ``"tflite"``.
        device: ``"cpu"``, ``"cuda"``, ``"tensorrt"`` (onnxruntime), ``"gpu"``, ``"npu"``, ``"auto"``
            (OpenVINO), or a delegate device for TFLite (with ``runtime_options={"delegate": ...}``).
        conf: minimum person score kept. iou: NMS IoU threshold. max_det: people per image at most.
        max_nms: candidates entering NMS at most (the highest scores), bounding the time at low ``conf``.
            Each is a field of :class:`~yolopose.core.ops.select.PostprocessSettings` (``None``: its
            default, or ``postprocess``'s value).
        postprocess: all post-processing settings at once (fields given above override it).
        threads: engine threads (``None``: the engine's default).
        imgsz: network input size (``int`` or ``(h, w)``); only for models with a dynamic input size.
        runtime_options: extra keyword options for the engine adapter.
    """

    def __init__(
        self,
        model: ModelSource = None,
        backend: str = "auto",
        device: str = "cpu",
        conf: Optional[float] = None,
        iou: Optional[float] = None,
        max_det: Optional[int] = None,
        *,
        threads: Optional[int] = None,
        imgsz: Union[int, Tuple[int, int], None] = None,
        max_nms: Optional[int] = None,
        postprocess: Optional[PostprocessSettings] = None,
        runtime_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        from yolopose.runtimes import load_runtime

        from ._assets import default_model_path
        from ._input import InputWriter
        from ._plan import ModelPlan

        #: how candidates become the people reported (:meth:`postprocess`)
        self.settings = (postprocess or PostprocessSettings()).with_values(conf=conf, iou=iou, max_det=max_det,
                                                                            max_nms=max_nms)
        if model is None:
            source: Any = default_model_path(backend)
        elif isinstance(model, (bytes, bytearray, memoryview)):
            source = model
        elif isinstance(model, (str, os.PathLike)):
            source = Path(model)
        else:
            raise ConfigError(
                f"model must be a path (.onnx, .xml, .tflite or a folder), the bytes of an ONNX or TFLite model, "
                f"or None for the bundled model; got {type(model).__name__}"
            )
        self.runtime = load_runtime(source, backend=backend, device=device, threads=threads, **dict(runtime_options or {}))
        self.plan = ModelPlan.from_runtime(self.runtime, None if imgsz is None else as_hw(imgsz))
        self._input = InputWriter(self.plan, int(self.plan.metadata.letterbox.get("pad_value", 114)))

    # ------------------------------------------------------------------ facts
    @property
    def metadata(self) -> ModelMetadata:
        """The model's metadata (embedded, or inferred for other tools' models)."""
        return self.plan.metadata

    @property
    def model_path(self) -> Path:
        """The model file being run (``<model bytes>.onnx`` or ``.tflite`` for a model given as bytes)."""
        return Path(self.runtime.path)

    @property
    def conf(self) -> float:
        return self.settings.conf

    @property
    def iou(self) -> float:
        return self.settings.iou

    @property
    def max_det(self) -> int:
        return self.settings.max_det

    @property
    def max_nms(self) -> int:
        return self.settings.max_nms

    @property
    def backend(self) -> str:
        return self.runtime.name

    @property
    def device(self) -> str:
        return self.runtime.device

    @property
    def input_size(self) -> Tuple[int, int]:
        """Network input ``(height, width)``."""
        return self.plan.metadata.imgsz

    def __repr__(self) -> str:
        return (
            f"PoseEstimator(model={str(self.runtime.path)!r}, backend={self.backend!r}, device={self.device!r}, "
            f"conf={self.conf}, iou={self.iou}, max_det={self.max_det})"
        )

    # ------------------------------------------------------------------ the three steps
    def preprocess(self, images: Union[ImageSource, Sequence[ImageSource]], bgr: bool = False) -> Tuple[np.ndarray, List[LetterboxTransform]]:
        """Images -> ``(input_array, transforms)``: the engine-ready batch and one letterbox
        transform per image. A single image (path, PIL image or array) counts as a batch of one.

        Image files are decoded for the letterbox (a large JPEG at a reduced scale, see
        :func:`yolopose.core.images.open_image_fit`); each letterboxed image is written straight into
        the input tensor, converted to the engine's layout, dtype and quantization on the way."""
        batch = [images] if _is_single(images) else list(images)  # type: ignore[list-item]
        if not batch:
            raise ConfigError("preprocess got no images")
        x = self._input.new(len(batch))
        transforms = []
        for i, image in enumerate(batch):
            content, t = self._letterbox(image, bgr)
            self._input.write(x, i, content, t)
            transforms.append(t)
        return x, transforms

    def _letterbox(self, image: ImageSource, bgr: bool) -> Tuple[np.ndarray, LetterboxTransform]:
        imgsz = self.plan.metadata.imgsz
        scaleup = bool(self.plan.metadata.letterbox.get("scaleup", True))
        if isinstance(image, (str, os.PathLike)):  # files: JPEGs much larger than imgsz decode reduced
            pixels, full = open_image_fit(image, imgsz)
            return letterbox_content(pixels, imgsz, scaleup=scaleup, src_shape=full)
        return letterbox_content(load_image(image, bgr=bgr), imgsz, scaleup=scaleup)

    def infer(self, x: np.ndarray) -> List[np.ndarray]:
        """Run the engine on a preprocessed batch; returns float32 arrays (batch first) in the order
        of the model's output layout (:mod:`yolopose.layouts`): ``[det0, kpt_xy0, kpt_conf0, det1, ...]``
        (NHWC) for raw models, ``[pred]`` for decoded and end-to-end ones. Batches larger than a
        fixed model batch are run in chunks."""
        n = x.shape[0]
        size = self.plan.batch or n
        parts: List[List[np.ndarray]] = []
        for start in range(0, n, size):
            chunk = x[start : start + size]
            real = chunk.shape[0]
            if real < size:  # fixed-batch model: pad with copies of the last image
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - real, axis=0)])
            outs = self.plan.arrange(self.runtime.run(chunk))
            parts.append([o[:real] for o in outs])
        if len(parts) == 1:
            return parts[0]
        return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]

    def postprocess(
        self,
        outputs: Sequence[np.ndarray],
        transforms: Sequence[LetterboxTransform],
        conf: Optional[float] = None,
        iou: Optional[float] = None,
        max_det: Optional[int] = None,
    ) -> List[Poses]:
        """Raw outputs (from :meth:`infer`) -> one :class:`Poses` per image, in original pixels.

        Decodes with the model's output layout, then NMS (for layouts whose candidates still hold
        duplicates; end-to-end models skip it), ``conf`` and ``max_det`` applied in every case.
        ``conf``, ``iou``, ``max_det`` override :attr:`settings` for this call."""
        settings = self.settings.with_values(conf=conf, iou=iou, max_det=max_det)
        _check_finite(outputs, self.plan.source)
        candidates = self.plan.output_layout.decode(outputs, settings.conf)
        if len(candidates) != len(transforms):
            raise ConfigError(f"postprocess got outputs for {len(candidates)} images and {len(transforms)} transforms")
        return [self._finish(c, t, settings) for c, t in zip(candidates, transforms)]

    def _finish(self, cand: Candidates, transform: LetterboxTransform, settings: PostprocessSettings) -> Poses:
        meta = self.plan.metadata
        cand = select_detections(cand, settings, nms=self.plan.output_layout.nms)
        if not np.isfinite(cand.boxes).all() or not np.isfinite(cand.keypoints).all():
            raise ModelError(f"{self.plan.source}: the model produced non-finite boxes or keypoints")
        return Poses(
            scale_boxes(cand.boxes, transform),
            cand.scores,
            scale_keypoints(cand.keypoints, transform),
            keypoint_names=meta.keypoint_names,
            skeleton=meta.skeleton,
        )

    # ------------------------------------------------------------------ one call
    def predict(self, image: ImageSource, bgr: bool = False, conf: Optional[float] = None, iou: Optional[float] = None) -> Poses:
        """People in one image (path, PIL image, or HxWx3 uint8 array; ``bgr=True`` for OpenCV)."""
        x, transforms = self.preprocess([image], bgr=bgr)
        return self.postprocess(self.infer(x), transforms, conf=conf, iou=iou)[0]

    __call__ = predict

    def predict_batch(
        self, images: Sequence[ImageSource], bgr: bool = False, conf: Optional[float] = None, iou: Optional[float] = None
    ) -> List[Poses]:
        """People in each image, run as one batch (chunked to the model's batch size if fixed)."""
        images = list(images)
        if not images:
            return []
        x, transforms = self.preprocess(images, bgr=bgr)
        return self.postprocess(self.infer(x), transforms, conf=conf, iou=iou)

    def stream(
        self,
        source: Union[str, int, "os.PathLike[str]"],
        stride: int = 1,
        realtime: Optional[bool] = None,
        max_frames: Optional[int] = None,
        track: Any = False,
        prefetch: Optional[int] = None,
    ) -> Any:
        """``for frame, poses in est.stream(source)``: a video file, camera index, URL or image folder.

        Frames are RGB arrays; ``track=True`` gives :class:`yolopose.tracking.TrackedPoses` with
        stable ids. The next frames are decoded and preprocessed in a pipeline thread while the
        engine runs (``prefetch`` frames ahead; 0 turns it off); results keep the frame order.
        See :func:`yolopose.video.stream` (needs ``yolopose[video]`` except for folders).
        """
        from .video import stream

        return stream(self, source, stride=stride, realtime=realtime, max_frames=max_frames, track=track,
                      prefetch=prefetch)

    def close(self) -> None:
        """Release the engine."""
        self.runtime.close()

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_single(images: Any) -> bool:
    if isinstance(images, (str, os.PathLike)):
        return True
    if isinstance(images, np.ndarray):
        return images.ndim in (2, 3)
    from PIL import Image

    return isinstance(images, Image.Image)


def _check_finite(outputs: Sequence[np.ndarray], source: str) -> None:
    """NaN/inf anywhere in the outputs is a broken model (a cheap sum first, exact check if it fails)."""
    for i, y in enumerate(outputs):
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(y.sum()):  # a finite sum proves every value finite; else check exactly
                continue
        if not np.isfinite(y).all():
            raise ModelError(f"{source}: output {i} contains NaN or infinite values (the model is broken or mis-exported)")
