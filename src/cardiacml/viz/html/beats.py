"""Interactive views of a beat classifier's run: confusion matrix and example beats with their probabilities."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .page import CLASS_COLOURS, PAGE_BUDGET, b64, colour, fig_html, section, table, write_page  # noqa: F401



def confusion_figure(confusion, class_names):
    """Confusion matrix heatmap: colour = fraction of the true class, cells show count and fraction."""
    import plotly.graph_objects as go

    cm = np.asarray(confusion, np.float64)
    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    classes = [str(c) for c in class_names]
    text = [[f"{int(cm[i, j]):,}<br>{frac[i, j]:.2f}" for j in range(len(classes))] for i in range(len(classes))]
    fig = go.Figure(go.Heatmap(z=frac, x=classes, y=classes, text=text, texttemplate="%{text}", colorscale="Blues",
                               zmin=0, zmax=1, customdata=cm,
                               colorbar=dict(title=dict(text="fraction of<br>true class"), thickness=14),
                               hovertemplate="true %{y}, predicted %{x}<br>%{customdata:,} beats (%{z:.3f} of true %{y})<extra></extra>"))
    side = 110 + 70 * len(classes)
    fig.update_layout(height=side + 40, width=side + 140, margin=dict(l=70, r=20, t=30, b=60),
                      xaxis=dict(title_text="predicted class", side="bottom", constrain="domain"),
                      yaxis=dict(title_text="true class", autorange="reversed", scaleanchor="x"))
    return fig


def examples_figure(examples_X, examples_true, examples_prob, class_names, *, fs: float = 125.0, per_class: int = 3,
                    t0_ms: float = 0.0):
    """Example beats per true class (rows), each next to a bar chart of its predicted probabilities. ``examples_X``:
    the beats' waveforms only (:func:`cardiacml.viz.plots.beat_window`), their first sample ``t0_ms`` from the R peak."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    X = np.asarray(examples_X, np.float32)
    if X.ndim == 3:
        X = X[:, 0]
    y = np.asarray(examples_true).astype(np.int64)
    P = np.asarray(examples_prob, np.float32)
    classes = [str(c) for c in class_names]
    picks = []
    for k in range(len(classes)):
        idx = np.flatnonzero(y == k)
        wrong = idx[P[idx].argmax(1) != k]
        chosen = list(idx[P[idx].argmax(1) == k][: per_class - min(1, len(wrong))]) + list(wrong[:1])
        picks.append(sorted(chosen, key=lambda i: int(P[i].argmax() != k))[:per_class])
    n_ex = max(1, max(len(p) for p in picks))
    titles = []
    for k, p in enumerate(picks):
        for e in range(n_ex):
            if e < len(p):
                i = p[e]
                pk = int(P[i].argmax())
                titles += [f"true {classes[k]} → <b>{classes[pk]}</b> ({P[i, pk]:.2f})", ""]
            else:
                titles += ["" if e else f"true {classes[k]}: no example", ""]
    fig = make_subplots(rows=len(classes), cols=2 * n_ex, column_widths=[0.75, 0.25] * n_ex, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.45 / max(len(classes), 1))
    t = t0_ms + np.arange(X.shape[-1]) / fs * 1000.0
    for k, p in enumerate(picks):
        for e, i in enumerate(p):
            pk = int(P[i].argmax())
            line_col = "#2b7a2b" if pk == k else "#c0392b"
            prob_txt = "<br>".join(f"p({c}) = {P[i, j]:.3f}" for j, c in enumerate(classes))
            fig.add_trace(go.Scatter(x=t, y=X[i], mode="lines", line=dict(color=line_col, width=1.4), showlegend=False,
                                     hovertemplate=f"%{{x:.0f}} ms, %{{y:.3f}}<br>{prob_txt}<extra></extra>"),
                          row=k + 1, col=2 * e + 1)
            fig.add_trace(go.Bar(y=classes, x=P[i], orientation="h", showlegend=False,
                                 marker_color=[colour(j) if j == pk else "#c8c8c8" for j in range(len(classes))],
                                 hovertemplate="p(%{y}) = %{x:.3f}<extra></extra>"), row=k + 1, col=2 * e + 2)
            fig.update_xaxes(range=[0, 1], showticklabels=False, row=k + 1, col=2 * e + 2)
            fig.update_yaxes(autorange="reversed", tickfont=dict(size=9), row=k + 1, col=2 * e + 2)
            fig.update_xaxes(showticklabels=k == len(classes) - 1, row=k + 1, col=2 * e + 1,
                             title_text="ms from the R peak" if k == len(classes) - 1 else None, title_standoff=2)
            fig.update_yaxes(showticklabels=False, row=k + 1, col=2 * e + 1)
    for k in range(len(classes)):
        for e in range(n_ex):
            if e >= len(picks[k]):
                fig.update_xaxes(visible=False, row=k + 1, col=2 * e + 1)
                fig.update_yaxes(visible=False, row=k + 1, col=2 * e + 1)
                fig.update_xaxes(visible=False, row=k + 1, col=2 * e + 2)
                fig.update_yaxes(visible=False, row=k + 1, col=2 * e + 2)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=150 * len(classes) + 80, margin=dict(l=20, r=20, t=40, b=40), template="plotly_white")
    return fig


def beat_run_sections(*, confusion, class_names, examples_X=None, examples_true=None, examples_prob=None,
                      metrics: dict | None = None, id_prefix: str = "beats", contract=None) -> list[str]:
    """The HTML sections of :func:`beat_run_page` (no plotly.js). ``contract``: the model's input contract (or its
    ``to_dict()``), whose beat window is drawn (a beat-rhythm row also holds a template and R-R features)."""
    out = []
    classes = [str(c) for c in class_names]
    if metrics:
        rows = [[k, v] for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        body = table(rows, ["metric", "value"]) if rows else ""
        per = metrics.get("per_class")
        if isinstance(per, dict):
            body += table([[c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for c, v in per.items()],
                           ["class", "precision", "recall", "F1", "support"])
        out.append(section("Metrics", body))
    out.append(section("Confusion matrix", fig_html(confusion_figure(confusion, classes), f"{id_prefix}-confusion"),
                        "Rows: true class, columns: predicted class. Each cell: number of beats and fraction of its row "
                        "(the recall of the class on the diagonal)."))
    if examples_X is not None and len(examples_X):
        from ..plots import beat_window

        beats, t0 = beat_window(examples_X, contract)
        out.append(section("Example beats per class",
                            fig_html(examples_figure(beats, examples_true, examples_prob, classes, t0_ms=t0),
                                     f"{id_prefix}-examples"),
                            "Each row: beats of one true class (green: classified correctly, red: misclassified, at most "
                            "one shown per class), with the model's probabilities (bars; the predicted class in colour). "
                            "Hover for exact values."))
    return out


def beat_run_page(path: str | os.PathLike, *, confusion, class_names, examples_X=None, examples_true=None,
                  examples_prob=None, metrics: dict | None = None, title: str = "cardiacml: beat classification") -> Path:
    """Write an interactive page of a beat-classification run.

    Parameters
    ----------
    confusion : array, shape (C, C), int
        Confusion matrix, rows = true class, columns = predicted class.
    class_names : sequence of str, length C
    examples_X : ndarray, shape (k, 1, 187) or (k, 187), optional
        Example beats (125 Hz).
    examples_true : ndarray, shape (k,), int
    examples_prob : ndarray, shape (k, C)
        Predicted probabilities of the examples.
    metrics : dict, optional
        Scalar metrics (accuracy, macro_f1, n...) and ``per_class`` {class: {precision, recall, f1, support}}.
    """
    return write_page(path, title, beat_run_sections(confusion=confusion, class_names=class_names, examples_X=examples_X,
                                                      examples_true=examples_true, examples_prob=examples_prob, metrics=metrics))


