"""The package's import graph: the engine below the operations below the Tensor, no cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_edu"


def module_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports when it is imported (not under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_init else parts)
        package = parts[:-1]
        deps: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    deps |= {f"{target}.{alias.name}" for alias in node.names}
                else:
                    deps.add(target)
        graph[name] = {d for d in deps if d != name}
    return graph


def test_no_module_imports_in_a_cycle():
    graph = module_imports()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = path[path.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done or node not in graph:
            return
        for dep in sorted(graph[node]):
            visit(dep, path + [node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_the_engine_and_the_operations_never_import_the_tensor_module():
    graph = module_imports()
    assert "tinygrad_edu.tensor" not in graph["tinygrad_edu.autograd"]
    assert "tinygrad_edu.tensor" not in graph["tinygrad_edu.ops"]
    assert "tinygrad_edu.autograd" in graph["tinygrad_edu.ops"]


@pytest.mark.parametrize("module", ["tinygrad_edu.ops", "tinygrad_edu.autograd",
                                    "tinygrad_edu.tensor", "tinygrad_edu.nn", "tinygrad_edu.jit"])
def test_each_core_module_imports_on_its_own(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
