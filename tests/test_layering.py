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


# Every module uses only the public names of the others (none allowed as an exception).
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses() -> set[tuple[str, str, str]]:
    """(module, other module, private name) for every ``from other import _name`` and every
    ``other._name`` where ``other`` is a package module imported by name."""
    found: set[tuple[str, str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_init else parts)
        package = parts[:-1]
        tree = ast.parse(path.read_text())
        modules: dict[str, str] = {}  # a local name -> the package module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("tinygrad_edu"):
                    continue
                for alias in node.names:
                    where = PACKAGE.parent / f"{target}.{alias.name}".replace(".", "/")
                    if node.module is None or where.with_suffix(".py").exists() or (
                        where / "__init__.py"
                    ).exists():
                        modules[alias.asname or alias.name] = f"{target}.{alias.name}"
                    elif _private(alias.name) and target != name:
                        found.add((name, target, alias.name))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("tinygrad_edu") and alias.asname:
                        modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and _private(node.attr)):
                other = modules[node.value.id]
                if other != name:
                    found.add((name, other, node.attr))
    return found


def test_no_module_uses_another_modules_private_names():
    leaks = sorted(private_uses() - ALLOWED_PRIVATE)
    assert not leaks, "private names used across modules (give them a public home):\n" + "\n".join(
        f"  {module} uses {other}.{name}" for module, other, name in leaks
    )


def test_the_private_name_check_sees_both_spellings(tmp_path, monkeypatch):
    fake = tmp_path / "tinygrad_edu"
    (fake / "viz").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "autograd.py").write_text("_secret = 1\n")
    (fake / "viz" / "__init__.py").write_text("")
    (fake / "viz" / "a.py").write_text("from ..autograd import _secret, __doc__\n")
    (fake / "viz" / "b.py").write_text("from .. import autograd\nx = autograd._secret\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert private_uses() == {("tinygrad_edu.viz.a", "tinygrad_edu.autograd", "_secret"),
                              ("tinygrad_edu.viz.b", "tinygrad_edu.autograd", "_secret")}
