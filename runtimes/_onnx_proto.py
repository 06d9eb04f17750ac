"""A minimal reader of the ONNX protobuf wire format: metadata and external-data references.

It needs neither ``onnx`` nor ``protobuf``: it walks the fields it cares about and skips the
rest by length, so it is fast on large models. Used to read ``metadata_props`` and every
tensor's external-data reference (location, offset, length, size) so that
:mod:`yolopose.runtimes._weights` can refuse hostile ones before any engine opens the file
(ONNX external data has had path-traversal CVEs: CVE-2022-25882, CVE-2024-27318).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from yolopose.core.errors import ModelError

__all__ = ["ExternalTensor", "OnnxFacts", "OnnxNode", "inspect_onnx"]

_MAX_DEPTH = 64

# message -> {field number: message kind} for the length-delimited fields worth descending into
_SCHEMA: Dict[str, Dict[int, str]] = {
    "model": {7: "graph", 14: "entry", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
}


# TensorProto fields and the byte size of each data type (onnx.proto: TensorProto.DataType)
_T_DIMS, _T_TYPE, _T_NAME, _T_EXTERNAL, _T_LOCATION = 1, 2, 8, 13, 14
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
_ITEM_SIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
              17: 1, 18: 1, 19: 1, 20: 1}
_HALF_BYTE = {21, 22, 23}
# NodeProto fields
_N_INPUT, _N_NAME, _N_OP_TYPE, _N_DOMAIN = 1, 3, 4, 7  # uint4, int4, float4e2m1: two items per byte


@dataclass(frozen=True)
class ExternalTensor:
    """One tensor whose data lives in another file: where, and how many bytes it needs."""

    tensor: str
    location: Optional[str]  #: ``None`` when the tensor says "external" but names no file
    offset: str = "0"  #: as written in the model (checked to be a number later)
    length: Optional[str] = None
    nbytes: Optional[int] = None  #: size the dims and data type need (``None``: unknown type)


@dataclass(frozen=True)
class OnnxNode:
    """One graph node: operator, domain, name and input names (``""`` for an omitted input)."""

    op_type: str
    domain: str
    name: str
    inputs: Tuple[str, ...]


class OnnxFacts:
    """What :func:`inspect_onnx` found: ``metadata_props`` and external-data references."""

    def __init__(self) -> None:
        self.metadata_props: Dict[str, str] = {}
        self.external: List[ExternalTensor] = []
        self.has_graph = False
        self.nodes: List[OnnxNode] = []


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


def _packed_varints(buf: memoryview, start: int, stop: int) -> Iterator[int]:
    pos = start
    while pos < stop:
        value, pos = _varint(buf, pos, stop)
        yield value


def _tensor(buf: memoryview, start: int, stop: int, facts: OnnxFacts) -> None:
    """Record the external-data reference of one TensorProto, if it has one."""
    dims: List[int] = []
    dtype = 0
    name = ""
    location_kind = 0
    entries: Dict[str, str] = {}
    for field, wire, s, e in _fields(buf, start, stop):
        if field == _T_DIMS and wire == 0:
            dims.append(struct.unpack("<q", struct.pack("<Q", s & (2**64 - 1)))[0])
        elif field == _T_DIMS and wire == 2:
            dims.extend(struct.unpack("<q", struct.pack("<Q", v & (2**64 - 1)))[0] for v in _packed_varints(buf, s, e))
        elif field == _T_TYPE and wire == 0:
            dtype = s
        elif field == _T_NAME and wire == 2:
            name = bytes(buf[s:e]).decode("utf-8")
        elif field == _T_LOCATION and wire == 0:
            location_kind = s
        elif field == _T_EXTERNAL and wire == 2:
            key, value = _entry(buf, s, e)
            entries[key] = value
    if location_kind != _EXTERNAL and not entries:
        return
    nbytes = None
    if (dtype in _ITEM_SIZE or dtype in _HALF_BYTE) and all(d >= 0 for d in dims):
        count = 1
        for d in dims:
            count *= d
        nbytes = (count + 1) // 2 if dtype in _HALF_BYTE else count * _ITEM_SIZE[dtype]
    facts.external.append(
        ExternalTensor(name, entries.get("location"), entries.get("offset", "0"), entries.get("length"), nbytes)
    )


def _node(buf: memoryview, start: int, stop: int, facts: OnnxFacts) -> None:
    text = {_N_OP_TYPE: "", _N_DOMAIN: "", _N_NAME: ""}
    inputs: List[str] = []
    for field, wire, s, e in _fields(buf, start, stop):
        if wire != 2:
            continue
        if field == _N_INPUT:
            inputs.append(bytes(buf[s:e]).decode("utf-8"))
        elif field in text:
            text[field] = bytes(buf[s:e]).decode("utf-8")
    facts.nodes.append(OnnxNode(text[_N_OP_TYPE], text[_N_DOMAIN], text[_N_NAME], tuple(inputs)))


def _walk(buf: memoryview, start: int, stop: int, kind: str, facts: OnnxFacts, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("graphs nested too deeply")
    if kind == "tensor":
        _tensor(buf, start, stop, facts)
        return
    if kind == "node":
        _node(buf, start, stop, facts)
    children = _SCHEMA[kind]
    for field, wire, s, e in _fields(buf, start, stop):
        child = children.get(field)
        if child is None or wire != 2:
            continue
        if kind == "model" and child == "graph":
            facts.has_graph = True
        if child == "entry":
            key, value = _entry(buf, s, e)
            if kind == "model":
                facts.metadata_props[key] = value
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
