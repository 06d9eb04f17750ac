"""A minimal reader of the ONNX protobuf wire format: metadata and external-data references.

It needs neither ``onnx`` nor ``protobuf``: it walks the fields it cares about and skips the
rest by length, so it is fast on large models. Used to read ``metadata_props`` and to refuse
external-data locations outside the model's folder before any engine opens the file
(ONNX external data has had path-traversal CVEs: CVE-2022-25882, CVE-2024-27318).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from yolopose.errors import ModelError

__all__ = ["OnnxFacts", "inspect_onnx", "check_external_data"]

_MAX_DEPTH = 64

# message -> {field number: message kind} for the length-delimited fields worth descending into
_SCHEMA: Dict[str, Dict[int, str]] = {
    "model": {7: "graph", 14: "entry", 25: "function"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
}


class OnnxFacts:
    """What :func:`inspect_onnx` found: ``metadata_props`` and external-data file names."""

    def __init__(self) -> None:
        self.metadata_props: Dict[str, str] = {}
        self.external_locations: List[str] = []


def _varint(buf: memoryview, pos: int, end: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: memoryview, pos: int, end: int) -> Iterator[Tuple[int, int, int, int]]:
    """Yield ``(field, wire_type, start, stop)``; for varints start is the value."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield field, wire, value, pos
        elif wire == 1:
            pos += 8
            yield field, wire, pos - 8, pos
        elif wire == 2:
            n, pos = _varint(buf, pos, end)
            if pos + n > end:
                raise ValueError("length-delimited field runs past its message")
            pos += n
            yield field, wire, pos - n, pos
        elif wire == 5:
            pos += 4
            yield field, wire, pos - 4, pos
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != end:
        raise ValueError("message runs past its end")


def _entry(buf: memoryview, start: int, stop: int) -> Tuple[str, str]:
    key = value = ""
    for field, wire, s, e in _fields(buf, start, stop):
        if wire == 2 and field in (1, 2):
            text = bytes(buf[s:e]).decode("utf-8")
            key, value = (text, value) if field == 1 else (key, text)
    return key, value


def _walk(buf: memoryview, start: int, stop: int, kind: str, facts: OnnxFacts, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("graphs nested too deeply")
    children = _SCHEMA[kind]
    for field, wire, s, e in _fields(buf, start, stop):
        child = children.get(field)
        if child is None or wire != 2:
            continue
        if child == "entry":
            key, value = _entry(buf, s, e)
            if kind == "model":
                facts.metadata_props[key] = value
            elif key == "location":
                facts.external_locations.append(value)
        else:
            _walk(buf, s, e, child, facts, depth + 1)


def inspect_onnx(data: bytes, path: Path) -> OnnxFacts:
    """Parse ``data`` (the bytes of ``path``) into :class:`OnnxFacts`; :class:`ModelError` if malformed."""
    facts = OnnxFacts()
    try:
        buf = memoryview(data)
        _walk(buf, 0, len(buf), "model", facts, 0)
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ModelError(f"{str(path)!r} is not a valid ONNX model (corrupt or truncated: {exc})") from None
    return facts


def check_external_data(path: Path, locations: List[str]) -> None:
    """Refuse external-data files outside the model's folder (absolute, ``..``, links) or missing."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for loc in dict.fromkeys(locations):
        where = f"{str(path)!r} references external data {loc!r}"
        if not loc or os.path.isabs(loc) or os.path.splitdrive(loc)[0] or "\x00" in loc:
            raise ModelError(f"{where}: only relative locations inside the model's folder are allowed")
        target = os.path.realpath(os.path.join(folder, loc))
        if os.path.commonpath([target, folder]) != folder or target == folder:
            raise ModelError(f"{where}, which resolves outside the model's folder {folder!r}; refusing to load it")
        if not os.path.isfile(target):
            raise ModelError(f"{where}, which does not exist next to the model")
        if os.stat(target).st_nlink > 1:
            raise ModelError(f"{where}, which is a hard link; copy the file instead of linking it")
