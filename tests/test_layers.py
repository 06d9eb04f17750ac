"""Every import between the package's layers points one way (docs/architecture.md, "Layers").

The source is read with :mod:`ast` (nothing is imported), so the check sees imports inside
functions and under ``TYPE_CHECKING`` too. A module may import only from its own layer and from
the layers listed for it in :data:`ALLOWED`:

    base  <-  runtimes  <-  sdk  <-  export
    base  <-  training  <---------  export
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: the package's folders and the import names pyproject.toml maps them to
FOLDERS = {"sdk": "yolopose", "runtimes": "yolopose.runtimes", "export": "yolopose.export", "training": "yolopose.training"}

#: module name prefix -> layer; the longest matching prefix wins. Modules of ``sdk/`` that are not
#: listed as the shared base belong to the SDK stage, so a new SDK module is never silently base.
LAYER_OF = {
    "yolopose": "sdk",
    "yolopose.runtimes": "runtimes",
    "yolopose.export": "export",
    "yolopose.training": "training",
    # the shared base: what every stage builds on (numpy, Pillow and click only)
    **{
        f"yolopose.{name}": "base"
        for name in (
            "errors", "keypoints", "fileio", "metadata", "ops", "images", "results", "draw",
            "coco_eval", "_coco_eval_numpy", "cpu", "registry", "cli.lazy", "limits", "_schema", "_coco_check",
        )
    },
}
#: the package itself (``from yolopose import __version__``) holds only the version and lazy names
PACKAGE_LAYER = "base"

ALLOWED = {
    "base": {"base"},
    "runtimes": {"base", "runtimes"},
    "sdk": {"base", "runtimes", "sdk"},
    "training": {"base", "training"},
    "export": {"base", "runtimes", "sdk", "training", "export"},
}


def layer_of(module: str) -> Optional[str]:
    """The layer of a ``yolopose`` module, ``None`` for other packages."""
    if module == "yolopose":
        return PACKAGE_LAYER
    best = None
    for prefix in LAYER_OF:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else LAYER_OF[best]


def source_modules() -> Iterator[Tuple[str, Path]]:
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield ".".join([package, *parts]), path


def imported_modules(module: str, path: Path, known: set) -> Iterator[Tuple[int, str]]:
    """``(line, module)`` for every import in the file, relative imports resolved."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in known else base


def violations() -> List[str]:
    modules = dict(source_modules())
    known = set(modules)
    found = []
    for module, path in modules.items():
        own = layer_of(module)
        for line, target in imported_modules(module, path, known):
            other = layer_of(target)
            if other is not None and other not in ALLOWED[own]:
                found.append(f"{path.relative_to(ROOT)}:{line}: {module} ({own}) imports {target} ({other})")
    return found


def test_every_source_module_has_a_layer():
    modules = dict(source_modules())
    assert len(modules) > 50
    assert {layer_of(m) for m in modules} == set(ALLOWED)


def test_no_layer_imports_one_above_it():
    assert violations() == []


def test_allowed_imports_have_no_cycle():
    """The layers form a chain from the base up: no two layers may import each other."""
    for layer, allowed in ALLOWED.items():
        for other in allowed - {layer}:
            assert layer not in ALLOWED[other], (layer, other)


def test_the_check_sees_a_wrong_way_import(tmp_path, monkeypatch):
    """A training module that imports export (relative or absolute, even inside a function)
    is reported: the check can fail."""
    fake = tmp_path / "training"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "models" / "__init__.py").write_text("from ..registry_free import x\n")
    (fake / "models" / "bad.py").write_text("def f():\n    from yolopose.export.api import export\n")
    for folder in ("sdk", "runtimes", "export"):
        (tmp_path / folder).mkdir()
    (tmp_path / "sdk" / "errors.py").write_text("from yolopose.estimator import PoseEstimator\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = violations()
    assert any("bad.py:2" in v and "(export)" in v for v in found)
    assert any("errors.py:1" in v and "(sdk)" in v for v in found)
    assert len(found) == 2


@pytest.mark.parametrize(
    "module, layer",
    [
        ("yolopose", "base"),
        ("yolopose.ops.select", "base"),
        ("yolopose.cli.lazy", "base"),
        ("yolopose.cli.predict", "sdk"),
        ("yolopose.estimator", "sdk"),
        ("yolopose.runtimes.base", "runtimes"),
        ("yolopose.training.models.raw_outputs", "training"),
        ("yolopose.export.formats.onnx", "export"),
        ("numpy", None),
    ],
)
def test_layer_of(module, layer):
    assert layer_of(module) == layer
