"""Pretrained beat classifiers shipped with cardiacml (ordinary ``fit()`` checkpoints + model cards).

* ``beats-ds1`` - rhythmnet trained on MIT-BIH DS1 records only (the honest one: its DS2
  figures are on unseen patients);
* ``beats-all`` - rhythmnet trained on all 44 non-paced MIT-BIH records (the one to use).

Each ``<name>.pt`` is a checkpoint ``load_checkpoint`` reads; ``<name>.json`` is its card
(training data, protocol, measured DS2 figures, the command that retrains it).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import MissingDataError

HERE = Path(__file__).resolve().parent


def list_pretrained() -> dict[str, dict]:
    """Shipped pretrained models: ``{name: card}`` (card = the ``<name>.json`` dict, plus ``path``)."""
    out = {}
    for pt in sorted(HERE.glob("*.pt")):
        card_path = pt.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else {"name": pt.stem}
        card["path"] = str(pt)
        out[pt.stem] = card
    return out


def is_pretrained(name) -> bool:
    """True when ``name`` (a bare name, e.g. ``"beats-ds1"``) names a shipped model and means it here.

    A checkpoint file or a run folder (one holding ``model.pt``) of that name in the current folder is the user's
    and wins; a folder holding no checkpoint does not hide the shipped model (``export beats-ds1 --out beats-ds1/``
    made one, and every later ``predict beats-ds1`` there failed with "no checkpoint in this folder"). A path
    (``./beats-ds1``) always means the path.
    """
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "/" in name \
            or not (HERE / f"{name}.pt").is_file():
        return False
    local = Path(name)
    return not local.exists() or (local.is_dir() and not (local / "model.pt").is_file())


def shadow_note(name: str) -> str | None:
    """The note to give when the shipped model ``name`` is used although a folder of that name is here (see
    :func:`is_pretrained`); None when there is none."""
    if is_pretrained(name) and Path(name).is_dir():
        return (f"using the pretrained model {name}: the folder {name}/ here holds no checkpoint (write "
                f"./{name} to mean the folder)")
    return None


def is_shipped(path) -> bool:
    """True when the checkpoint ``path`` is one shipped in this package's folder (not a user's checkpoint in a folder
    that happens to be called ``pretrained``)."""
    from ..utils import resolved

    return resolved(path).parent == HERE


def pretrained_path(name: str) -> Path:
    """Path of the shipped checkpoint ``name`` (e.g. ``"beats-ds1"``); MissingDataError listing the names if absent."""
    p = HERE / f"{name}.pt"
    if not p.is_file():
        have = ", ".join(list_pretrained()) or "none"
        raise MissingDataError(f"no pretrained model named {name!r} (shipped: {have})")
    return p


def card_headline(card: dict) -> str:
    """The measured figures of a model card in one line (``headline``, or the DS2 table of a beat model)."""
    fig = card.get("headline") or ""
    if not fig and "ds2" in card:
        d = card["ds2"]
        pc = d.get("per_class", {})
        fig = (f"DS2 macro-F1 N/S/V/F {d.get('macro_f1_nsvf', float('nan')):.3f}"
               + "".join(f", {c} Se {100 * pc[c]['se']:.1f}/+P {100 * pc[c]['ppv']:.1f}" for c in ("S", "V") if c in pc)
               + ("" if d.get("honest", True) else " (training patients: not a generalisation figure)"))
    return fig


def describe_pretrained() -> list[str]:
    """Lines for ``cardiacml models``: name, model, task, training data and the headline measured figures."""
    lines = []
    for name, card in list_pretrained().items():
        fig = card_headline(card)
        lines.append(f"  {name:<11}{card.get('model', '?'):<12}{card.get('task', 'beats'):<7}{card.get('protocol', '')}")
        if fig:
            lines.append(f"  {'':<30}{fig}")
    return lines
