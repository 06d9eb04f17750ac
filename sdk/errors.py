"""``yolopose.errors``: the errors' public import path, kept for users and scripts.

The classes live in :mod:`yolopose.core.errors` (the shared base); these are the same objects, so
``except yolopose.errors.YoloPoseError`` catches what any part of yolopose raises.
"""
from __future__ import annotations

from .core.errors import *  # noqa: F401,F403 - the public names, re-exported
from .core.errors import __all__  # noqa: F401
