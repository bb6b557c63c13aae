"""The house rules, read from the code's own imports (every import: top, function, typing).

The README's "For contributors" map states them in words; these tests fail as soon as an
import breaks one, and each checker is shown to catch a broken tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("monitor", "sources", "notifiers", "models")

# The rooms of monitor/, bottom to top: a room imports only from rooms below it.
# Top-level modules of monitor/ are rooms of their own.
ORDER: tuple[tuple[str, ...], ...] = (
    ("monitor", "monitor.kernel"),  # `monitor` itself holds only the version
    ("monitor.settings", "monitor.telemetry", "monitor.matching"),
    ("monitor.privacy",),
    ("monitor.storage",),
    ("monitor.delivery",),
    ("monitor.detection",),
    ("monitor.runtime",),
    ("monitor.pipeline", "monitor.scoring"),
    ("monitor.digest",),
    ("monitor.service",),
    ("monitor.cli",),
)
# What monitor/ may take from the plug-in folders: their registries and base classes,
# never one platform's or one notifier's module.
PLUGIN_FACES = {"sources", "sources.base", "notifiers", "notifiers.base"}
MAX_TOP_LEVEL_MODULES = 10
MAX_LINES = 420


def module_name(path: Path, root: Path) -> str:
    """`monitor/storage/schema.py` → `monitor.storage.schema` (a package is its __init__)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the four packages under `root`, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project modules `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b` names module a.b when there is one, else a name in a.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target


def graph(root: Path) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    found = modules(root)
    known = set(found)
    return {name: set(imports(name, path, known)) - {name} for name, path in found.items()}


def room(name: str) -> str:
    """The room of a monitor module: its subpackage, or the module itself at the top."""
    parts = name.split(".")
    return ".".join(parts[:2])


def rank(name: str) -> int | None:
    """Where a monitor module's room stands in ORDER (None: a room ORDER does not know)."""
    here = room(name)
    return next((i for i, rooms in enumerate(ORDER) if here in rooms), None)


def broken_rules(edges: dict[str, set[str]]) -> list[str]:
    """Every import that breaks a house rule, in words."""
    problems: list[str] = []
    for source, targets in sorted(edges.items()):
        top = source.split(".")[0]
        for target in sorted(targets):
            into = target.split(".")[0]
            if top == "models" and into != "models":
                problems.append(f"{source} imports {target}: models/ imports only models/")
            elif top in ("sources", "notifiers") and into == "monitor":
                if not target.startswith("monitor.kernel"):
                    problems.append(
                        f"{source} imports {target}: plug-ins import only monitor.kernel"
                    )
            elif top in ("sources", "notifiers") and into not in (top, "monitor"):
                problems.append(f"{source} imports {target}: plug-ins import only the kernel")
            elif source.startswith("monitor.kernel") and not (target.startswith("monitor.kernel")):
                problems.append(f"{source} imports {target}: the kernel imports nothing else")
            elif top == "monitor" and into in ("sources", "notifiers"):
                if target not in PLUGIN_FACES:
                    problems.append(
                        f"{source} imports {target}: monitor takes only {into}'s registry"
                    )
            elif top == "monitor" and into == "monitor" and room(source) != room(target):
                low, high = rank(target), rank(source)
                if low is None or high is None:
                    unknown = target if low is None else source
                    problems.append(f"{source} imports {target}: {room(unknown)} is not in ORDER")
                elif low >= high:
                    problems.append(
                        f"{source} imports {target}: {room(source)} may not import "
                        f"{room(target)} (rooms import downwards only)"
                    )
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_breaks_a_house_rule() -> None:
    assert broken_rules(graph(ROOT)) == []


def test_no_import_circle() -> None:
    assert cycles(graph(ROOT)) == []


def test_every_monitor_room_is_placed() -> None:
    rooms = {room(name) for name in modules(ROOT) if name.startswith("monitor.")}
    assert {r for r in rooms if rank(r) is None} == set()


def test_monitor_top_level_stays_small() -> None:
    top = [p for p in (ROOT / "monitor").glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(p.name for p in top)


def test_no_module_is_too_long() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules(ROOT).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


# The checkers themselves, on small broken trees.


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"models/m.py": "def f():\n    from monitor.kernel import records\n"},
            "models/ imports only models/",
        ),
        ({"sources/s.py": "from monitor.storage import schema\n"}, "plug-ins import only"),
        ({"notifiers/n.py": "import monitor.settings\n"}, "plug-ins import only"),
        ({"monitor/kernel/k.py": "from monitor import settings\n"}, "the kernel imports"),
        ({"monitor/runtime.py": "from sources.x import XSource\n"}, "only sources's registry"),
        (
            {
                "monitor/storage/s.py": "from monitor.detection import rules\n",
                "monitor/detection/rules.py": "",
            },
            "rooms import downwards only",
        ),
        (
            {
                "monitor/storage/s.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from monitor.cli.main import main\n",
                "monitor/cli/main.py": "",
            },
            "rooms import downwards only",
        ),
        ({"monitor/attic/a.py": "from monitor.kernel import records\n"}, "not in ORDER"),
    ],
)
def test_rule_checker_catches_a_broken_tree(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    problems = broken_rules(graph(_tree(tmp_path, files)))
    assert any(expected in problem for problem in problems), problems


def test_rule_checker_accepts_downward_imports(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "monitor/kernel/records.py": "",
            "monitor/storage/schema.py": "from monitor.kernel.records import Mention\n",
            "monitor/cli/main.py": "from monitor.storage import schema\nfrom sources import X\n",
            "sources/x.py": "from monitor.kernel import records\nfrom sources import base\n",
        },
    )
    assert broken_rules(graph(root)) == []


def test_cycle_finder_catches_a_late_import_circle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "monitor/storage/a.py": "from monitor.storage import b\n",
            "monitor/storage/b.py": "def f():\n    from monitor.storage.c import x\n",
            "monitor/storage/c.py": "from .a import y\n",
        },
    )
    assert cycles(graph(root)) == [["monitor.storage.a", "monitor.storage.b", "monitor.storage.c"]]
