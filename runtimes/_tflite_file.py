"""TFLite file checks: identifier, graph structure, and the metadata zip appended to the flatbuffer.

The structure check runs before any interpreter sees the bytes: an interpreter trusts the
operator tensor indices it is given, and wrong but in-range ones (two operators writing one
tensor, an operator writing a constant or a graph input) abort the whole process inside
``allocate_tensors``. Schema facts: tensorflow/compiler/mlir/lite/schema/schema.fbs (Model,
SubGraph, Tensor, Buffer, Operator, OperatorCode tables).
"""
from __future__ import annotations

import io
import json
import zipfile
from struct import error as struct_error
from pathlib import Path
from typing import Dict, List, Set, Tuple

from yolopose.core.errors import ModelError
from yolopose.core.metadata import METADATA_KEY

from ._flatbuffer import FlatBufferError, Table, root_table

__all__ = ["check_tflite_bytes", "check_tflite_graph", "appended_properties"]

_MAX_MEMBER = 1 << 20  # metadata files are a few KB; never inflate anything large


def check_tflite_bytes(data: bytes, path: Path) -> None:
    """A TFLite flatbuffer starts with a root offset then the identifier ``TFL3``."""
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise ModelError(f"{str(path)!r} is not a TFLite model (no 'TFL3' flatbuffer identifier)")
    check_tflite_graph(data, path)


# Model fields
_M_OPCODES, _M_SUBGRAPHS, _M_BUFFERS, _M_EXT_GROUPS, _M_EXT_BUFFERS = 1, 2, 4, 8, 9
# SubGraph fields
_S_TENSORS, _S_INPUTS, _S_OUTPUTS, _S_OPERATORS = 0, 1, 2, 3
# Tensor fields
_T_TYPE, _T_BUFFER, _T_NAME, _T_EXT_BUFFER = 1, 2, 3, 10
# Buffer fields
_B_DATA, _B_OFFSET, _B_SIZE = 0, 1, 2
# Operator fields
_O_OPCODE, _O_INPUTS, _O_OUTPUTS, _O_INTERMEDIATES, _O_LARGE_OFFSET, _O_LARGE_SIZE = 0, 1, 2, 8, 9, 10
# OperatorCode fields
_C_DEPRECATED_CODE, _C_CUSTOM, _C_CODE = 0, 1, 3
_OPTIONAL = -1  # an omitted optional operator input

# Names of common builtin operators, for messages (schema.fbs enum BuiltinOperator).
_OP_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE",
    9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6", 22: "RESHAPE",
    23: "RESIZE_BILINEAR", 25: "SOFTMAX", 28: "TANH", 32: "CUSTOM", 34: "PAD", 36: "GATHER", 39: "TRANSPOSE",
    40: "MEAN", 41: "SUB", 42: "DIV", 45: "STRIDED_SLICE", 47: "EXP", 49: "SPLIT", 55: "MAXIMUM", 57: "MINIMUM",
    60: "PADV2", 65: "SLICE", 67: "TRANSPOSE_CONV", 74: "SUM", 76: "RSQRT", 83: "PACK", 88: "UNPACK",
    97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU", 99: "SQUARED_DIFFERENCE", 102: "SPLIT_V", 114: "QUANTIZE",
    117: "HARD_SWISH", 118: "IF", 119: "WHILE", 126: "BATCH_MATMUL", 129: "CALL_ONCE",
}


# Inputs a builtin operator may omit (index -1), by position (schema.fbs and the kernels: the
# bias of convolutions and fully-connected layers). An omitted input anywhere else makes the
# kernel dereference a missing tensor (SIGSEGV), so it is refused.
_OPTIONAL_INPUTS = {3: {2}, 4: {2}, 9: {2}, 67: {3}}
_CUSTOM = 32

# Operators whose data inputs (by position; None: all of them) have the element type of their
# first output in every valid model (the kernels: no type conversion inside). An int8 kernel
# handed a float32 tensor, or the reverse, reads and writes past its buffers (heap corruption,
# "double free", inside allocate_tensors), so a mismatch is refused. Type-converting operators
# (QUANTIZE, DEQUANTIZE, CAST, GATHER's indices...) are not listed.
_SAME_TYPE_INPUTS = {
    0: (0, 1), 1: (0,), 2: None, 3: (0,), 4: (0,), 9: (0,), 14: (0,), 17: (0,), 18: (0, 1), 19: (0,), 21: (0,),
    22: (0,), 23: (0,), 25: (0,), 28: (0,), 34: (0,), 39: (0,), 41: (0, 1), 45: (0,), 97: (0,), 98: (0,), 117: (0,),
}
_TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}


def _op_codes(model: Table) -> List[Tuple[int, str]]:
    """Per operator code: the builtin operator number and a name for messages."""
    codes = []
    for code in model.tables(_M_OPCODES):
        builtin = max(code.i8(_C_DEPRECATED_CODE), code.i32(_C_CODE))
        custom = code.string(_C_CUSTOM)
        codes.append((builtin, custom if custom else _OP_NAMES.get(builtin, f"builtin operator {builtin}")))
    return codes


def _constant_buffers(model: Table, size: int, where: str) -> List[bool]:
    """Per buffer: whether it holds data (a constant tensor). Offsets checked against the file."""
    flags = []
    for i, buf in enumerate(model.tables(_M_BUFFERS)):
        offset, length = buf.u64(_B_OFFSET), buf.u64(_B_SIZE)
        if offset > 1 and offset + length > size:
            raise ModelError(f"{where}: buffer {i} points to bytes {offset}..{offset + length} past the end of the file ({size} bytes)")
        flags.append(buf.vector_length(_B_DATA) > 0 or (offset > 1 and length > 0))
    return flags


def check_tflite_graph(data: bytes, path: Path) -> None:
    """Refuse a TFLite model whose graph an interpreter cannot safely allocate.

    Checks, for every subgraph: tensor, buffer and operator-code indices in range; each tensor
    written by at most one operator; no operator writes a constant or a graph input; operators
    in an order where each input exists before it is read; inputs omitted (-1) only where the
    operator allows it; buffer offsets inside the file; no external buffers. :class:`ModelError`
    names the operator and tensor at fault.
    """
    where = str(path)
    try:
        _check_graph(data, where)
    except FlatBufferError as exc:
        raise ModelError(f"{where!r} is not a valid TFLite model (corrupt flatbuffer: {exc})") from None
    except (RecursionError, MemoryError, struct_error) as exc:
        raise ModelError(f"{where!r} is not a valid TFLite model ({type(exc).__name__})") from None


def _check_graph(data: bytes, where: str) -> None:
    model = root_table(data)
    if model.vector_length(_M_EXT_BUFFERS, 4) or model.vector_length(_M_EXT_GROUPS, 4):
        raise ModelError(f"{where!r} keeps weights in external buffers, which yolopose does not load")
    ops = _op_codes(model)
    constant = _constant_buffers(model, len(data), repr(where))
    subgraphs = model.tables(_M_SUBGRAPHS)
    if not subgraphs:
        raise ModelError(f"{where!r} is not a valid TFLite model (no subgraph)")
    if model.vector_length(_M_BUFFERS, 4) == 0:
        raise ModelError(f"{where!r} is not a valid TFLite model (no buffer table)")
    for s, graph in enumerate(subgraphs):
        _check_subgraph(graph, s, ops, constant, where)


def _check_subgraph(graph: Table, s: int, ops: List[Tuple[int, str]], constant: List[bool], where: str) -> None:
    tensors = graph.tables(_S_TENSORS)
    n = len(tensors)
    label = f"{where!r} subgraph {s}" if s else repr(where)

    def tensor_name(t: int) -> str:
        name = tensors[t].string(_T_NAME) if 0 <= t < n else ""
        return f"tensor {t} ({name!r})" if name else f"tensor {t}"

    const: Set[int] = set()
    for t, tensor in enumerate(tensors):
        b = tensor.u32(_T_BUFFER)
        if b >= len(constant):
            raise ModelError(f"{label}: {tensor_name(t)} refers to buffer {b}, but the model has {len(constant)} buffers")
        if tensor.u32(_T_EXT_BUFFER):
            raise ModelError(f"{label}: {tensor_name(t)} keeps its data in an external buffer, which yolopose does not load")
        if b and constant[b]:
            const.add(t)
    inputs = graph.ints(_S_INPUTS)
    for kind, ids in (("input", inputs), ("output", graph.ints(_S_OUTPUTS))):
        for t in ids:
            if not 0 <= t < n:
                raise ModelError(f"{label}: graph {kind} names tensor {t}, but the subgraph has {n} tensors")
    graph_inputs = set(inputs)

    operators = graph.tables(_S_OPERATORS)
    writer: Dict[int, int] = {}
    reads: List[List[int]] = []
    for k, op in enumerate(operators):
        code = op.u32(_O_OPCODE)
        if code >= len(ops):
            raise ModelError(f"{label}: operator {k} uses operator code {code}, but the model defines {len(ops)}")
        builtin, op_name = ops[code]
        what = f"operator {k} ({op_name})"
        ins, outs = op.ints(_O_INPUTS), op.ints(_O_OUTPUTS)
        for position, t in enumerate(ins):
            if t == _OPTIONAL and builtin != _CUSTOM and position not in _OPTIONAL_INPUTS.get(builtin, ()):
                raise ModelError(f"{label}: {what} omits its input {position} (tensor index -1), which it needs")
        for kind, ids in (("input", ins), ("output", outs), ("intermediate", op.ints(_O_INTERMEDIATES))):
            for t in ids:
                if t != _OPTIONAL and not 0 <= t < n:
                    raise ModelError(f"{label}: {what} names {kind} tensor {t}, but the subgraph has {n} tensors")
        offset, size = op.u64(_O_LARGE_OFFSET), op.u64(_O_LARGE_SIZE)
        if offset > 1 and offset + size > len(graph.buf):
            raise ModelError(f"{label}: {what} has custom options past the end of the file")
        for t in outs:
            if t == _OPTIONAL:
                raise ModelError(f"{label}: {what} has an omitted (-1) output tensor")
            if t in graph_inputs:
                raise ModelError(f"{label}: {what} writes {tensor_name(t)}, which is a graph input")
            if t in const:
                raise ModelError(f"{label}: {what} writes {tensor_name(t)}, which is a constant")
            if t in writer:
                first = writer[t]
                other = "itself" if first == k else f"operator {first}"
                raise ModelError(f"{label}: {what} writes {tensor_name(t)}, which {other} already writes")
            writer[t] = k
        _check_types(builtin, ins, outs, tensors, f"{label}: {what}", tensor_name)
        reads.append(ins)
    for k, ins in enumerate(reads):
        for t in ins:
            w = writer.get(t)
            if w is not None and w >= k:
                code = operators[k].u32(_O_OPCODE)
                when = "its own output" if w == k else f"written only later by operator {w}"
                raise ModelError(f"{label}: operator {k} ({ops[code][1]}) reads {tensor_name(t)}, {when}; operators are out of order")


def _check_types(builtin: int, ins: List[int], outs: List[int], tensors: List[Table], what: str, tensor_name) -> None:
    """:data:`_SAME_TYPE_INPUTS`: the listed inputs have the element type of the first output."""
    positions = _SAME_TYPE_INPUTS.get(builtin, ())
    if not outs or (positions is not None and not positions):
        return
    want = tensors[outs[0]].i8(_T_TYPE)
    for position, t in enumerate(ins):
        if t == _OPTIONAL or (positions is not None and position not in positions):
            continue
        got = tensors[t].i8(_T_TYPE)
        if got != want:
            raise ModelError(f"{what} reads {tensor_name(t)} of type {_TYPE_NAMES.get(got, got)} as input {position}, "
                             f"but writes {_TYPE_NAMES.get(want, want)}: a corrupt or rewired graph")


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
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
                continue
            if isinstance(obj, dict):
                props.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()})
    return props
