"""The bot's and the inventory's code stay easy to find: every module says what it is for, and
no two modules import each other (directly or round a longer circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from project.settings import BASE_DIR

APPS = ("conversation", "raffles")


def _modules(app: str) -> dict[str, Path]:
    found = {}
    for path in sorted((Path(BASE_DIR) / app).rglob("*.py")):
        parts = list(path.relative_to(BASE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = {name: path for app in APPS for name, path in _modules(app).items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_starts_with_a_docstring_saying_what_it_is_for(name):
    docstring = ast.get_docstring(ast.parse(MODULES[name].read_text()))

    assert docstring and len(docstring.split()) >= 3, f"{name} has no docstring"


def _imports(name: str, path: Path) -> set[str]:
    """The app modules `name` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in MODULES:
                    found.add(target)
                elif base in MODULES:
                    found.add(base)
    found.discard(name)
    return found


def test_no_module_of_the_bot_or_the_inventory_imports_itself_round_a_circle():
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    circles = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target == start:
                circles.append(" -> ".join([*path, start]))
            elif target not in path and target > start:
                walk(start, target, [*path, target])

    for start in sorted(graph):
        walk(start, start, [start])

    assert circles == []
