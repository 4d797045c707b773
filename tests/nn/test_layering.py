"""Imports point down only: nothing in gnnkit.nn or gnnkit.ops imports the
training, command-line or dataset packages."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gnnkit"
UPWARD = ("gnnkit.train", "gnnkit.cli", "gnnkit.datasets")


@pytest.mark.parametrize("folder", ["nn", "ops"])
def test_no_upward_imports(folder):
    offenders = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names if n.startswith(UPWARD)]
    assert offenders == []
