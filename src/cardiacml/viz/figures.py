"""Figures written next to a run by ``cardiacml train`` / ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def save_eval_figures(dest: str | Path, metrics: dict, kind: str, data, pred: np.ndarray, heart: bool = True) -> list[Path]:
    """Confusion matrix + example beat (classification); error maps, scatter and heart views (Tasks 3-4)."""
    from . import plots

    fig_dir = Path(dest) / "figures"
    out = []
    try:  # a few test examples for the interactive report (cardiacml.viz.interactive); never lose the metrics over it
        from .interactive import save_examples

        save_examples(dest, data.X_test, data.y_test, pred)
    except Exception as exc:
        fig_dir.mkdir(parents=True, exist_ok=True)
        (fig_dir / "examples_error.txt").write_text(str(exc))
    if kind == "classification":
        out.append(_save(plots.plot_confusion(metrics["confusion_matrix"], metrics["classes"],
                                              title=f"confusion matrix ({data.protocol} split)"), fig_dir / "confusion.png"))
        (fig_dir / "confusion.json").write_text(json.dumps({"classes": metrics["classes"], "matrix": metrics["confusion_matrix"]}))
        classes = metrics["classes"]
        # one example beat per class present in the test set
        for k, c in enumerate(classes):
            idx = np.flatnonzero(data.y_test == k)
            if idx.size:
                i = idx[0]
                out.append(_save(plots.plot_beat(data.X_test[i, 0], label=c, probs=pred[i], classes=classes), fig_dir / f"beat_{c}.png"))
        return out
    sites = data.contract["site_names"]
    from ..data.intracardiac import activation_times

    if kind == "regression":
        act_true, act_pred = data.y_test, pred
        out.append(_save(plots.plot_site_values(metrics["per_site_mae_ms"], title="MAE per site", label="MAE (ms)", cmap="magma"),
                         fig_dir / "site_mae.png"))
    else:
        act_true, act_pred = activation_times(data.y_test, time_axis=-1), activation_times(pred, time_axis=-1)
        out.append(_save(plots.plot_site_values(metrics["pearson_r_per_site"], title="Pearson r per site", label="r"),
                         fig_dir / "site_pearson.png"))
        out.append(_save(plots.plot_vm_traces(data.y_test[0], pred[0], sites), fig_dir / "vm_traces.png"))
    out.append(_save(plots.plot_activation_scatter(act_true, act_pred), fig_dir / "activation_scatter.png"))
    out.append(_save(plots.plot_ecg12(data.X_test[0], title="test ECG #0"), fig_dir / "ecg12_test0.png"))
    if heart:
        from .heart import render_comparison

        try:
            render_comparison(act_true[0], act_pred[0], fig_dir / "heart_activation_true_vs_pred.png")
            out.append(fig_dir / "heart_activation_true_vs_pred.png")
        except Exception as exc:  # rendering problems must not lose the metrics
            (fig_dir / "heart_render_error.txt").write_text(str(exc))
    return out


def save_run_figures(run_dir: str | Path, ckpt: dict, data) -> list[Path]:
    """Training curves plus the evaluation figures of the test split."""
    from ..training.loop import evaluate_task, load_checkpoint
    from . import plots

    run_dir = Path(run_dir)
    out = [_save(plots.plot_training_curves(ckpt["history"]), run_dir / "figures" / "training_curves.png")]
    model, _ = load_checkpoint(run_dir)
    metrics, pred = evaluate_task(model, data)
    out += save_eval_figures(run_dir, metrics, ckpt["kind"], data, pred)
    return out
