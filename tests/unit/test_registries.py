"""A fault kind is its file and a checker is its file: the registries find them, nothing else lists them."""

from __future__ import annotations

import ast
from pathlib import Path

import chaos_lab.checkers as checkers_package
import chaos_lab.faults as faults_package
from chaos_lab.checkers import CHECKERS
from chaos_lab.faults.registry import FAULTS


def _assigned(path: Path, name: str) -> list[str]:
    """String values assigned to `name` at any level of a module (a class's `kind`, a module's `NAME`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        named = isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
        if named and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.append(node.value.value)
    return found


def test_every_fault_file_is_a_registered_kind() -> None:
    files = {
        kind: path.stem
        for path in Path(faults_package.__path__[0]).glob("*.py")
        for kind in _assigned(path, "kind")
    }
    assert set(files) == set(FAULTS)
    # one kind per file, named after it
    assert all(stem == kind for kind, stem in files.items()), files


def test_every_checker_file_is_registered() -> None:
    names = {
        name for path in Path(checkers_package.__path__[0]).glob("*.py") for name in _assigned(path, "NAME")
    }
    assert names == set(CHECKERS)
