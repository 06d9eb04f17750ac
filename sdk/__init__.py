"""yolopose: YOLO-Pose multi-person pose estimation for edge devices.

``import yolopose`` loads numpy and Pillow only: inference engines, torch and OpenCV are imported
when first used.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
