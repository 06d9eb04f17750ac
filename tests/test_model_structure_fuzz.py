"""Structure fuzz: the bundled TFLite and ONNX models with their graphs rewired (operator tensor
indices, node inputs/outputs, node order, initializer shapes), loaded and run in a child process.
No mutant may kill the process by a signal, and every failure must be a ``YoloPoseError``."""
from __future__ import annotations

import random
import struct

import pytest

import _hostile as h
from yolopose._assets import default_model_candidates

pytestmark = pytest.mark.slow

SEED = 16
TFLITE_CASES = 48
ONNX_CASES = 12


def _bundled(suffix: str):
    found = [p for p in default_model_candidates() if p.suffix == suffix]
    if not found:
        pytest.skip(f"no bundled {suffix} model")
    return found[0]


def _check(paths, results):
    for path, result in zip(paths, results):
        if "error" in result:
            assert result["yolopose"], f"{path.name}: {result['error']}: {result['message']}"


def test_tflite_operator_indices_fuzz(tmp_path):
    pytest.importorskip("ai_edge_litert")
    data = _bundled(".tflite").read_bytes()
    slots, n_tensors = h.tflite_index_slots(data)
    rng = random.Random(SEED)
    paths = []
    for i in range(TFLITE_CASES):
        blob = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 3])):
            at = rng.choice(slots)
            kind = rng.random()
            if kind < 0.6:  # another in-range tensor: the dangerous case
                value = rng.randrange(n_tensors)
            elif kind < 0.8:  # the index another operator uses (duplicate writers, cycles)
                value = struct.unpack_from("<i", blob, rng.choice(slots))[0]
            else:  # out of range or negative
                value = rng.choice([-1, -2, n_tensors, n_tensors + 7, 2**31 - 1])
            struct.pack_into("<i", blob, at, value)
        path = tmp_path / f"mut{i}.tflite"
        path.write_bytes(bytes(blob))
        paths.append(path)
    results = h.load_in_child(paths)
    _check(paths, results)
    assert sum("error" in r for r in results) > TFLITE_CASES // 2  # the mutations do break graphs


def _onnx_mutant(model, rng):
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    nodes = m.graph.node
    names = [i.name for i in m.graph.input] + [t.name for t in m.graph.initializer] + [o for n in nodes for o in n.output]
    for _ in range(rng.choice([1, 1, 2])):
        kind = rng.randrange(6)
        node = nodes[rng.randrange(len(nodes))]
        if kind == 0 and node.input:  # read another tensor
            node.input[rng.randrange(len(node.input))] = rng.choice(names)
        elif kind == 1 and node.output:  # write another tensor (a second writer, an input, a weight)
            node.output[rng.randrange(len(node.output))] = rng.choice(names)
        elif kind == 2:  # operators out of order
            a, b = rng.randrange(len(nodes)), rng.randrange(len(nodes))
            na, nb = onnx.NodeProto(), onnx.NodeProto()
            na.CopyFrom(nodes[a])
            nb.CopyFrom(nodes[b])
            nodes[a].CopyFrom(nb)
            nodes[b].CopyFrom(na)
        elif kind == 3:  # another operator type
            node.op_type = rng.choice(nodes).op_type
        elif kind == 4 and m.graph.initializer:  # weights whose shape no longer fits their data
            t = m.graph.initializer[rng.randrange(len(m.graph.initializer))]
            if t.dims:
                t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, 1000, 2**31])
        else:  # a node removed
            del nodes[rng.randrange(len(nodes))]
    return m.SerializeToString()


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_onnx_graph_structure_fuzz(tmp_path, backend):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip(backend)
    model = onnx.load(str(_bundled(".onnx")))
    rng = random.Random(SEED)
    paths = []
    for i in range(ONNX_CASES):
        path = tmp_path / f"mut{i}.onnx"
        path.write_bytes(_onnx_mutant(model, rng))
        paths.append(path)
    results = h.load_in_child(paths, backend=backend)
    _check(paths, results)
    assert any("error" in r for r in results)
