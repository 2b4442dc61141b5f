"""The layering a newcomer reads from the folders holds in the code: a package imports only its own
modules and the packages below it (web → runbooks → monitors → failover → backup → appliance; `cli`,
the composition root, sits on top and may import all), no two modules import each other in a circle,
and no import hides behind importlib. Imports inside functions count too: they are imports.
(Run by the suite, so CI enforces it.)"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["appliance", "backup", "failover", "monitors", "runbooks", "web"]  # lowest first
PACKAGES = LAYERS + ["cli"]


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py") if (ROOT / package).is_dir() else ():
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> tuple[set[str], list[str]]:
    """Modules of the project that `name` imports, and its importlib.import_module calls."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets, hidden = set(), []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] if node.level else [])
            prefix = ".".join(part for part in (base, node.module or "") if part)
            names = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            # the root's lazy command table (cli.wiring.COMMANDS) may load by name; the layers may not
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
                    and name.split(".")[0] in LAYERS):
                hidden.append(f"{name}: importlib.import_module")
            continue
        for target in names:
            while target and target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                targets.add(target)
    return targets, hidden


def _graph():
    modules = _modules()
    edges, hidden = {}, []
    for name, path in modules.items():
        edges[name], found = _imports(name, path, modules)
        hidden += found
    return edges, hidden


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), without a package's __init__
    importing its own submodules (that is registration, not a cycle)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            shortest = min(component, key=len)
            if len(component) > 1 and not all(c == shortest or c.startswith(shortest + ".") for c in component):
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_package_imports_a_package_above_it():
    edges, _ = _graph()
    upward = [f"{m} -> {t}" for m, targets in edges.items() for t in targets
              if m.split(".")[0] in LAYERS and t.split(".")[0] in PACKAGES
              and PACKAGES.index(t.split(".")[0]) > LAYERS.index(m.split(".")[0])]
    assert upward == []


def test_no_modules_import_each_other_in_a_circle():
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_no_import_hides_behind_importlib():
    _, hidden = _graph()
    assert hidden == []


def test_the_check_sees_an_upward_import_and_a_cycle():
    """The checker itself works: a made-up graph with both faults is caught."""
    edges = {"appliance.a": {"web.b"}, "web.b": {"appliance.a"}}
    assert _cycles(edges) == [["appliance.a", "web.b"]]
    assert PACKAGES.index("web") > LAYERS.index("appliance")
