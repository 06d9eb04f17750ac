"""A bounds-checked reader of FlatBuffers tables, enough to walk a TFLite model's structure.

It needs no ``flatbuffers`` package and never trusts an offset: every read is checked against the
buffer, so a corrupt or hostile file raises :class:`FlatBufferError` instead of reading wild
memory. Layout (flatbuffers.dev "internals"): a table starts with a signed 32-bit offset back to
its vtable; the vtable holds its own size, the table size and one 16-bit offset per field (0 when
the field is absent); reference fields hold an unsigned 32-bit offset relative to where it is
stored; a vector is a 32-bit length followed by its elements.
"""
from __future__ import annotations

import struct
from typing import List, Optional

__all__ = ["FlatBufferError", "Table", "root_table"]

_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class FlatBufferError(ValueError):
    """The buffer is not a well-formed flatbuffer (an offset or a length points outside it)."""


def _read(fmt: struct.Struct, buf: memoryview, pos: int) -> int:
    if pos < 0 or pos + fmt.size > len(buf):
        raise FlatBufferError(f"read of {fmt.size} bytes at {pos} runs past the end ({len(buf)} bytes)")
    return fmt.unpack_from(buf, pos)[0]


class Table:
    """One table at ``pos`` in ``buf``; fields are read by their index in the schema."""

    __slots__ = ("buf", "pos", "_vtable", "_vsize")

    def __init__(self, buf: memoryview, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        vtable = pos - _read(_I32, buf, pos)
        vsize = _read(_U16, buf, vtable)
        if vsize < 4 or vsize % 2 or vtable + vsize > len(buf):
            raise FlatBufferError(f"table at {pos} has a broken vtable")
        self._vtable = vtable
        self._vsize = vsize

    def _field(self, index: int) -> Optional[int]:
        slot = 4 + 2 * index
        if slot + 2 > self._vsize:
            return None
        rel = _read(_U16, self.buf, self._vtable + slot)
        return self.pos + rel if rel else None

    def _target(self, index: int) -> Optional[int]:
        at = self._field(index)
        return None if at is None else at + _read(_U32, self.buf, at)

    # scalars ------------------------------------------------------------------
    def _scalar(self, index: int, fmt: struct.Struct, default: int) -> int:
        at = self._field(index)
        return default if at is None else _read(fmt, self.buf, at)

    def i8(self, index: int, default: int = 0) -> int:
        return self._scalar(index, _I8, default)

    def i32(self, index: int, default: int = 0) -> int:
        return self._scalar(index, _I32, default)

    def u32(self, index: int, default: int = 0) -> int:
        return self._scalar(index, _U32, default)

    def u64(self, index: int, default: int = 0) -> int:
        return self._scalar(index, _U64, default)

    # references ---------------------------------------------------------------
    def has(self, index: int) -> bool:
        return self._field(index) is not None

    def vector_length(self, index: int, item_size: int = 1) -> int:
        """Length of the vector in field ``index`` (0 when absent), its items checked in bounds."""
        start = self._target(index)
        if start is None:
            return 0
        n = _read(_U32, self.buf, start)
        if start + 4 + n * item_size > len(self.buf):
            raise FlatBufferError(f"vector at {start} of {n} items runs past the end")
        return n

    def vector_offset(self, index: int) -> Optional[int]:
        """Absolute position of the first item of the vector in field ``index`` (``None``: absent)."""
        start = self._target(index)
        return None if start is None else start + 4

    def ints(self, index: int) -> List[int]:
        """A vector of int32 (tensor indices, shapes)."""
        n = self.vector_length(index, 4)
        if not n:
            return []
        start = self._target(index) + 4  # type: ignore[operator]
        return list(struct.unpack_from(f"<{n}i", self.buf, start))

    def tables(self, index: int) -> List["Table"]:
        """A vector of tables."""
        n = self.vector_length(index, 4)
        if not n:
            return []
        start = self._target(index) + 4  # type: ignore[operator]
        return [Table(self.buf, start + 4 * i + _read(_U32, self.buf, start + 4 * i)) for i in range(n)]

    def table(self, index: int) -> Optional["Table"]:
        start = self._target(index)
        return None if start is None else Table(self.buf, start)

    def string(self, index: int) -> str:
        n = self.vector_length(index, 1)
        if not n:
            return ""
        start = self._target(index) + 4  # type: ignore[operator]
        return bytes(self.buf[start : start + n]).decode("utf-8", errors="replace")


def root_table(data: bytes) -> Table:
    """The root table of a flatbuffer."""
    buf = memoryview(data)
    return Table(buf, _read(_U32, buf, 0))
