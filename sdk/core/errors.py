"""Every error yolopose raises on purpose.

All derive from :class:`YoloPoseError`, so ``except yolopose.core.errors.YoloPoseError`` catches
anything the library reports about bad input. Messages name the file (or argument) and the problem.
"""
from __future__ import annotations

__all__ = [
    "YoloPoseError",
    "ConfigError",
    "ImageError",
    "VideoError",
    "ModelError",
    "MetadataError",
    "BackendNotAvailableError",
    "DeviceNotAvailableError",
    "DatasetError",
    "CheckpointError",
    "ExportError",
    "WriteError",
    "FolderInUseError",
]


class YoloPoseError(Exception):
    """Base class of all yolopose errors."""


class ConfigError(YoloPoseError, ValueError):
    """A bad argument or configuration: unknown model name, wrong size, wrong keypoint count."""


class ImageError(YoloPoseError, ValueError):
    """An image that is missing, corrupt, truncated, empty or of an unsupported kind."""


class VideoError(ImageError):
    """A video file, camera or stream that cannot be opened or read."""


class ModelError(YoloPoseError, ValueError):
    """A model artifact that is missing, corrupt or not runnable (wrong shapes, NaN outputs...)."""


class MetadataError(ModelError):
    """Model metadata that is missing or invalid."""


class BackendNotAvailableError(YoloPoseError, ImportError):
    """An inference engine that is not installed; the message names the extra to install."""


class DeviceNotAvailableError(YoloPoseError, RuntimeError):
    """A device that the chosen engine cannot see; the message lists the ones it can."""


class DatasetError(YoloPoseError, ValueError):
    """A dataset that cannot be read at all (single bad samples are skipped and reported)."""


class CheckpointError(YoloPoseError, ValueError):
    """A checkpoint that is corrupt, unsafe, or of another architecture."""


class ExportError(YoloPoseError, RuntimeError):
    """An export step that failed, or an artifact that failed its verification against torch."""


class WriteError(YoloPoseError, OSError):
    """A file or folder that cannot be written: read-only or full filesystem, no permission, quota.

    The message names the path; ``errno`` is the operating system's. Nothing half-written is left
    at the path (writes are atomic). Also an :class:`OSError`, so ``except OSError`` still catches it.
    """

    def __str__(self) -> str:  # the message, not OSError's "[Errno n] strerror: filename"
        return str(self.args[0]) if self.args else ""


class FolderInUseError(YoloPoseError, RuntimeError):
    """An output folder that another running job holds (see :func:`yolopose.core.fileio.folder_lock`)."""
