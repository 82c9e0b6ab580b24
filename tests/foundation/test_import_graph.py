"""The shape of the code, held by a test: no import cycles between modules or between
apps, and botruntime, the library of Pipecat sessions, imports no app.

Reads the source with `ast` (nothing is imported or run). Every import counts, also one
inside a function: a deferred import hides a cycle from Python, not from a reader."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["botruntime", "calls", "campaigns", "dialer_site", "common", "twilio_emulator"]
# A package below the others: it may use the libraries, never the apps above it.
FORBIDDEN = {
    "botruntime": {"calls", "campaigns", "dialer_site"},
    "common": {"botruntime", "calls", "campaigns", "dialer_site", "twilio_emulator"},
    "twilio_emulator": {"botruntime", "campaigns", "dialer_site"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imported_names(path: Path, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """What the module imports when it runs. `from pkg import sub` names pkg.sub alone (pkg
    only when what it takes is not a submodule); an import under `if TYPE_CHECKING:` never
    runs, so it is left out here and counted apart (see type_only_imports)."""
    names = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return names


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _runtime_nodes(tree: ast.AST):
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        children = node.orelse if _is_type_checking(node) else ast.iter_child_nodes(node)
        pending.extend(children)


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (a name resolves to its longest module)."""
    modules = source_modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, name, path.name == "__init__.py", set(modules)):
            parts = imported.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                targets.add(".".join(parts))
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    apps: dict[str, set[str]] = {}
    for source, targets in graph.items():
        apps.setdefault(top(source), set()).update(top(t) for t in targets if top(t) != top(source))
    return apps


def edges_between(graph, apps: set[str]) -> list[str]:
    return sorted(f"{s} → {t}" for s, targets in graph.items() for t in targets
                  if top(s) in apps and top(t) in apps and top(s) != top(t))


def test_it_has_no_import_cycle_between_modules():
    found = cycles(import_graph())
    assert not found, "Import cycles:\n" + "\n".join(" ⇄ ".join(c) for c in found)


def test_it_has_no_import_cycle_between_apps():
    graph = import_graph()
    found = cycles(app_graph(graph))
    details = [f"{' ⇄ '.join(c)}: " + "; ".join(edges_between(graph, set(c))) for c in found]
    assert not found, "Apps import each other:\n" + "\n".join(details)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_it_keeps_a_lower_package_free_of_the_apps_above_it(package):
    graph = import_graph()
    wrong = sorted(f"{source} → {target}" for source, targets in graph.items() if top(source) == package
                   for target in targets if top(target) in FORBIDDEN[package])
    assert not wrong, f"{package} imports what it must not:\n" + "\n".join(wrong)


def test_it_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
