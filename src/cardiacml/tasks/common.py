"""Pieces shared by the classification tasks: summary line and metrics."""

from __future__ import annotations


def classification_summary(m: dict) -> str:
    """One line of a classification run's test metrics."""
    return f"test: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  (n={m['n']})"


def classification_task_metrics(y, prob, data) -> dict:
    """Accuracy, macro-F1, per-class figures and confusion matrix of class probabilities ``prob``."""
    from .metrics import classification_metrics

    return classification_metrics(y, prob.argmax(1), list(data.contract.target_names))
