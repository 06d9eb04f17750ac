"""Video in and out for pose estimation: files, cameras, RTSP/HTTP streams, image folders.

Needs OpenCV (``pip install "yolopose[video]"``) for everything except image folders; OpenCV is
imported on first use, never by ``import yolopose``.

    from yolopose import PoseEstimator
    est = PoseEstimator()
    for frame, people in est.stream("walk.mp4", track=True):
        print(people.ids, people.keypoints.shape)

Frames are ``HxWx3`` uint8 **RGB** arrays (OpenCV's BGR is converted once when read and back when
written). Sources:

- a video file path (anything FFmpeg reads: mp4, avi, mkv, mov...);
- a camera index (``0`` or ``"0"``);
- a URL (``rtsp://``, ``rtmp://``, ``http(s)://``, ``udp://``...);
- a folder of images (read in name order with Pillow; no OpenCV needed).

Iteration yields :class:`Frame` objects and, for frames that could not be decoded, a
:class:`FrameError` marker with the frame's index (reading goes on after it where the container
allows). A video that ends before the frame count its header announces ends with a
:class:`FrameError` of kind ``"ended"`` saying how many frames are missing. Nothing is lost
silently: :func:`stream` turns markers into :class:`FrameWarning` warnings.

Live sources (cameras, URLs) are read in real time by default: a background thread keeps only
the newest frame, so slow inference drops frames instead of falling ever further behind. Files
can be processed in real time too (``realtime=True``: frames that are already late are skipped
without being decoded), and ``stride=n`` keeps one frame in ``n``.
"""
from __future__ import annotations

import os
import re
import threading
import time
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np

from .core.errors import BackendNotAvailableError, ConfigError, VideoError
from .core.fileio import atomic_path
from .core.images import IMAGE_SUFFIXES

__all__ = [
    "Frame",
    "FrameError",
    "FrameWarning",
    "VideoSource",
    "VideoWriter",
    "predict_frames",
    "stream",
    "draw_fps",
    "VIDEO_SUFFIXES",
    "FpsMeter",
]

Source = Union[str, int, "os.PathLike[str]"]

#: Video container -> FourCC used to write it.
VIDEO_SUFFIXES = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "XVID"}
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_DEFAULT_FPS = 30.0
#: reads that fail in a row before a file counts as ended (a corrupt frame fails once, a cut file forever)
_MAX_FAILED_READS = 64


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise BackendNotAvailableError(
            'reading and writing video needs OpenCV: pip install "yolopose[video]" (opencv-python-headless)'
        ) from None
    return cv2


def _redact(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://***@host/x`` (never print credentials)."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", url)


@dataclass(frozen=True)
class Frame:
    """One frame: its number in the source, its time in seconds, and the RGB image."""

    index: int
    timestamp: float
    image: np.ndarray


@dataclass(frozen=True)
class FrameError:
    """A frame the source announced but could not deliver, in place of its :class:`Frame`.

    ``kind`` is ``"undecodable"`` (frame ``index`` is corrupt; the frames after it are read) or
    ``"ended"`` (the video stopped at frame ``index``, before the frame count in its header;
    ``missing`` frames that iteration would have yielded were never read). ``message`` names the
    source and the frame.
    """

    index: int
    timestamp: float
    message: str
    kind: str = "undecodable"
    missing: int = 1

    @property
    def image(self) -> None:
        """No image: this frame could not be read."""
        return None


class FrameWarning(UserWarning):
    """Issued by :func:`stream` for each frame that could not be read (see :class:`FrameError`)."""


class FpsMeter:
    """Frames per second over a sliding window of the last ``window`` frames."""

    def __init__(self, window: int = 30) -> None:
        self._times: List[float] = []
        self.window = max(2, int(window))

    def tick(self) -> float:
        """Record a frame now; return the current rate (0 until two frames are seen)."""
        now = time.perf_counter()
        self._times.append(now)
        del self._times[: -self.window]
        return self.fps

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class _LatestFrame:
    """A thread that reads a live capture continuously and keeps only the newest frame."""

    def __init__(self, cap: Any, name: str) -> None:
        self._cap = cap
        self._name = name
        self._cond = threading.Condition()
        self._frame: Optional[Tuple[int, float, np.ndarray]] = None
        self._taken = -1
        self._count = 0
        self._done = False
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"yolopose-video-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._done:
                    break
            ok, img = self._cap.read()
            with self._cond:
                if not ok:
                    self._done = True
                else:
                    self._frame = (self._count, time.monotonic() - self._start, img)
                    self._count += 1
                self._cond.notify_all()
            if not ok:
                break

    def next(self) -> Optional[Tuple[int, float, np.ndarray]]:
        """The newest frame not returned before; None once the source has ended."""
        with self._cond:
            while not self._done and (self._frame is None or self._frame[0] == self._taken):
                self._cond.wait(timeout=0.5)
            if self._frame is None or self._frame[0] == self._taken:
                return None
            self._taken = self._frame[0]
            return self._frame

    def stop(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)


class VideoSource:
    """Iterate over the frames of a video file, camera, stream URL or image folder.

    Args:
        source: a path, a camera index, a URL, or a folder of images.
        stride: keep one frame in ``stride`` (the others are skipped without decoding).
        realtime: drop frames so that processing keeps up with the source's clock. Default: on
            for cameras and URLs, off for files and folders.
        max_frames: stop after this many frames have been yielded.
        fps: frame rate of an image folder (ignored for other sources, which report their own).

    Iterating yields :class:`Frame` objects, and a :class:`FrameError` in place of each frame that
    could not be decoded (and once at the end of a file that stops before its announced frame
    count). Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        source: Source,
        stride: int = 1,
        realtime: Optional[bool] = None,
        max_frames: Optional[int] = None,
        fps: float = _DEFAULT_FPS,
    ) -> None:
        if int(stride) < 1:
            raise ConfigError(f"stride must be >= 1, got {stride}")
        if max_frames is not None and int(max_frames) < 0:
            raise ConfigError(f"max_frames must be >= 0, got {max_frames}")
        if fps <= 0:
            raise ConfigError(f"fps must be positive, got {fps}")
        self.stride = int(stride)
        self.max_frames = None if max_frames is None else int(max_frames)
        self._cap: Any = None
        self._files: Optional[List[Path]] = None
        self._reader: Optional[_LatestFrame] = None
        self.kind, self.name = self._open(source, fps)
        self.is_live = self.kind in ("camera", "url")
        self.realtime = self.is_live if realtime is None else bool(realtime)

    # ------------------------------------------------------------------ opening
    def _open(self, source: Source, fps: float) -> Tuple[str, str]:
        if isinstance(source, (int, np.integer)) or (isinstance(source, str) and source.strip().isdigit()):
            index = int(source)
            cv2 = _cv2()
            cap = cv2.VideoCapture(index)
            if not cap.isOpened():
                raise VideoError(f"camera {index}: could not open it (is it connected, and not used by another program?)")
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            self._set_capture(cap)
            return "camera", f"camera {index}"
        if isinstance(source, str) and _URL.match(source):
            cv2 = _cv2()
            name = _redact(source)
            cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
            if not cap.isOpened():
                raise VideoError(f"{name}: could not open the stream (check the URL, the network and the credentials)")
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            self._set_capture(cap)
            return "url", name
        path = Path(os.fspath(source))
        if not path.exists():
            raise VideoError(f"{path}: no such file or folder")
        if path.is_dir():
            # links that cannot be followed (loops, missing targets) stay: they become FrameError markers
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                           and (p.is_file() or p.is_symlink()))
            if not files:
                raise VideoError(f"{path}: the folder holds no images")
            self._files = files
            self.fps = float(fps)
            self.frame_count: Optional[int] = len(files)
            self.size: Tuple[int, int] = self._first_size(files, path)
            return "folder", str(path)
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise VideoError(f"{path}: could not open it as a video (unsupported or corrupt file)")
        self._set_capture(cap)
        return "file", str(path)

    def _set_capture(self, cap: Any) -> None:
        cv2 = _cv2()
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else _DEFAULT_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))

    @staticmethod
    def _read_image(path: Path) -> np.ndarray:
        from .core.images import open_image

        return open_image(path)

    def _first_size(self, files: List[Path], folder: Path) -> Tuple[int, int]:
        from .core.errors import ImageError

        for f in files:
            try:
                first = self._read_image(f)
            except ImageError:
                continue  # reported as a FrameError when iteration reaches it
            return int(first.shape[0]), int(first.shape[1])
        raise VideoError(f"{folder}: none of its {len(files)} images can be read")

    # ------------------------------------------------------------------ iteration
    @property
    def expected_frames(self) -> Optional[int]:
        """How many frames iteration will yield, when known (files and folders without realtime)."""
        if self.frame_count is None or self.realtime:
            return self.max_frames
        n = -(-self.frame_count // self.stride)
        return n if self.max_frames is None else min(n, self.max_frames)

    def __iter__(self) -> Iterator[Union[Frame, FrameError]]:
        produced = 0
        for frame in self._frames():
            if self.max_frames is not None and produced >= self.max_frames:
                break
            produced += 1
            yield frame

    def _frames(self) -> Iterator[Union[Frame, FrameError]]:
        if self._files is not None:
            yield from self._folder_frames()
        elif self.is_live and self.realtime:
            yield from self._live_frames()
        else:
            yield from self._capture_frames()

    def _folder_frames(self) -> Iterator[Union[Frame, FrameError]]:
        from .core.errors import ImageError

        assert self._files is not None
        start = time.monotonic()
        i = 0
        while i < len(self._files):
            if self.realtime:  # skip what is already late
                i = max(i, int((time.monotonic() - start) * self.fps))
                if i >= len(self._files):
                    break
            try:
                yield Frame(i, i / self.fps, self._read_image(self._files[i]))
            except ImageError as exc:
                yield FrameError(i, i / self.fps, f"{self.name}: frame {i} could not be read ({exc})")
            i += self.stride

    def _capture_frames(self) -> Iterator[Union[Frame, FrameError]]:
        """Decode frames; a failed read is one corrupt frame when a later read succeeds, the end
        of the file when none does (within :data:`_MAX_FAILED_READS` or the announced count)."""
        cv2 = _cv2()
        cap = self._cap
        index = 0  # number of the next frame in the source
        start = time.monotonic()
        yielded = False
        failed = 0  # reads failed in a row
        pending: List[FrameError] = []  # sampled frames that failed, reported once a later read works

        def ended() -> bool:
            limit = _MAX_FAILED_READS if self.frame_count is None else min(_MAX_FAILED_READS, self.frame_count - (index - failed))
            return failed >= max(1, limit) or self.is_live

        while True:
            target = index
            if index % self.stride:
                target = index + self.stride - index % self.stride
            if self.realtime and not self.is_live:
                target = max(target, int((time.monotonic() - start) * self.fps))
            ok = True
            while index < target:  # skip without decoding
                ok = bool(cap.grab())
                index += 1
                failed = 0 if ok else failed + 1
                if not ok and ended():
                    break
                if ok and pending:
                    yield from pending
                    pending = []
            if not ok and ended():
                break
            ok, bgr = cap.read()
            ts = index / self.fps if not self.is_live else time.monotonic() - start
            index += 1
            if ok:
                failed = 0
                yield from pending
                pending = []
                yield Frame(index - 1, ts, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                yielded = True
                continue
            failed += 1
            pending.append(FrameError(index - 1, ts, f"{self.name}: frame {index - 1} could not be decoded; skipped"))
            if ended():
                break
        end = index - failed  # the first frame of the failed run: where the file really stops
        if not yielded and self.kind == "file":
            raise VideoError(f"{self.name}: no frame could be decoded (corrupt file or unsupported codec)")
        if self.frame_count is not None and end < self.frame_count and not self.is_live:
            missing = len(range(end + (-end) % self.stride, self.frame_count, self.stride))
            if missing:
                yield FrameError(
                    end, end / self.fps,
                    f"{self.name}: the video ends at frame {end} of the {self.frame_count} its header announces; "
                    f"{missing} frame{'s' if missing != 1 else ''} missing", kind="ended", missing=missing)

    def _live_frames(self) -> Iterator[Frame]:
        cv2 = _cv2()
        self._reader = _LatestFrame(self._cap, self.name)
        kept = 0
        while True:
            item = self._reader.next()
            if item is None:
                return
            index, ts, bgr = item
            if self.stride > 1 and kept % self.stride:
                kept += 1
                continue
            kept += 1
            yield Frame(index, ts, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Release the camera, stream or file."""
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoSource({self.kind}: {self.name}, {self.size[1]}x{self.size[0]} @ {self.fps:.1f} fps)"


class VideoWriter:
    """Write RGB frames to a video file, atomically: the file appears only when closed cleanly.

    The container comes from the suffix (:data:`VIDEO_SUFFIXES`: mp4/mov/m4v with MPEG-4 Part 2,
    avi with Motion-JPEG, mkv with Xvid). The frame size is taken from the first frame; every later
    frame must have the same size.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], fps: float = _DEFAULT_FPS, fourcc: Optional[str] = None) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if fourcc is None:
            if suffix not in VIDEO_SUFFIXES:
                raise ConfigError(f"{self.path}: unsupported video type {suffix!r}; use one of {', '.join(VIDEO_SUFFIXES)}")
            fourcc = VIDEO_SUFFIXES[suffix]
        if len(fourcc) != 4:
            raise ConfigError(f"fourcc must be 4 characters, got {fourcc!r}")
        if fps <= 0:
            raise ConfigError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self.fourcc = fourcc
        self.frames = 0
        self._cv2 = _cv2()
        self._writer: Any = None
        self._size: Optional[Tuple[int, int]] = None
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        # OpenCV picks the container from the name's suffix, so write beside the temp file first.
        self._work = self._tmp.with_name(self._tmp.name + suffix)

    def write(self, image: np.ndarray) -> None:
        """Append one ``HxWx3`` uint8 RGB frame."""
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ConfigError(f"{self.path}: frames must be HxWx3 uint8 RGB arrays, got {img.dtype} {img.shape}")
        if self._atomic is None:
            raise VideoError(f"{self.path}: the writer is closed")
        h, w = img.shape[:2]
        if self._writer is None:
            cv2 = self._cv2
            self._writer = cv2.VideoWriter(str(self._work), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
            if not self._writer.isOpened():
                self.abort()
                raise VideoError(f"{self.path}: OpenCV cannot write {self.fourcc!r} video here")
            self._size = (h, w)
        elif (h, w) != self._size:
            raise ConfigError(f"{self.path}: frame {self.frames} is {w}x{h}, the video is {self._size[1]}x{self._size[0]}")
        self._writer.write(np.ascontiguousarray(img[:, :, ::-1]))
        self.frames += 1

    def abort(self) -> None:
        """Stop and throw the video away: nothing is left at ``path`` (an existing file stays as it was)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._work.exists():
            self._work.unlink()
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            try:
                atomic.__exit__(VideoError, VideoError("aborted"), None)
            except VideoError:
                pass

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path. No frames: nothing is written."""
        if self._atomic is None:
            return self.path
        if self._writer is None:
            self.abort()
            raise VideoError(f"{self.path}: no frames were written")
        self._writer.release()
        self._writer = None
        os.replace(self._work, self._tmp)
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        return self.path

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        if getattr(self, "_atomic", None) is not None:
            self.abort()


def draw_fps(image: np.ndarray, fps: float, text: Optional[str] = None) -> np.ndarray:
    """A copy of the RGB ``image`` with ``"<fps> FPS"`` (or ``text``) in a box at the bottom left."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(pil)
    label = text if text is not None else f"{fps:.1f} FPS"
    x0, y0, x1, y1 = draw.textbbox((0, 0), label)
    x, y = 6, max(0, pil.height - (y1 - y0) - 8)
    draw.rectangle((x - 4, y - 3, x + (x1 - x0) + 4, pil.height), fill=(0, 0, 0))
    draw.text((x - x0, y - y0), label, fill=(255, 255, 0))
    return np.asarray(pil)


def predict_frames(estimator: Any, frames: Iterable[Union[Frame, "FrameError"]],
                   prefetch: int = 2) -> Iterator[Tuple[Union[Frame, "FrameError"], Any]]:
    """``(frame, poses)`` for every frame of ``frames``, in their order, none dropped; a
    :class:`FrameError` (a frame that could not be read) passes through as ``(error, None)``.

    Decoding (the iteration of ``frames``) and preprocessing of the next frames run in a pipeline
    thread, at most ``prefetch`` frames ahead, while the engine runs on the current one
    (``prefetch=0``: everything in the caller's thread). An error while reading or preprocessing
    a frame is raised here after the frames before it; stopping early stops the thread.
    ``estimator``: a :class:`yolopose.PoseEstimator` (or anything with its ``preprocess``,
    ``infer`` and ``postprocess``; an object with only ``predict`` runs unpipelined).
    """
    from ._pipeline import Prefetch

    if not all(hasattr(estimator, step) for step in ("preprocess", "infer", "postprocess")):
        for frame in frames:
            yield frame, None if isinstance(frame, FrameError) else estimator.predict(frame.image)
        return

    def prepare(frame: Union[Frame, FrameError]) -> Tuple[Union[Frame, FrameError], Any, Any]:
        if isinstance(frame, FrameError):
            return frame, None, None
        x, transforms = estimator.preprocess(frame.image)
        return frame, x, transforms

    # a live source stuck in a read for longer than the timeout is left to its (daemon) thread
    with Prefetch(frames, prepare, depth=prefetch, name="yolopose-frames", close_timeout=5.0) as ahead:
        for frame, x, transforms in ahead:
            yield frame, None if x is None else estimator.postprocess(estimator.infer(x), transforms)[0]


def stream(
    estimator: Any,
    source: Source,
    stride: int = 1,
    realtime: Optional[bool] = None,
    max_frames: Optional[int] = None,
    track: Any = False,
    prefetch: Optional[int] = None,
) -> Iterator[Tuple[np.ndarray, Any]]:
    """Yield ``(frame, poses)`` for every frame of ``source`` (see :class:`VideoSource`).

    Frames that cannot be read are skipped with a :class:`FrameWarning` naming their index (and
    one when a file ends before its announced frame count).
    ``frame`` is the RGB image, ``poses`` the estimator's :class:`yolopose.Poses`; with
    ``track=True`` (or a :class:`yolopose.tracking.PoseTracker` to configure it) ``poses`` is a
    :class:`yolopose.tracking.TrackedPoses` with stable ids and smoothed keypoints.
    ``prefetch``: frames decoded and preprocessed ahead while the engine runs (see
    :func:`predict_frames`); default 2, and 1 for live sources read in real time, whose frames
    should stay fresh.
    """
    tracker = None
    if track is True:
        from .tracking import PoseTracker

        tracker = PoseTracker()
    elif track:
        tracker = track
    with VideoSource(source, stride=stride, realtime=realtime, max_frames=max_frames) as src:
        depth = prefetch if prefetch is not None else (1 if src.is_live and src.realtime else 2)
        with closing(predict_frames(estimator, src, depth)) as results:  # its thread stops before src closes
            for frame, poses in results:
                if isinstance(frame, FrameError):
                    warnings.warn(frame.message, FrameWarning, stacklevel=2)
                    continue
                if tracker is not None:
                    poses = tracker.update(poses, timestamp=frame.timestamp, image_size=frame.image.shape[:2])
                yield frame.image, poses
