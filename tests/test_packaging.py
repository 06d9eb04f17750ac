"""The folder -> import-name mapping of pyproject.toml covers every package we ship."""
from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    cfg = _config()
    listed = set(cfg["packages"])
    found = set()
    for name, folder in cfg["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    # a sub-folder mapped by its own entry (e.g. yolopose.runtimes) is found from that entry
    missing = sorted(found - listed)
    assert not missing, f"add these packages to pyproject.toml: {missing}"
    assert not sorted(listed - found), "pyproject.toml lists packages that do not exist"


def test_console_scripts_point_at_importable_objects():
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"yolopose", "yolopose-train", "yolopose-export"} <= set(scripts)
    for target in scripts.values():
        module, attr = target.split(":")
        if module.startswith(("yolopose.training", "yolopose.export")):
            pytest.importorskip("torch")
        assert callable(getattr(importlib.import_module(module), attr))


def test_the_old_public_names_still_import():
    """What the README and examples import keeps working after the base moved to yolopose.core:
    ``yolopose.errors`` is the same module's classes, and the package's lazy names resolve."""
    import yolopose
    import yolopose.core.errors as core_errors
    import yolopose.errors as errors

    assert set(errors.__all__) == set(core_errors.__all__)
    for name in core_errors.__all__:
        assert getattr(errors, name) is getattr(core_errors, name)
    from yolopose.core.images import load_image
    from yolopose.core.metadata import ModelMetadata
    from yolopose.core.results import Poses

    assert (yolopose.Poses, yolopose.ModelMetadata, yolopose.load_image) == (Poses, ModelMetadata, load_image)
    assert yolopose.PoseEstimator.__module__ == "yolopose.estimator"
    assert yolopose.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
