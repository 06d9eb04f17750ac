"""Every import between the package's layers points one way (docs/architecture.md, "Layers").

A layer is a folder: the shared base is ``sdk/core/`` (``yolopose.core``), the engine adapters
``runtimes/``, the SDK the rest of ``sdk/``, then ``training/`` and ``export/``. A module belongs
to the layer of the innermost folder that holds it, so a new module is placed by where it is
saved, and no list of module names is kept by hand. The source is read with :mod:`ast` (nothing
is imported), so the check sees imports inside functions and under ``TYPE_CHECKING`` too. A
module may import only from its own layer and from the layers listed for it in :data:`ALLOWED`:

    base  <-  runtimes  <-  sdk  <-  export
    base  <-  training  <---------  export
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]

#: layer -> its folder (relative to the repository root); a folder inside another is its own layer
LAYER_FOLDERS: Dict[str, str] = {
    "base": "sdk/core",
    "runtimes": "runtimes",
    "sdk": "sdk",
    "training": "training",
    "export": "export",
}

ALLOWED = {
    "base": {"base"},
    "runtimes": {"base", "runtimes"},
    "sdk": {"base", "runtimes", "sdk"},
    "training": {"base", "training"},
    "export": {"base", "runtimes", "sdk", "training", "export"},
}


def import_name(folder: str) -> str:
    """The import name of a folder, from ``pyproject.toml``'s ``package-dir`` (a sub-folder of a
    mapped folder is its sub-package)."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    parts = Path(folder).parts
    for name, top in sorted(mapping.items(), key=lambda kv: -len(Path(kv[1]).parts)):
        top_parts = Path(top).parts
        if parts[: len(top_parts)] == top_parts:
            return ".".join([name, *parts[len(top_parts):]])
    raise AssertionError(f"{folder} is not under a folder pyproject.toml maps to a package")


def layer_prefixes() -> Dict[str, str]:
    """import-name prefix -> layer."""
    return {import_name(folder): layer for layer, folder in LAYER_FOLDERS.items()}


def layer_of(module: str) -> Optional[str]:
    """The layer of a ``yolopose`` module (the longest matching folder), ``None`` for other packages."""
    best = None
    for prefix in layer_prefixes():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else layer_prefixes()[best]


def source_modules() -> Iterator[Tuple[str, Path]]:
    """``(module name, path)`` of every source file of every layer folder."""
    tops = {folder for folder in LAYER_FOLDERS.values() if len(Path(folder).parts) == 1}
    for folder in sorted(tops):
        package = import_name(folder)
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


def test_every_layer_folder_exists_and_holds_modules():
    modules = dict(source_modules())
    assert len(modules) > 50
    for layer, folder in LAYER_FOLDERS.items():
        assert (ROOT / folder / "__init__.py").is_file(), folder
    assert {layer_of(m) for m in modules} == set(ALLOWED)


def test_no_layer_imports_one_above_it():
    assert violations() == []


def test_allowed_imports_have_no_cycle():
    """The layers form a chain from the base up: no two layers may import each other."""
    for layer, allowed in ALLOWED.items():
        for other in allowed - {layer}:
            assert layer not in ALLOWED[other], (layer, other)


def test_the_check_sees_a_wrong_way_import(tmp_path, monkeypatch):
    """A training module that imports export (relative or absolute, even inside a function) and a
    base module that imports the SDK are reported: the check can fail."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    fake = tmp_path / "training"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "models" / "__init__.py").write_text("from ..registry_free import x\n")
    (fake / "models" / "bad.py").write_text("def f():\n    from yolopose.export.api import export\n")
    for folder in ("sdk/core", "runtimes", "export"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "sdk" / "__init__.py").write_text("")
    (tmp_path / "sdk" / "core" / "errors.py").write_text("from yolopose.estimator import PoseEstimator\n")
    (tmp_path / "sdk" / "core" / "fine.py").write_text("from .errors import X\nfrom yolopose.core.keypoints import Y\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = violations()
    assert any("bad.py:2" in v and "(export)" in v for v in found)
    assert any("errors.py:1" in v and "(base)" in v and "(sdk)" in v for v in found)
    assert len(found) == 2


@pytest.mark.parametrize(
    "module, layer",
    [
        ("yolopose", "sdk"),
        ("yolopose.core", "base"),
        ("yolopose.core.ops.select", "base"),
        ("yolopose.core.cli", "base"),
        ("yolopose.errors", "sdk"),  # the public alias of yolopose.core.errors
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


def test_a_new_module_takes_the_layer_of_its_folder(tmp_path, monkeypatch):
    """No list of names: a module saved in ``sdk/core/`` is base, one saved beside it in ``sdk/`` is SDK."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    for folder in LAYER_FOLDERS.values():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "sdk" / "core" / "brand_new.py").write_text("")
    (tmp_path / "sdk" / "also_new.py").write_text("")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    modules = dict(source_modules())
    assert layer_of("yolopose.core.brand_new") == "base" and "yolopose.core.brand_new" in modules
    assert layer_of("yolopose.also_new") == "sdk" and "yolopose.also_new" in modules
