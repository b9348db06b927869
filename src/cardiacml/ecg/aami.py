"""AAMI EC57 classes of beat annotations, and reporting of beat classification: Se, +P, F1 for N, S, V, F; Q apart.

:func:`macro_f1` is the one macro-F1 of cardiacml: :func:`aami_report` and
:func:`cardiacml.tasks.metrics.classification_metrics` (every classification task's metrics) both average with it.
"""

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


def macro_f1(f1, support, predicted, classes) -> tuple[float, list[str]]:
    """Macro-F1: the mean F1 over the classes that occur in the reference or in the predictions.

    A class with no reference example and no prediction has no F1 (its precision and recall are both 0/0): it is
    left out of the mean, and named. A class predicted but absent from the reference stays in with F1 0 (each of
    its predictions is a false alarm), as does a class of the reference never predicted (each example missed).
    This is scikit-learn's default macro average (over the labels present in ``y_true`` or ``y_pred``); counting
    the absent classes as 0 would lower the figure of a test set that lacks a class (one record, a subset)
    whatever the model does.

    Parameters
    ----------
    f1 : sequence of float
        F1 of each class.
    support : sequence of int
        Reference examples of each class.
    predicted : sequence of int
        Predictions of each class that count against its precision.
    classes : sequence of str
        Class names, in the order of the three sequences.

    Returns
    -------
    macro : float
        Mean F1 of the classes that occur; NaN where none does (nothing to average).
    left_out : list of str
        The classes left out (no reference example, no prediction), in ``classes`` order.
    """
    f1, support, predicted = (np.asarray(a, np.float64) for a in (f1, support, predicted))
    if not f1.shape == support.shape == predicted.shape == (len(classes),):
        raise ValueError(f"macro_f1: f1, support and predicted must hold one value per class ({len(classes)}), got "
                         f"shapes {f1.shape}, {support.shape} and {predicted.shape}")
    occurs = (support > 0) | (predicted > 0)
    macro = float(f1[occurs].mean()) if occurs.any() else float("nan")
    return macro, [str(c) for c, o in zip(classes, occurs) if not o]


def aami_report(y_true, y_pred, classes=("N", "S", "V", "F", "Q")) -> dict:
    """Per-class sensitivity (Se), positive predictivity (+P) and F1 for N, S, V, F; macro-F1 over those that occur.

    Beats whose reference is Q are reported apart (how many, and what they were called) and are
    left out of the N/S/V/F figures, as EC57 does for unclassifiable beats; beats the model
    calls Q count as misses for their reference class.

    The macro-F1 (:func:`macro_f1`) averages the classes of N, S, V, F with a reference beat or a call (calls on
    reference-Q beats apart, as for +P); one with neither (F on a record without F beats, never called F) has
    no F1 and is left out, and named in ``macro_f1_nsvf_left_out``. Where all four occur (MIT-BIH DS2) it is the
    mean of the four F1s.

    Returns a JSON-friendly dict with ``per_class`` {c: {se, ppv, f1, support}}, ``macro_f1_nsvf``,
    ``macro_f1_nsvf_left_out``, ``accuracy_nsvf``, ``confusion`` (reference rows x predicted columns over all
    classes), ``q``.
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
    per, called_as = {}, []
    for c in AAMI4:
        i = classes.index(c)
        row = cm[i].sum()
        tp = cm[i, i]
        called = sub[:, i].sum()
        se = tp / row if row else 0.0
        ppv = tp / called if called else 0.0
        f1 = 2 * se * ppv / (se + ppv) if se + ppv else 0.0
        per[c] = {"se": float(se), "ppv": float(ppv), "f1": float(f1), "support": int(row)}
        called_as.append(int(called))
    macro, left_out = macro_f1([per[c]["f1"] for c in AAMI4], [per[c]["support"] for c in AAMI4], called_as, AAMI4)
    mask = y_true != qi if qi is not None else np.ones(len(y_true), bool)
    out = {"n": int(mask.sum()), "per_class": per, "macro_f1_nsvf": macro, "macro_f1_nsvf_left_out": left_out,
           "accuracy_nsvf": float((y_true[mask] == y_pred[mask]).mean()) if mask.any() else 0.0,
           "confusion": cm.tolist(), "classes": list(classes)}
    if qi is not None:
        out["q"] = {"support": int(cm[qi].sum()), "called": {c: int(cm[qi, j]) for j, c in enumerate(classes)}}
    return out


def format_report(rep: dict, title: str = "") -> str:
    """A Markdown table of :func:`aami_report` (Se / +P / F1 in %); the macro-F1 row names the classes it averages."""
    lines = [title] if title else []
    lines += ["| class | n | Se % | +P % | F1 |", "|---|---|---|---|---|"]
    for c, v in rep["per_class"].items():
        lines.append(f"| {c} | {v['support']} | {100 * v['se']:.1f} | {100 * v['ppv']:.1f} | {v['f1']:.3f} |")
    left_out = rep.get("macro_f1_nsvf_left_out", [])
    averaged = ",".join(c for c in rep["per_class"] if c not in left_out)
    lines.append(f"| macro-F1 ({averaged}) | {rep['n']} | | | {rep['macro_f1_nsvf']:.3f} |")
    if left_out:
        lines += ["", f"{', '.join(left_out)} left out of the macro-F1: no reference beat, none called"]
    cls = rep["classes"]
    lines.append("")
    lines.append("confusion (rows reference, columns predicted): " + " ".join(cls))
    for c, row in zip(cls, rep["confusion"]):
        lines.append(f"  {c}: {row}")
    return "\n".join(lines)
