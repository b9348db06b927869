"""The package is layered: every module imports only its own room and the floors below it (no cycle, no upward import).

Floors, bottom up (CONTRIBUTING.md, "Where a change goes"): errors/utils < io, contracts, pretrained < ecg < datasets
< simulate, viz < tasks < models, catalog < training < inference, report < demo < cli. Imports inside functions
count too: hiding an upward import in a function keeps Python quiet, not the design clean.
"""

import ast
import warnings
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "cardiacml"
FLOORS = {
    "errors": 0, "utils": 1, "__init__": 1,  # utils raises the error classes (OutputError from the output guard)
    "io": 2, "contracts": 2, "pretrained": 2,
    "ecg": 3,
    "datasets": 4,
    "simulate": 5, "viz": 5,
    "tasks": 6,
    "models": 7, "catalog": 7,
    "training": 8,
    "inference": 9, "report": 9,
    "demo": 10, "notebooks": 10,
    "cli": 11,
    "data": 12,  # removed 0.2 names: importing it is one ImportError naming the new homes; nothing imports it
}


def _room(parts: tuple) -> str:
    return parts[0].removesuffix(".py")


def _imports(path: Path):
    """(target room, line) of every cardiacml import in ``path``, relative ones resolved."""
    rel = path.relative_to(PKG).with_suffix("").parts
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[:len(rel) - node.level])
                mod = base + (node.module.split(".") if node.module else [])
                if not mod:  # "from . import x" at the package root
                    mod = [a.name for a in node.names][:1]
                elif not node.module:
                    mod = mod + [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "cardiacml":
                mod = node.module.split(".")[1:] or [a.name for a in node.names][:1]
            else:
                continue
            yield _room(tuple(mod)), node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "cardiacml" and len(a.name.split(".")) > 1:
                    yield _room(tuple(a.name.split(".")[1:])), node.lineno


def _modules():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_room_has_a_floor():
    rooms = {_room(p.relative_to(PKG).parts) for p in _modules()}
    assert rooms <= set(FLOORS), f"rooms without a floor in this test (and CONTRIBUTING.md): {rooms - set(FLOORS)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_go_down(path):
    me = _room(path.relative_to(PKG).parts)
    bad = [(room, line) for room, line in _imports(path)
           if room != me and room in FLOORS and FLOORS[room] >= FLOORS[me] and me != "__init__"]
    assert not bad, f"{path.relative_to(PKG)} (floor {FLOORS[me]}) imports from the same or a higher floor: " + ", ".join(
        f"{room} (floor {FLOORS[room]}) at line {line}" for room, line in bad)


def test_no_module_over_700_lines():
    long = {str(p.relative_to(PKG)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 700}
    assert not long, f"split these modules: {long}"


def test_removed_names_say_where_they_went():
    """The 0.2 names under cardiacml.data warned from 0.3 on that they would go in 0.4; they are gone (0.4.16), and
    importing one says where its contents live now."""
    import sys

    for name in ("cardiacml.data", "cardiacml.data.records", "cardiacml.data.mitbih"):
        sys.modules.pop("cardiacml.data", None)
        with pytest.raises(ImportError, match="removed in cardiacml 0.4.16.*cardiacml.io.*cardiacml.datasets"):
            __import__(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from cardiacml.io import open_record as new  # noqa: F401  (the new name does not warn)
    assert not [p for p in _modules() if "data" not in p.relative_to(PKG).parts[:1]
                and any(room == "data" for room, _ in _imports(p))], "cardiacml itself must not use the removed names"
