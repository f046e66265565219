"""The house rules, checked: layers import only downwards, no cycles, small modules, no lab notes.

The graph counts every import of ours, those inside functions included, between packages
(subpackages apart: ``model.training`` is not ``model``).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("digitize", "segmentation", "model", "db", "worker", "review")
OURS = (*PRODUCT, "bench")

#: What each package may import (besides itself). The foundation imports nothing of ours.
ALLOWED: dict[str, set[str]] = {
    "digitize": set(),
    "segmentation": {"digitize"},
    "model": {"digitize"},
    "db": {"digitize"},
    "db.migrations": {"db", "digitize"},
    "worker": {"digitize", "segmentation", "model", "db"},
    "review": {"digitize", "segmentation", "model", "db", "worker"},
    "model.training": {"digitize", "segmentation", "model", "db", "worker"},
    "bench": {
        "digitize",
        "segmentation",
        "model",
        "model.training",
        "db",
        "worker",
        "review",
        "bench.corpus",
    },
    "bench.corpus": {"digitize", "segmentation", "model", "model.training", "bench"},
    "digitize.cli": set(OURS) | {"model.training"},
}


def modules() -> dict[str, Path]:
    out = {}
    for root in OURS:
        for path in (REPO / root).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def package_of(name: str, mods: dict[str, Path]) -> str:
    return name if mods[name].name == "__init__.py" else name.rpartition(".")[0] or name


def imports(path: Path, mods: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def package_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        here = package_of(name, mods)
        for target in imports(path, mods):
            there = package_of(target, mods)
            if there != here:
                graph[here].add(there)
    return graph


def test_layers_point_one_way() -> None:
    graph = package_graph()
    for package, targets in graph.items():
        assert package in ALLOWED, f"{package}: a new package needs its place in ALLOWED"
        assert targets <= ALLOWED[package], (package, sorted(targets - ALLOWED[package]))


def test_no_import_cycles_between_packages() -> None:
    graph = package_graph()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [p for p in graph if reaches(p, p, set())] == []


def test_product_modules_are_small_and_carry_no_lab_notes() -> None:
    dated = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b|\bNot kept\b|\bTried \(")
    for root in PRODUCT:
        for path in (REPO / root).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert text.count("\n") <= 500, f"{path}: over 500 lines"
            if "migrations" not in path.parts:
                assert not dated.search(text), f"{path}: a dated record belongs in docs/"


def test_readme_stays_short() -> None:
    assert (REPO / "README.md").read_text(encoding="utf-8").count("\n") < 250
