"""Metrics for the four tasks (plain NumPy / scikit-learn; all return JSON-friendly dicts)."""

from __future__ import annotations

import numpy as np

from ..datasets.geometry import REGIONS, site_region


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    ``macro_f1`` is :func:`cardiacml.ecg.aami.macro_f1`: the mean F1 of the classes with a reference example or a
    prediction. A class with neither (precision and recall 0/0) is left out of it and named in
    ``macro_f1_left_out``; its ``per_class`` entry stays, all zeros with support 0. A class predicted but absent
    from the reference stays in the mean with F1 0.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    from ..ecg.aami import macro_f1

    labels = np.arange(len(classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    macro, left_out = macro_f1(f, s, cm.sum(0), classes)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": macro,
        "macro_f1_left_out": left_out,
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(classes)},
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
    }


def activation_metrics(act_true: np.ndarray, act_pred: np.ndarray, site_names, baseline: np.ndarray | None = None) -> dict:
    """Task 3: mean absolute error (ms) overall, per site and per region.

    NaN targets (sites that never activate) are excluded. ``baseline`` (75,) is a
    constant prediction (e.g. the training mean) whose MAE is reported beside.
    """
    err = np.abs(np.asarray(act_pred, np.float64) - act_true)
    valid = np.isfinite(act_true)

    def mean(a: np.ndarray) -> float:  # NaN for nothing to average (a site that never activates, a region absent)
        return float(a.mean()) if a.size else float("nan")

    per_site = np.array([mean(err[valid[:, j], j]) for j in range(err.shape[1])])
    regions = np.array([site_region(n) for n in site_names])
    out = {
        "n": int(len(act_true)),
        "mae_ms": mean(err[valid]),
        "rmse_ms": float(np.sqrt(mean(err[valid] ** 2))),
        "target_std_ms": float(np.nanstd(act_true)),
        "per_site_mae_ms": {n: float(v) for n, v in zip(site_names, per_site)},
        "per_region_mae_ms": {r: mean(err[:, regions == r][valid[:, regions == r]]) for r in REGIONS},
        "never_activated_targets": int((~valid).sum()),
    }
    if baseline is not None:
        out["constant_baseline_mae_ms"] = mean(np.abs(baseline[None, :] - act_true)[valid])
    return out


def vm_metrics(vm_true: np.ndarray, vm_pred: np.ndarray, site_names, rest_mv: float = -90.0) -> dict:
    """Task 4: RMSE (mV), relative error, per-site Pearson r, activation error from predicted Vm, physical plausibility.

    Arrays have shape (n, 75, 500). Activation from Vm uses the upstroke threshold
    (:data:`cardiacml.datasets.intracardiac.UPSTROKE_THRESHOLD_MV`, -40 mV) on both the true and
    the predicted traces: a smooth prediction whose plateau stays below 0 mV still activates.
    Sites the prediction never activates are counted (``activation_missed``), never dropped silently.
    Plausibility: ``below_rest_fraction`` (share of predicted samples below ``rest_mv``) and
    ``plateau_tv_ratio`` (total variation of the prediction over that of the truth, per trace:
    1 is as smooth as the truth, larger means ringing).
    """
    from ..datasets.intracardiac import UPSTROKE_THRESHOLD_MV, upstroke_times

    vm_true = np.asarray(vm_true, np.float64)
    vm_pred = np.asarray(vm_pred, np.float64)
    diff = vm_pred - vm_true
    rel = np.linalg.norm(diff.reshape(len(diff), -1), axis=1) / np.linalg.norm(vm_true.reshape(len(diff), -1), axis=1)
    tc = vm_true - vm_true.mean(-1, keepdims=True)
    pc = vm_pred - vm_pred.mean(-1, keepdims=True)
    denom = np.sqrt((tc ** 2).sum(-1) * (pc ** 2).sum(-1))
    r = np.where(denom > 0, (tc * pc).sum(-1) / np.where(denom > 0, denom, 1), np.nan)  # (n, 75)
    at_true, at_pred = upstroke_times(vm_true), upstroke_times(vm_pred)
    both = np.isfinite(at_true) & np.isfinite(at_pred)
    ok = np.isfinite(r)  # a flat trace has no correlation: NaN, left out (a site with none: NaN, no numpy warning)
    n_ok = ok.sum(0)
    site_r = np.where(n_ok > 0, np.where(ok, r, 0.0).sum(0) / np.maximum(n_ok, 1), np.nan)
    tv_true = np.abs(np.diff(vm_true, axis=-1)).sum(-1)
    tv_pred = np.abs(np.diff(vm_pred, axis=-1)).sum(-1)
    return {
        "n": int(len(vm_true)),
        "rmse_mv": float(np.sqrt((diff ** 2).mean())),
        "relative_error": float(rel.mean()),
        "pearson_r_mean": float(r[ok].mean()) if ok.any() else float("nan"),
        "pearson_r_per_site": {n: float(v) for n, v in zip(site_names, site_r)},
        "pearson_r_min_site": float(np.min(site_r[n_ok > 0])) if ok.any() else float("nan"),
        "activation_threshold_mv": float(UPSTROKE_THRESHOLD_MV),
        "activation_mae_ms_from_vm": float(np.abs(at_pred - at_true)[both].mean()) if both.any() else float("nan"),
        "activation_bias_ms_from_vm": float((at_pred - at_true)[both].mean()) if both.any() else float("nan"),
        "activation_missed": int((np.isfinite(at_true) & ~np.isfinite(at_pred)).sum()),
        "activation_sites_total": int(np.isfinite(at_true).sum()),
        "below_rest_fraction": float((vm_pred < rest_mv).mean()),
        "plateau_tv_ratio": float(np.median(tv_pred / np.maximum(tv_true, 1e-9))),
    }
