"""The shape of the code: imports flow one way, request → auth → parse → match → fetch → present.

Read statically from the source (every ``import``, also inside functions), so a cycle is caught
even where it would only bite at run time.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import app

ROOT = Path(app.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {"app": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix="app."):
        spec = info.module_finder.find_spec(info.name)
        if spec is not None and spec.origin:
            found[info.name] = Path(spec.origin)
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Modules of ``app`` that ``name`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                targets.add(candidate if candidate in MODULES else source)
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_walk_sees_the_layers():
    for name in ("app.web.lookup", "app.web.ops", "app.gladly.auth", "app.lookup", "app.services"):
        assert name in MODULES


def test_no_import_cycle():
    found = _cycle(GRAPH)
    assert found is None, " → ".join(found)


def test_the_gladly_package_is_the_protocol_edge_only():
    for name in (m for m in MODULES if _within(m, "app.gladly")):
        wrong = sorted(m for m in _reachable(name)
                       if _within(m, "app.web") or m in ("app.services", "app.lookup"))
        assert not wrong, f"{name} depends on {wrong}"


def test_nothing_below_the_wiring_depends_on_it():
    for name, targets in GRAPH.items():
        if name == "app" or _within(name, "app.web"):
            continue
        assert not any(_within(t, "app.web") for t in targets), f"{name} imports app.web"


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_no_cycle_between_packages():
    """``app.gladly`` ↔ ``app.lookup`` and similar loops at the level of whole packages."""
    packages: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        packages.setdefault(_package(name), set()).update(_package(t) for t in targets)
    for package, targets in packages.items():
        targets.discard(package)
    found = _cycle(packages)
    assert found is None, " → ".join(found)
