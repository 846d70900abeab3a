"""Imports point one way: no cycle inside ``insiders``, and the light entry points stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "insiders"


def internal_imports(*, inside_packages: bool = False) -> dict[str, set[str]]:
    """Module -> the ``insiders`` modules it imports, at the top or inside functions. A
    package (``insiders/value/``) is one node named after it; with ``inside_packages`` its
    modules are nodes of their own (``value.lines``), so that a circle inside it shows."""
    def node(module: str) -> str:
        parts = module.split(".")[1:]
        if inside_packages and len(parts) > 1 and (PACKAGE / parts[0]).is_dir():
            return ".".join(parts[:2])
        return parts[0]

    graph: dict[str, set[str]] = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        relative = file.relative_to(PACKAGE).with_suffix("")
        if relative.name == "__init__" and not inside_packages:
            relative = relative.parent
        name = node("insiders." + ".".join(relative.parts)) if relative.parts else "insiders"
        if relative.name == "__init__":  # a package's face: it hands its modules' names on
            continue
        targets: set[str] = set()
        for found in ast.walk(ast.parse(file.read_text())):
            if isinstance(found, ast.ImportFrom) and found.module:
                if found.module == "insiders":
                    targets.update(alias.name for alias in found.names)
                elif found.module.startswith("insiders."):
                    targets.add(node(found.module))
            elif isinstance(found, ast.Import):
                targets.update(node(a.name) for a in found.names if a.name.startswith("insiders."))
        graph.setdefault(name, set()).update(targets - {name})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_in_the_package():
    graph = internal_imports()
    assert {"pipeline", "report", "warehouse", "run_folder", "value", "ingest"} <= set(graph)
    assert find_cycle(graph) is None


def test_no_import_cycle_inside_its_packages():
    graph = internal_imports(inside_packages=True)
    assert {"value.lines", "value.blend", "ingest.dates", "metabase.client"} <= set(graph)
    assert find_cycle(graph) is None


def test_leaf_modules_import_nothing_above_them():
    graph = internal_imports()
    assert graph["run_folder"] <= {"artifacts", "errors"}
    assert graph["errors"] == set()
    assert graph["queries"] == set()
    assert graph["config"] <= {"options", "models", "presets", "errors"}  # errors: below all
    assert graph["presets"] <= {"schema", "errors"}  # export layouts are data
    assert graph["schema"] == set()
    assert graph["options"] <= {"models"}
    assert graph["models"] <= {"errors"}
    assert graph["numba_target"] == set()


def test_the_report_presents_and_computes_no_model():
    """The report reads the run folder and presents it: the replays, refits and back-tests are
    the backtest stage's (:mod:`insiders.lookback`), the plots their own module's."""
    graph = internal_imports()
    stages = {"models", "value", "history", "membership", "lookback", "backtest", "spaces",
              "select", "compare", "segments", "pipeline"}
    for presenter in ("report", "plots", "answers", "headers"):
        assert not graph[presenter] & stages, (presenter, graph[presenter] & stages)


@pytest.mark.parametrize("code", [
    "import insiders.warehouse",
    "import insiders.queries, insiders.run_folder, insiders.config",
    "from insiders.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from insiders.cli import main\ntry:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass",
])
def test_light_entry_points_load_no_scikit_learn(code):
    heavy = "('sklearn', 'scipy', 'umap', 'numba')"
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
