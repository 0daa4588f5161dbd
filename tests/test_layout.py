"""The layout shows the architecture: imports run one way only.

Between the top-level packages: api → witness → projections → ledger. Inside `ledger/`, the
wings in the order `ledger/__init__.py` documents: `evidence` and `stores` import no other
wing, `log` imports `evidence` and `stores`, `procedures` imports `evidence`, `audit` imports
those four, and the write path (`ledger.py`, `streams.py`) imports any wing while no wing
imports it. `ledger.errors` imports nothing and anyone may import it. Every import counts,
including those inside functions. The graph is read from the source with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "witness", "projections", "ledger")  # each may import those after it
WINGS = {  # wing -> the wings it may import (besides itself and ledger.errors)
    "evidence": set(),
    "stores": set(),
    "log": {"evidence", "stores"},
    "procedures": {"evidence"},
    "audit": {"evidence", "stores", "log", "procedures"},
}
WRITE_PATH = {"ledger", "ledger.ledger", "ledger.streams", "ledger.state_cache", "ledger.group_commit"}
ERRORS = "ledger.errors"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """Every first-party module the file imports, relative imports resolved, `from pkg import
    module` counted as the module."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if is_module(f"{base}.{a.name}"))
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path)
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def part_of_ledger(module: str) -> str:
    """`errors`, `write path`, or the wing a module of `ledger/` lives in."""
    if module == ERRORS:
        return "errors"
    if module in WRITE_PATH:
        return "write path"
    wing = module.split(".")[1]
    return wing if wing in WINGS else f"unplaced ({module})"


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Each import that runs against the allowed direction, as 'importer -> imported: why'."""
    found = []
    for importer, imported in sorted(graph.items()):
        for target in sorted(imported):
            top_from, top_to = importer.split(".")[0], target.split(".")[0]
            if PACKAGES.index(top_to) < PACKAGES.index(top_from):
                found.append(f"{importer} -> {target}: {top_from} may not import {top_to}")
                continue
            if not (top_from == top_to == "ledger"):
                continue
            source, dest = part_of_ledger(importer), part_of_ledger(target)
            if source == "errors":
                found.append(f"{importer} -> {target}: the errors import nothing")
            elif dest == "errors" or source == dest or source == "write path":
                continue
            elif dest == "write path":
                found.append(f"{importer} -> {target}: no wing imports the write path")
            elif dest not in WINGS.get(source, set()):
                found.append(f"{importer} -> {target}: {source} may not import {dest}")
    return found


def test_every_ledger_module_has_its_place():
    """A module at the top of ledger/ is the write path or the errors; every other one is in
    a wing (a new module must be placed, not left at the top)."""
    unplaced = [m for m in import_graph() if m.split(".")[0] == "ledger"
                and part_of_ledger(m).startswith("unplaced")]
    assert unplaced == []
    for wing in WINGS:
        doc = ast.get_docstring(ast.parse((ROOT / "ledger" / wing / "__init__.py").read_text()))
        assert doc, f"ledger/{wing}/__init__.py says what lives there"


def test_imports_run_one_way():
    graph = import_graph()
    # the reader sees the imports it must judge, lazy ones inside functions included
    assert "ledger.evidence.keys" in graph["ledger.log.checkpoints"]
    assert "ledger.log.merkle" in graph["ledger.audit.log_check"]  # `from ledger.log import merkle`
    assert "ledger.stores.url" in graph["ledger.audit.verify"]  # imported inside a method
    assert "witness.reports" in graph["api.cli.reports"]
    assert violations(graph) == []


def test_the_check_catches_each_kind_of_wrong_import():
    wrong = {
        "ledger.evidence.keys": {"ledger.log.merkle"},  # evidence imports no wing
        "ledger.stores.url": {"ledger.evidence.canonical"},  # nor do the stores
        "ledger.procedures.tender": {"ledger.stores.url"},  # procedures: evidence only
        "ledger.log.proofs": {"ledger.audit.verify"},  # a wing above
        "ledger.audit.verify": {"ledger.ledger"},  # the write path
        "ledger.errors": {"ledger.evidence.keys"},
        "ledger.log.tree": {"projections.follower"},  # ledger knows nothing above it
        "projections.dossier": {"witness.reports"},
        "witness.model": {"api.cli"},
    }
    assert len(violations(wrong)) == len(wrong)
    allowed = {
        "ledger.ledger": {"ledger.audit.verify", "ledger.stores.url", "ledger.errors"},
        "ledger.audit.bundle": {"ledger.audit.verify", "ledger.log.proofs",
                                "ledger.procedures.refusals", "ledger.stores.tables"},
        "ledger.log.tree": {"ledger.stores.tables", "ledger.evidence.envelope", "ledger.errors"},
        "api.cli": {"witness.reports", "projections.follower", "ledger.ledger"},
    }
    assert violations(allowed) == []
