"""The layout shows the layers (docs/architecture.md): import-linter's contract in pyproject.toml
holds, no import cycle exists (imports inside functions count), mlel's top level is only its
``__init__`` and thin entry shims, and no module grows past one screenful of jobs (400 lines)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mlel"
SHIMS = {"__init__.py", "infer.py", "train.py", "merge.py", "label_generator.py", "sweep.py", "record.py",
         "tracking.py"}


def strongly_connected(graph) -> list[list[str]]:
    """Tarjan's components of more than one module: each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_the_layers_contract_holds():
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "broken" in done.stdout and "0 broken" in done.stdout


def test_no_import_cycle_not_even_inside_a_function():
    assert strongly_connected(grimp.build_graph("mlel")) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert strongly_connected(graph) == [["a.x", "a.y"]]


def test_the_top_level_holds_only_entry_shims():
    files = {p.name for p in PACKAGE.iterdir() if p.is_file()}
    assert files <= SHIMS and len(files) <= 8, sorted(files - SHIMS)
    for name in files - {"__init__.py"}:
        assert len((PACKAGE / name).read_text().splitlines()) <= 15, name  # a shim, not a home


def test_no_module_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
