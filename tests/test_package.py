"""The package's layout: every module declares ``__all__``, the flat namespace is built from them,
and no module reaches into another's private names."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import helpers

PACKAGE = pathlib.Path(helpers.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
FLAT = ["data", "models", "layers", "explainers", "cams", "attributions", "evaluation", "activations", "filters",
        "shortcuts"]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_public_names(name):
    module = importlib.import_module(f"helpers.{name}")
    assert hasattr(module, "__all__"), f"helpers.{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"helpers.{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", FLAT)
def test_flat_namespace_is_built_from_the_modules(name):
    module = importlib.import_module(f"helpers.{name}")
    for public in module.__all__:
        assert getattr(helpers, public) is getattr(module, public), f"helpers.{public} is not helpers.{name}.{public}"


def test_no_module_imports_private_names_of_another():
    offenders = []
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("*/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
                offenders += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and a.name != "__all__"]
    assert not offenders, offenders


def test_every_public_function_names_its_notebook_or_is_documented():
    undocumented = []
    for name in FLAT:
        module = importlib.import_module(f"helpers.{name}")
        for public in module.__all__:
            value = getattr(module, public)
            if callable(value) and not isinstance(value, type) and not (value.__doc__ or "").strip():
                undocumented.append(f"{name}.{public}")
    assert not undocumented, undocumented
