"""The package's layout: no import cycles, layers kept, modules of a reasonable size.

The import graph is read from the source with :mod:`ast` (imports inside functions
included), so a cycle cannot hide behind a lazy import.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pergdro_sklearn"

# Modules that do numbers only: they must not reach torch, directly or through the
# package's own imports.
NUMPY_ONLY = [
    "pergdro_sklearn._constants",
    "pergdro_sklearn._groups",
    "pergdro_sklearn._memberships",
    "pergdro_sklearn._orders",
    "pergdro_sklearn._splits",
    "pergdro_sklearn._progress",
    "pergdro_sklearn._warnings",
    "pergdro_sklearn.divergences",
    "pergdro_sklearn.metrics",
    "pergdro_sklearn._shift",
    "pergdro_sklearn._search.selection",
    "pergdro_sklearn._search.halving",
    "pergdro_sklearn._ensemble.selection",
    "pergdro_sklearn.datasets",
]
# The training layer knows nothing about scikit-learn.
NO_SKLEARN = ["pergdro_sklearn._train"]
MAX_CODE_LINES = 500
MAY_BE_LONGER = {"pergdro_sklearn.divergences"}  # one divergence per class, kept whole


def _modules(package):
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name, modules):
    """``(package targets, external top-level names)`` imported by module ``name``."""
    top = name.split(".")[0]
    path = modules[name]
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    internal, external = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (internal if alias.name.startswith(top) else external).add(
                    alias.name if alias.name.startswith(top) else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith(top):
                external.add(module.split(".")[0])
                continue
            for alias in node.names:
                target = f"{module}.{alias.name}"
                internal.add(target if target in modules else module)
    # a package's __init__ is imported with each of its modules
    for target in list(internal):
        parts = target.split(".")
        for k in range(1, len(parts)):
            parent = ".".join(parts[:k])
            if parent in modules and not name.startswith(parent):
                internal.add(parent)
    internal = {t for t in internal if t in modules and t != name}
    return internal, external


def _graph(package):
    modules = _modules(package)
    return modules, {name: _imports(name, modules) for name in modules}


MODULES, GRAPH = _graph(PACKAGE)


def _reachable(name, graph=GRAPH):
    seen, todo = set(), [name]
    while todo:
        for target in graph[todo.pop()][0]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _submodules(prefix):
    return [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]


def _cycles(graph):
    return sorted(name for name in graph if name in _reachable(name, graph))


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("name", [m for p in NUMPY_ONLY for m in _submodules(p)])
def test_numpy_only_modules_never_reach_torch(name):
    reached = {name} | _reachable(name)
    users = sorted(m for m in reached if "torch" in GRAPH[m][1])
    assert users == [], f"{name} reaches torch through {users}"


@pytest.mark.parametrize("name", [m for p in NO_SKLEARN for m in _submodules(p)])
def test_training_layer_imports_no_scikit_learn(name):
    reached = {name} | _reachable(name)
    users = sorted(m for m in reached if "sklearn" in GRAPH[m][1])
    assert users == [], f"{name} reaches scikit-learn through {users}"


def _code_lines(path):
    """Lines of code: docstrings, long string constants, comments and blanks aside."""
    source = path.read_text()
    skip = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(
                body[0].value.value, str):
            skip.update(range(body[0].lineno, body[0].end_lineno + 1))
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                isinstance(node.value.value, str):
            skip.update(range(node.lineno, node.end_lineno + 1))
    return sum(1 for i, line in enumerate(source.splitlines(), 1)
               if i not in skip and line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("name", sorted(set(MODULES) - MAY_BE_LONGER))
def test_modules_stay_small(name):
    assert _code_lines(MODULES[name]) <= MAX_CODE_LINES


def test_a_cycle_behind_a_lazy_import_is_found(tmp_path):
    """The reader counts imports inside functions, so a lazy import hides no cycle."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub.b import helper\n")
    (package / "sub" / "b.py").write_text(
        "def helper():\n    from ..a import helper as again\n    return again\n")
    _, graph = _graph(package)
    assert _cycles(graph) == ["pkg.a", "pkg.sub.b"]
    (package / "sub" / "b.py").write_text("def helper():\n    import torch\n")
    _, graph = _graph(package)
    assert _cycles(graph) == [] and "torch" in graph["pkg.sub.b"][1]
