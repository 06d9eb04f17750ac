"""Which module of the network an exported graph node comes from, read from the node's name.

The TorchScript ONNX exporter names every node after the scopes of the modules it was traced in:
``/model/neck/top_down.0/cv3/conv/Conv`` is the convolution of module ``neck.top_down.0.cv3.conv``
(the wrapper's ``model`` scope dropped; a scope repeats its parent's name, so only what it adds
counts). OpenVINO keeps these names when it converts the ONNX graph. An int8 recipe's float layers
(module names) become the node names each format's quantizer is told to skip.
"""
from __future__ import annotations

from typing import Iterable, List, Sequence

__all__ = ["module_of", "nodes_in_modules"]


def module_of(node_name: str) -> str:
    """``/model/backbone/stages.0/stages.0.0/conv/Conv`` -> ``backbone.stages.0.0.conv``; ``""`` for a
    node outside every module (e.g. the output transposes of the wrapper)."""
    parts: List[str] = []
    previous = ""
    for scope in node_name.strip("/").split("/")[1:-1]:
        parts.append(scope[len(previous) + 1 :] if previous and scope.startswith(previous + ".") else scope)
        previous = scope
    return ".".join(parts)


def nodes_in_modules(node_names: Iterable[str], modules: Sequence[str]) -> List[str]:
    """The node names whose module is one of ``modules`` or below one of them."""
    out = []
    for name in node_names:
        module = module_of(name)
        if any(module == m or module.startswith(m + ".") for m in modules):
            out.append(name)
    return out
