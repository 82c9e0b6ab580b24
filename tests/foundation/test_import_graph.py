"""The shape of the code stays as the README's layout section draws it: no module imports
one that imports it back (however far round), the apps depend on each other one way, and
botruntime, a library of bot sessions, knows no app.

Every import statement counts, wherever it stands: at the top of a module or inside a
function. An import moved into a function still makes the two modules know each other; it
only postpones the failure, so it does not break a cycle. Only `if TYPE_CHECKING:` blocks
are left out: they never run, and name a type for annotations alone. An
app here is a top-level package: the apps nested inside one (`campaigns/webhooks/`,
`dialer_site/dashboard/`, `dialer_site/staff/`) are rooms of that package and may use it.
The package a module sits in is not an edge by itself (Python runs its `__init__` first,
which is how packages work)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["botruntime", "calls", "campaigns", "common", "dialer_site", "twilio_emulator", "voice_emulators"]
# botruntime may use Django (django.conf) and libraries, never the product's apps.
FORBIDDEN = {"botruntime": {"calls", "campaigns", "dialer_site"}}


def modules(root: Path, packages: list[str]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def executed(node: ast.AST):
    """Every node below this one but the bodies of `if TYPE_CHECKING:`, which never run."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            children = child.orelse
        else:
            children = [child]
        for kept in children:
            yield kept
            yield from executed(kept)


def imports(root: Path, packages: list[str]) -> dict[str, set[str]]:
    """Each project module → the project modules it imports (the deepest one each names)."""
    known = modules(root, packages)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in executed(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..a import b
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from package import module` names the module; `from module import name`, the module.
                targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                            for alias in node.names}
        graph[name] = {module for module in map(resolve, targets) if module and module != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

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
            component = set()
            while node not in component:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    apps: dict[str, set[str]] = {}
    for module, targets in graph.items():
        app = module.split(".")[0]
        apps.setdefault(app, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != app)
    return apps


def forbidden_edges(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {target}" for module, targets in graph.items() for target in targets
                  if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], ()))


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(imports(ROOT, PACKAGES)) == []


def test_the_apps_depend_on_each_other_one_way():
    assert cycles(app_graph(imports(ROOT, PACKAGES))) == []


def test_botruntime_imports_no_app():
    assert forbidden_edges(imports(ROOT, PACKAGES)) == []


def test_it_finds_a_cycle_hidden_in_a_function_and_a_forbidden_edge(tmp_path):
    """The checker itself: a cycle through a lazy import, a relative import and apps that
    use each other are found, as is botruntime importing an app; an import for type
    checking only is not an edge."""
    files = {
        "campaigns/__init__.py": "",
        "campaigns/dispatch.py": "from campaigns import tasks\n",
        "campaigns/tasks.py": "def reap():\n    from .dispatch import reap\n",
        "campaigns/models.py": "import calls.models\n",
        "calls/__init__.py": "",
        "calls/models.py": "from campaigns.models import Campaign\nfrom calls import live\n",
        "calls/live.py": "import typing\nif typing.TYPE_CHECKING:\n    from calls.models import Call\n",
        "botruntime/__init__.py": "",
        "botruntime/store.py": "from django.conf import settings\nfrom calls.models import Call\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = imports(tmp_path, ["botruntime", "calls", "campaigns"])
    assert cycles(graph) == [["calls.models", "campaigns.models"], ["campaigns.dispatch", "campaigns.tasks"]]
    assert cycles(app_graph(graph)) == [["calls", "campaigns"]]
    assert forbidden_edges(graph) == ["botruntime.store imports calls.models"]
