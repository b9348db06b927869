"""Matplotlib figures of ECGs and metrics. Every function returns the Figure."""

from __future__ import annotations

import numpy as np

LEAD_GRID = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))


def _plt():
    """pyplot, imported lazily (matplotlib picks a headless backend by itself when there is no display)."""
    import matplotlib.pyplot as plt

    return plt


def beat_window(x: np.ndarray, contract=None) -> tuple[np.ndarray, float]:
    """The beat's own waveform in a beat model's input rows (last axis) and the time of its first sample from the R
    peak (ms). ``contract``: a :class:`~cardiacml.contracts.SignalContract` or its ``to_dict()`` form (a run's
    ``run.json``). The ``beat`` contract's row is the beat (187 samples from the R peak, 0 ms); a ``beat-rhythm`` row
    holds the beat window (from -500 ms), then its local template, then the R-R features: only the first is a beat."""
    if isinstance(contract, dict):
        layout, window_s = contract.get("layout") or {}, contract.get("window_s")
    else:
        layout, window_s = getattr(contract, "layout", None) or {}, (getattr(contract, "extra", None) or {}).get("window_s")
    x = np.asarray(x)
    if "beat" in layout:
        a, b = (int(v) for v in layout["beat"])
        x = x[..., a:b]
    return x, 1000.0 * float(window_s[0]) if window_s else 0.0


def plot_beat(beat: np.ndarray, fs: float = 125.0, label: str | None = None, probs=None, classes=None, ax=None,
              t0_ms: float = 0.0):
    """One beat (187 samples at 125 Hz from its R peak; ``t0_ms``: the time of the first sample from the R peak, as
    :func:`beat_window` gives it) with its label and, optionally, predicted probabilities."""
    plt = _plt()
    if ax is None:
        fig, axes = plt.subplots(1, 2 if probs is not None else 1, figsize=(9 if probs is not None else 6, 3),
                                 gridspec_kw={"width_ratios": [3, 1.3]} if probs is not None else None)
        ax = axes[0] if probs is not None else axes
    else:
        fig, axes = ax.figure, None
    beat = np.ravel(beat)
    t = t0_ms + np.arange(len(beat)) / fs * 1000
    ax.plot(t, beat, color="k", lw=1.2)
    ax.set_xlabel("time from R peak (ms)")
    ax.set_ylabel("amplitude (normalised)")
    ax.set_title(f"beat, label: {label}" if label is not None else "beat")
    ax.grid(alpha=0.3)
    if probs is not None and axes is not None:
        classes = classes or [str(i) for i in range(len(probs))]
        axes[1].barh(classes, probs, color=["tab:red" if i == int(np.argmax(probs)) else "tab:gray" for i in range(len(probs))])
        axes[1].set_xlim(0, 1)
        axes[1].invert_yaxis()
        axes[1].set_xlabel("probability")
        axes[1].set_title(f"predicted: {classes[int(np.argmax(probs))]}")
    fig.tight_layout()
    return fig


def plot_ecg12(ecg: np.ndarray, fs: float = 1000.0, leads=None, speed_mm_s: float = 100.0, gain_mm_mv: float = 10.0,
               title: str | None = None, units: str = "mV"):
    """12-lead ECG on a 3 x 4 paper grid with calibrated axes.

    Parameters
    ----------
    ecg : ndarray, shape (12, n), mV
        Leads in the order I, II, III, aVR, aVL, aVF, V1..V6 (or as named in ``leads``).
    speed_mm_s, gain_mm_mv : float
        Paper speed and gain: 1 mm on the figure is 1/speed s and 1/gain mV
        (standard paper: 25 mm/s and 10 mm/mV; 100 mm/s suits a 500 ms recording).
        Minor grid lines every 1 mm, major every 5 mm; a 1 mV calibration pulse is drawn.
    units : str
        The amplitude's unit: "mV", or e.g. "normalised" for a model's input window (gain and pulse are then per
        unit, and the label says so).
    """
    from ..contracts.ecg12 import LEADS

    plt = _plt()
    ecg = np.asarray(ecg, np.float64)
    leads = list(leads or LEADS)
    if ecg.shape[0] != len(leads):
        raise ValueError(f"expected {len(leads)} leads, got array of shape {ecg.shape}")
    n = ecg.shape[1]
    col_mm = n / fs * speed_mm_s
    pulse_mm = 5.0
    # each row as tall as its leads reach above and below their medians (nothing clipped, no overlap), >= 30 mm
    centred = ecg - np.nanmedian(ecg, axis=1, keepdims=True) if ecg.size else ecg  # a NaN gap blanks no lead
    up, down = [], []
    for row in LEAD_GRID:
        rows = [centred[leads.index(nm)] for nm in row if nm in leads]
        up.append(max([float(np.nanmax(x)) for x in rows] + [1.0]) * gain_mm_mv + 6)  # >= the 1 mV pulse
        down.append(max([float(-np.nanmin(x)) for x in rows] + [0.0]) * gain_mm_mv + 3)
        if up[-1] + down[-1] < 30:
            down[-1] = 30 - up[-1]
    row_mm = [u + d for u, d in zip(up, down)]
    width_mm, height_mm = 4 * col_mm + pulse_mm + 10, float(np.ceil(sum(row_mm)))
    fig = plt.figure(figsize=(width_mm / 25.4 + 0.6, height_mm / 25.4 + 0.8))
    ax = fig.add_axes([0.3 / (width_mm / 25.4 + 0.6), 0.5 / (height_mm / 25.4 + 0.8),
                       (width_mm / 25.4) / (width_mm / 25.4 + 0.6), (height_mm / 25.4) / (height_mm / 25.4 + 0.8)])
    for x in np.arange(0, width_mm + 0.01, 1.0):
        ax.axvline(x, color="#f4b6b6" if x % 5 else "#e06666", lw=0.3 if x % 5 else 0.7, zorder=0)
    for y in np.arange(0, height_mm + 0.01, 1.0):
        ax.axhline(y, color="#f4b6b6" if y % 5 else "#e06666", lw=0.3 if y % 5 else 0.7, zorder=0)
    t_mm = np.arange(n) / fs * speed_mm_s
    for r, row in enumerate(LEAD_GRID):
        base = height_mm - sum(row_mm[:r]) - up[r]
        ax.plot([2, 2, 2 + pulse_mm / 2, 2 + pulse_mm / 2, 2 + pulse_mm], [base, base + gain_mm_mv, base + gain_mm_mv, base, base], color="k", lw=1)
        for c, name in enumerate(row):
            if name not in leads:
                continue
            x0 = pulse_mm + 5 + c * col_mm
            sig = ecg[leads.index(name)]
            ax.plot(x0 + t_mm, base + (sig - np.nanmedian(sig)) * gain_mm_mv, color="k", lw=0.9)
            ax.text(x0 + 1, base + up[r] - 4, name, fontsize=9, weight="bold")
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    u = "mV" if units == "mV" else f"{units} unit"
    ax.set_xlabel(f"{speed_mm_s:g} mm/s, {gain_mm_mv:g} mm/{u} (1 mm grid; calibration pulse 1 {u})")
    if title:
        ax.set_title(title)
    return fig


METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "mae_ms": "MAE (ms)", "rmse_mv": "RMSE (mV)",
                 "pearson_r_mean": "mean Pearson r"}


def plot_training_curves(history: list[dict], keys=None):
    """Training loss and each validation metric per epoch, one panel each (metrics in other units never share an axis)."""
    from matplotlib.ticker import MaxNLocator

    plt = _plt()
    keys = [k for k in (keys or METRIC_LABELS) if history and k in history[0]]
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 1 + len(keys), figsize=(3.6 * (1 + len(keys)), 3.2))
    ax = np.atleast_1d(ax)
    ax[0].plot(ep, [h["train_loss"] for h in history], "o-")
    ax[0].set_title("training loss")
    for a, key in zip(ax[1:], keys):
        a.plot(ep, [h[key] for h in history], "o-", color="tab:orange")
        a.set_title(f"validation {METRIC_LABELS.get(key, key)}")
    for a in ax:
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_confusion(cm, classes, normalize: bool = True, title: str = "confusion matrix"):
    """Confusion matrix (rows: true class); cells show counts and row-normalised fractions."""
    plt = _plt()
    cm = np.asarray(cm, np.float64)
    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
    im = ax.imshow(frac if normalize else cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(cm[i, j])}\n{frac[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_site_values(values, geometry=None, title: str = "", label: str = "", cmap: str = "viridis"):
    """Values at the 75 sites (dict name -> value or array) drawn at their positions, in two views."""
    from ..datasets.geometry import load_geometry

    plt = _plt()
    g = geometry or load_geometry()
    v = np.array([values[n] for n in g.site_names]) if isinstance(values, dict) else np.asarray(values)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (i, j, name) in zip(axes, [(0, 2, "x-z"), (1, 2, "y-z")]):
        ax.scatter(g.points[::7, i], g.points[::7, j], s=1, c="0.85")
        sc = ax.scatter(g.site_xyz[:, i], g.site_xyz[:, j], c=v, cmap=cmap, s=40, edgecolor="k", lw=0.4)
        ax.set_aspect("equal")
        ax.set_title(f"{title} ({name} view)")
        ax.set_xlabel(f"{'xyz'[i]} (mm)")
        ax.set_ylabel(f"{'xyz'[j]} (mm)")
    fig.colorbar(sc, ax=axes, label=label, fraction=0.03)
    return fig


def plot_vm_traces(vm_true, vm_pred, site_names, sites=(0, 17, 30, 50), fs: float = 1000.0):
    """True vs predicted Vm (mV) at a few sites."""
    plt = _plt()
    t = np.arange(vm_true.shape[-1]) / fs * 1000
    fig, axes = plt.subplots(1, len(sites), figsize=(3.2 * len(sites), 2.8), sharey=True)
    for ax, s in zip(np.atleast_1d(axes), sites):
        ax.plot(t, vm_true[s], "k", lw=1.2, label="true")
        ax.plot(t, vm_pred[s], "tab:red", lw=1.0, ls="--", label="predicted")
        ax.set_title(site_names[s])
        ax.set_xlabel("time (ms)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("Vm (mV)")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    return fig


def plot_activation_scatter(act_true, act_pred):
    """Predicted vs true activation time of every site of every test heart."""
    plt = _plt()
    ok = np.isfinite(act_true) & np.isfinite(act_pred)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(act_true[ok], act_pred[ok], s=2, alpha=0.3)
    lim = [np.nanmin(act_true), np.nanmax(act_true)]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("true activation time (ms)")
    ax.set_ylabel("predicted (ms)")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
