"""Pieces shared by the classification tasks: summary line and metrics."""

from __future__ import annotations


def left_out_note(left_out) -> str:
    """The classes a macro-F1 left out, as `` (F left out: no example, none predicted)``; ``""`` when none."""
    return f" ({', '.join(left_out)} left out: no example, none predicted)" if left_out else ""


def classification_summary(m: dict) -> str:
    """One line of a classification run's test metrics (the macro-F1 names the classes it left out)."""
    note = left_out_note(m.get("macro_f1_left_out"))
    return f"test: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}{note}  (n={m['n']})"


def classification_task_metrics(y, prob, data) -> dict:
    """Accuracy, macro-F1, per-class figures and confusion matrix of class probabilities ``prob``."""
    from .metrics import classification_metrics

    return classification_metrics(y, prob.argmax(1), list(data.contract.target_names))
