"""Figures written next to a run by ``cardiacml train`` / ``evaluate``.

Each task's :class:`~cardiacml.tasks.TaskSpec` names its figure set (``spec.figures``), which
:data:`FIGURES` resolves to one of the ``*_figures`` functions below (as training resolves
``spec.loss``).
They work from predictions already made (``fit`` returns the test predictions), so nothing is
reloaded or re-run. Every figure gets a caption (``captions.json``) that says what it shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _caption(path: Path, caption: str) -> Path:
    """Record what the figure at ``path`` shows in its folder's ``captions.json`` (the report's captions)."""
    cap_file = path.parent / "captions.json"
    caps = json.loads(cap_file.read_text()) if cap_file.is_file() else {}
    caps[path.name] = caption
    from ..utils import atomic_path

    with atomic_path(cap_file) as tmp:
        Path(tmp).write_text(json.dumps(caps, indent=1))
    return path


#: Public name: record a caption for a figure written outside the figure sets (e.g. the demo's Vm GIF).
caption_figure = _caption


def _save(fig, path: Path, caption: str) -> Path:
    import matplotlib.pyplot as plt

    from ..utils import atomic_path

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return _caption(path, caption)


def classification_figures(dest, metrics: dict, data, pred: np.ndarray) -> list[Path]:
    """Confusion matrix and one example beat per class with its predicted probabilities."""
    from . import plots

    fig_dir = Path(dest) / "figures"
    classes = metrics["classes"]
    out = [_save(plots.plot_confusion(metrics["confusion_matrix"], classes, title=f"confusion matrix ({data.protocol} split)"),
                 fig_dir / "confusion.png",
                 f"Confusion matrix on the {metrics['n']} test beats ({data.protocol} split): rows are the true class, "
                 "columns the predicted one; each cell shows the count and the fraction of its row.")]
    (fig_dir / "confusion.json").write_text(json.dumps({"classes": classes, "matrix": metrics["confusion_matrix"]}))
    for k, c in enumerate(classes):
        idx = np.flatnonzero(np.asarray(data.y_test) == k)
        if idx.size:
            i = idx[0]
            beat, t0 = plots.beat_window(data.X_test[i, 0], getattr(data, "contract", None))
            out.append(_save(plots.plot_beat(beat, label=c, probs=pred[i], classes=classes, t0_ms=t0),
                             fig_dir / f"beat_{c}.png",
                             f"A test beat whose true class is {c}, with the probability the model gives each class."))
    return out


def _ecg_and_heart(fig_dir: Path, data, act_true, act_pred, out: list, what: str) -> None:
    from . import plots

    out.append(_save(plots.plot_activation_scatter(act_true, act_pred), fig_dir / "activation_scatter.png",
                     f"Predicted against true activation time of every site of every test heart ({what}); "
                     "the dashed line is perfect agreement."))
    units = getattr(data.contract, "units", "mV") or "mV"
    out.append(_save(plots.plot_ecg12(data.X_test[0], title="test ECG #0", units=units), fig_dir / "ecg12_test0.png",
                     "The 12-lead ECG of the first test heart on calibrated paper (100 mm/s, 10 mm/mV)." if units == "mV" else
                     f"The 12-lead ECG window the model reads for the first test heart (100 mm/s), in its {units} "
                     "amplitude (divided by the window's QRS size, 10 mm per unit), not in mV."))
    from .heart import render_comparison

    try:
        path = fig_dir / "heart_activation_true_vs_pred.png"
        render_comparison(act_true[0], act_pred[0], path)
        out.append(_caption(path, f"Activation map of the first test heart on the real mesh ({what}; site values "
                                  "Shepard-interpolated): true (left) and predicted (right), one colour scale."))
    except Exception as exc:  # rendering problems must not lose the metrics
        (fig_dir / "heart_render_error.txt").write_text(str(exc))


def activation_figures(dest, metrics: dict, data, pred: np.ndarray) -> list[Path]:
    """Task 3: MAE per site, predicted vs true scatter, an ECG, and the heart's activation map true vs predicted."""
    from . import plots

    fig_dir = Path(dest) / "figures"
    out = [_save(plots.plot_site_values(metrics["per_site_mae_ms"], title="MAE per site", label="MAE (ms)", cmap="magma"),
                 fig_dir / "site_mae.png", "Mean absolute error of the activation time at each of the 75 sites (ms), "
                 "drawn at the sites' positions in two views.")]
    _ecg_and_heart(fig_dir, data, np.asarray(data.y_test), pred, out, "direct regression")
    return out


def vm_figures(dest, metrics: dict, data, pred: np.ndarray) -> list[Path]:
    """Task 4: Pearson r per site, Vm traces true vs predicted, activation derived from Vm, ECG and heart."""
    from ..datasets.intracardiac import UPSTROKE_THRESHOLD_MV, upstroke_times
    from . import plots

    fig_dir = Path(dest) / "figures"
    sites = list(data.contract.target_names)
    out = [_save(plots.plot_site_values(metrics["pearson_r_per_site"], title="Pearson r per site", label="r"),
                 fig_dir / "site_pearson.png", "Mean Pearson correlation between true and predicted Vm at each site."),
           _save(plots.plot_vm_traces(np.asarray(data.y_test[0]), pred[0], sites), fig_dir / "vm_traces.png",
                 "True (black) and predicted (red, dashed) Vm at four sites of the first test heart.")]
    act_true, act_pred = upstroke_times(np.asarray(data.y_test)), upstroke_times(pred)
    _ecg_and_heart(fig_dir, data, act_true, act_pred, out, f"activation = Vm crossing {UPSTROKE_THRESHOLD_MV:g} mV upward")
    return out


#: Figure sets by the name a task gives (:attr:`cardiacml.tasks.TaskSpec.figures`).
FIGURES = {"classification": classification_figures, "activation": activation_figures, "vm": vm_figures}


def task_figures(name: str, dest, metrics: dict, data, pred: np.ndarray) -> list[Path]:
    """The figure set ``name`` of :data:`FIGURES` for predictions ``pred`` of ``data``'s test split, into ``dest/figures``."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure set {name!r}; known: {', '.join(FIGURES)}")
    return FIGURES[name](dest, metrics, data, pred)


def save_run_figures(run_dir, record, data, pred: np.ndarray) -> list[Path]:
    """Training curves and the task's evaluation figures of the test split."""
    from . import plots

    run_dir = Path(run_dir)
    out = [_save(plots.plot_training_curves(record.history, record.spec.history_keys), run_dir / "figures" / "training_curves.png",
                 "Training loss and validation metrics after each epoch; the model kept is the best validation epoch "
                 f"({record.best_epoch}).")]
    out += task_figures(record.spec.figures, run_dir, record.metrics["test"], data, pred)
    return out
