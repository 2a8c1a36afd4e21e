"""The import graph of ``src/grex``: every import goes down the flow, and there is no cycle.

The flow is scenario/portfolio → validated model → engine → results →
io/report/plot → api → cli. A module may import modules of its own layer or
of a layer below, never one above; no model module imports ``grex.io``,
``grex.report`` or ``grex.plot``. Imports inside functions count as well
(a lazy import is still a dependency). The graph is read from the source
with :mod:`ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

SOURCE = ROOT / "src"

#: Layer of each module (the longest matching dotted prefix wins); lower layers come first.
LAYERS = {
    "grex": 0,  # the package itself: __version__ only
    "grex.errors": 0,
    "grex.formatting": 0,
    "grex.progress": 0,
    "grex.limits": 0,
    "grex.numba_start": 0,  # numba's first load of the kernel without scipy.linalg (issue 17)
    "grex.display": 1,
    "grex.core": 1,
    "grex.drivers": 1,
    "grex.reserves": 1,
    "grex.portfolio": 1,
    "grex.scenario": 1,
    "grex.market": 1,  # the markets of the scenario and the allocation's numpy twin (issue 15)
    "grex.valuation": 2,
    "grex.reference": 2,
    "grex.synthetic": 2,
    "grex.kernel": 3,
    "grex.montecarlo": 3,
    "grex.diff": 4,
    "grex.batch": 4,
    "grex.sensitivity": 4,
    "grex.plot": 5,
    "grex.report": 5,
    "grex.io": 5,
    "grex.io.storage": 5,  # fsspec URLs of a batch's output
    "grex.io.cluster": 5,  # Dask clusters from the configuration, the workers' environment check
    "grex.api": 6,
    "grex.cli": 7,
}
#: The model: none of these may import files, reports or charts.
MODEL = ("core", "valuation", "montecarlo", "kernel", "drivers", "diff", "batch", "sensitivity", "reserves")
MODEL += (
    "scenario",
    "portfolio",
    "reference",
    "synthetic",
    "errors",
    "formatting",
    "display",
    "progress",
    "limits",
    "market",
    "numba_start",
)
PRESENTATION = ("grex.io", "grex.report", "grex.plot", "grex.api", "grex.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SOURCE / "grex").rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """The grex modules that ``path`` imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from grex import montecarlo" imports the module grex.montecarlo
            names = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known]
            names = names or [node.module]
        else:
            continue
        for name in names:
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) - {name} for name, path in found.items()}


def layer(name: str) -> int:
    while name not in LAYERS:
        if "." not in name:
            raise KeyError(f"{name} has no layer in tests/test_layers.py: add it to LAYERS")
        name = name.rsplit(".", 1)[0]
    return LAYERS[name]


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_is_read():
    edges = graph()
    # a few edges that must be there: the reader would be broken without them
    assert "grex.core" in edges["grex.valuation"]
    assert "grex.montecarlo.plan" in edges["grex.montecarlo.execution"]
    assert "grex.io.batch" in edges["grex.cli"]  # imported inside a function
    assert "grex.montecarlo" in edges["grex.batch"]


def test_every_module_has_a_layer():
    for name in graph():
        layer(name)


def test_no_import_goes_back_up():
    upward = [
        f"{source} (layer {layer(source)}) imports {target} (layer {layer(target)})"
        for source, targets in graph().items()
        for target in sorted(targets)
        if layer(target) > layer(source)
    ]
    assert not upward, "\n".join(upward)


def test_no_model_module_imports_files_reports_or_charts():
    wrong = [
        f"{source} imports {target}"
        for source, targets in graph().items()
        if source.split(".")[1:2] and source.split(".")[1] in MODEL
        for target in sorted(targets)
        if target.startswith(PRESENTATION)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_cycle():
    found = cycle(graph())
    assert found is None, " -> ".join(found or [])


@pytest.mark.parametrize(
    "edges, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert cycle(edges) == expected
