"""What the model registry holds, read without importing PyTorch (for ``cardiacml models`` and help texts).

Importing :mod:`cardiacml.models` imports every model module, hence PyTorch (1-2 s). The listing
command must stay instant, so :func:`model_catalog` reads the ``@register_model(...)`` decorators
of the model modules' *source* (their arguments are literals by rule, see
:func:`cardiacml.models.registry.register_model`); the conformance tests keep the two in step.
"""

from __future__ import annotations

import ast
from pathlib import Path

#: The models package's folder, found without importing it.
MODELS_DIR = Path(__file__).resolve().parent / "models"


def model_catalog() -> list[dict]:
    """Every registered model's declared facts, read from the model modules' source (no PyTorch import).

    Each entry: name, kind, outputs, accepts, defaults, params, reference, description, module.
    """
    out = []
    for path in sorted(MODELS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                continue
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "register_model":
                    try:
                        entry = {kw.arg: ast.literal_eval(kw.value) for kw in dec.keywords}
                        entry["name"] = ast.literal_eval(dec.args[0])
                    except ValueError:
                        continue
                    doc = ast.get_docstring(node) or ""
                    entry.setdefault("description", doc.strip().split("\n")[0])
                    entry.setdefault("outputs", ("vector",) if entry.get("kind") == "regression" else ())
                    entry["module"] = path.stem
                    out.append(entry)
    return sorted(out, key=lambda e: e["name"])


def tasks_served(entry: dict) -> list[str]:
    """Tasks a catalogue entry can serve (the same rule as :meth:`cardiacml.models.ModelSpec.serves`)."""
    from .tasks import get_task, list_tasks

    return [t for t in list_tasks() if get_task(t).serves(entry["kind"], entry.get("outputs", ()), entry.get("accepts", ()))]
