"""TFLite file checks and the metadata zip appended to the flatbuffer."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Dict

from yolopose.errors import ModelError
from yolopose.metadata import METADATA_KEY

__all__ = ["check_tflite_bytes", "appended_properties"]

_MAX_MEMBER = 1 << 20  # metadata files are a few KB; never inflate anything large


def check_tflite_bytes(data: bytes, path: Path) -> None:
    """A TFLite flatbuffer starts with a root offset then the identifier ``TFL3``."""
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise ModelError(f"{str(path)!r} is not a TFLite model (no 'TFL3' flatbuffer identifier)")


def appended_properties(data: bytes, path: Path) -> Dict[str, str]:
    """Key/values from a zip appended to the model: ``yolopose.json`` (ours) and ``metadata.json``
    (other tools' exports; each top-level key becomes a property, non-strings as JSON)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return {}
    props: Dict[str, str] = {}
    with zf:
        for name in ("metadata.json", f"{METADATA_KEY}.json"):
            try:
                info = zf.getinfo(name)
            except KeyError:
                continue
            if info.file_size > _MAX_MEMBER:
                raise ModelError(f"{str(path)!r}: embedded {name} is too large ({info.file_size} bytes)")
            try:
                text = zf.read(info).decode("utf-8")
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
                raise ModelError(f"{str(path)!r}: embedded {name} cannot be read ({exc})") from None
            if name == f"{METADATA_KEY}.json":
                props[METADATA_KEY] = text
                continue
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            if isinstance(obj, dict):
                props.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()})
    return props
