"""AAMI EC57 classes of beat annotations, and reporting of beat classification: Se, +P, F1 for N, S, V, F; Q apart."""

from __future__ import annotations

import numpy as np

#: AAMI EC57 mapping of MIT-BIH beat annotation symbols (:data:`cardiacml.io.BEAT_SYMBOLS`) to class
#: indices N=0, S=1, V=2, F=3, Q=4 (the order of :data:`cardiacml.contracts.beat.CLASSES`).
AAMI_MAP = {
    "N": 0, "L": 0, "R": 0, "e": 0, "j": 0,
    "A": 1, "a": 1, "J": 1, "S": 1,
    "V": 2, "E": 2,
    "F": 3,
    "/": 4, "f": 4, "Q": 4,
}
AAMI4 = ("N", "S", "V", "F")


def aami_report(y_true, y_pred, classes=("N", "S", "V", "F", "Q")) -> dict:
    """Per-class sensitivity (Se), positive predictivity (+P) and F1 for N, S, V, F; macro-F1 over those four.

    Beats whose reference is Q are reported apart (how many, and what they were called) and are
    left out of the N/S/V/F figures, as EC57 does for unclassifiable beats; beats the model
    calls Q count as misses for their reference class.

    Returns a JSON-friendly dict with ``per_class`` {c: {se, ppv, f1, support}}, ``macro_f1_nsvf``,
    ``accuracy_nsvf``, ``confusion`` (reference rows x predicted columns over all classes), ``q``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(classes)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"aami_report: y_true and y_pred must be 1-D of one length, got {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if len(y) and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= k):
            raise ValueError(f"aami_report: {name} must hold class indices 0..{k - 1} ({'/'.join(classes)}); leave out "
                             "detections that match no reference beat (reference -1) first")
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    qi = classes.index("Q") if "Q" in classes else None
    sub = cm if qi is None else np.delete(cm, qi, 0)  # reference Q rows out
    per = {}
    for c in AAMI4:
        i = classes.index(c)
        row = cm[i].sum()
        tp = cm[i, i]
        called = sub[:, i].sum()
        se = tp / row if row else 0.0
        ppv = tp / called if called else 0.0
        f1 = 2 * se * ppv / (se + ppv) if se + ppv else 0.0
        per[c] = {"se": float(se), "ppv": float(ppv), "f1": float(f1), "support": int(row)}
    mask = y_true != qi if qi is not None else np.ones(len(y_true), bool)
    out = {"n": int(mask.sum()), "per_class": per, "macro_f1_nsvf": float(np.mean([per[c]["f1"] for c in AAMI4])),
           "accuracy_nsvf": float((y_true[mask] == y_pred[mask]).mean()) if mask.any() else 0.0,
           "confusion": cm.tolist(), "classes": list(classes)}
    if qi is not None:
        out["q"] = {"support": int(cm[qi].sum()), "called": {c: int(cm[qi, j]) for j, c in enumerate(classes)}}
    return out


def format_report(rep: dict, title: str = "") -> str:
    """A Markdown table of :func:`aami_report` (Se / +P / F1 in %)."""
    lines = [title] if title else []
    lines += ["| class | n | Se % | +P % | F1 |", "|---|---|---|---|---|"]
    for c, v in rep["per_class"].items():
        lines.append(f"| {c} | {v['support']} | {100 * v['se']:.1f} | {100 * v['ppv']:.1f} | {v['f1']:.3f} |")
    lines.append(f"| macro-F1 (N,S,V,F) | {rep['n']} | | | {rep['macro_f1_nsvf']:.3f} |")
    cls = rep["classes"]
    lines.append("")
    lines.append("confusion (rows reference, columns predicted): " + " ".join(cls))
    for c, row in zip(cls, rep["confusion"]):
        lines.append(f"  {c}: {row}")
    return "\n".join(lines)
