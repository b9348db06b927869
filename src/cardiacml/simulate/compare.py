"""Simulated vs real: the statistics of ``shared/data/real_reference/README.md`` for a set of
simulations, printed beside the real values, plus plots drawn like the real notebooks'.

Definitions (per heart, then median and 5-95 % over hearts):

* activation time of a site: first ms with Vm > 0 mV (:func:`activation_times`);
  APD90: from activation to the first return below peak - 0.9 (peak - rest);
  repolarisation spread: max - min over the 75 sites of activation + APD90;
  APD slope: least-squares slope of APD90 against activation time over the sites.
* QRS window: RMS over the 12 leads; onset / end = first / last ms of 0-200 ms where it
  exceeds 8 % of its QRS maximum (end searched after the maximum, until it drops below).
* T wave: the sample of largest magnitude in 200-480 ms (signed: amplitude and polarity);
  T end: last ms where the lead RMS exceeds 5 % of its T maximum.
* QRS extrema: local maxima + minima of lead II inside the QRS window with prominence
  >= 0.05 mV (find_peaks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..contracts.ecg12 import LEADS, leads_from_electrodes
from ..datasets.intracardiac import activation_times

LEAD_INDEX = {name: i for i, name in enumerate(LEADS)}

# (row, real value as read off the real plots, lo, hi, key of the simulated statistic)
REAL_ROWS = [
    ("Vm rest (mV)", "-85.7", -87.0, -84.0, "vm_rest"),
    ("Vm peak (mV)", "+26..+29", 25.0, 30.0, "vm_peak"),
    ("Vm 100 ms after activation (mV)", "+24..+26", 21.0, 29.0, "vm_100"),
    ("APD90, heart median (ms)", "311-344", 305.0, 350.0, "apd90"),
    ("APD90, sites 5-95 % (ms)", "292-355", 285.0, 360.0, "apd90_sites"),
    ("APD slope vs activation", "+0.10..+0.23", 0.0, 0.3, "apd_slope"),
    ("repolarisation spread (ms)", "52-84", 52.0, 84.0, "rep_spread"),
    ("first activation (ms)", "about 4", 0.0, 8.0, "act_min"),
    ("last activation (ms)", "about 70", 55.0, 90.0, "act_max"),
    ("QRS onset (ms)", "0-5", 0.0, 5.0, "qrs_on"),
    ("QRS end (ms)", "65-80 (quiet by 100-110)", 60.0, 105.0, "qrs_end"),
    ("lead I QRS peak-to-peak (mV)", "up to 7 (-3.5..+3.5)", 1.0, 7.0, "qrs_pp_I"),
    ("lead II QRS peak-to-peak (mV)", ">= 2.3 (max +2.3)", 1.0, 4.5, "qrs_pp_II"),
    ("lead II QRS max (mV)", "+2.3", 1.0, 3.5, "qrs_max_II"),
    ("aVR QRS min (mV)", "-1.75", -3.0, -0.8, "qrs_min_aVR"),
    ("V1 QRS max (mV)", "+1.4", 0.7, 2.5, "qrs_max_V1"),
    ("V2 QRS max (mV)", "+1.0..+1.45", 0.6, 2.5, "qrs_max_V2"),
    ("V4 QRS max (mV)", "+0.5..+0.7", 0.3, 1.5, "qrs_max_V4"),
    ("T amplitude I (mV)", "+0.65..+0.95 (100 sims -0.6..+1.6)", 0.3, 1.6, "t_I"),
    ("T amplitude II (mV)", "+0.6..+0.9", 0.3, 1.2, "t_II"),
    ("T amplitude V1 (mV)", "-0.6..-0.8", -1.2, -0.1, "t_V1"),
    ("T amplitude V6 (mV)", "+0.3..+0.4", 0.1, 0.8, "t_V6"),
    ("T amplitude aVR (mV)", "negative (-0.5..-0.9)", -1.2, -0.2, "t_aVR"),
    ("T positive in I (fraction)", "positive", 0.7, 1.0, "tpos_I"),
    ("T positive in II", "positive", 0.7, 1.0, "tpos_II"),
    ("T positive in aVL", "positive", 0.5, 1.0, "tpos_aVL"),
    ("T positive in aVF", "positive", 0.5, 1.0, "tpos_aVF"),
    ("T positive in V5", "positive", 0.7, 1.0, "tpos_V5"),
    ("T positive in V6", "positive", 0.7, 1.0, "tpos_V6"),
    ("T negative in aVR", "negative", 0.7, 1.0, "tneg_aVR"),
    ("T negative in V1", "negative", 0.5, 1.0, "tneg_V1"),
    ("T negative in V2", "negative", 0.5, 1.0, "tneg_V2"),
    ("T negative in V3", "negative", 0.5, 1.0, "tneg_V3"),
    ("T peak, lead II (ms)", "325-370", 315.0, 380.0, "t_peak"),
    ("T end (ms)", "400-430", 390.0, 450.0, "t_end"),
    ("ST ramp 120->250 ms, |lead I| (mV)", "0.1-0.3", 0.03, 0.4, "st_ramp"),
    ("QRS local extrema, lead II", "1-3", 1.0, 3.0, "qrs_extrema"),
]


def heart_stats(pecg: np.ndarray, vm: np.ndarray) -> dict:
    """Statistics of one simulation: pECGData (500, 10), VmData (500, 75) -> dict of floats."""
    from scipy.signal import find_peaks

    vm = np.asarray(vm, np.float64)
    leads = leads_from_electrodes(pecg).astype(np.float64)  # (12, 500)
    at = activation_times(vm)
    rest = vm[0]
    peak = vm.max(0)
    lvl = peak - 0.9 * (peak - rest)
    n_t = len(vm)
    apd = np.full(vm.shape[1], np.nan)
    v100 = np.full(vm.shape[1], np.nan)
    for s in range(vm.shape[1]):
        if np.isnan(at[s]):
            continue
        a = int(at[s])
        below = np.flatnonzero(vm[a + 5:, s] < lvl[s])
        if len(below):
            apd[s] = below[0] + 5
        if a + 100 < n_t:
            v100[s] = vm[a + 100, s]
    ok = np.isfinite(apd) & np.isfinite(at)
    slope = np.polyfit(at[ok], apd[ok], 1)[0] if ok.sum() > 5 and np.ptp(at[ok]) > 0 else np.nan
    rep = at + apd
    rms = np.sqrt((leads ** 2).mean(0))
    q = rms[:200]
    qmax = q.max()
    thr = 0.08 * qmax
    on = int(np.argmax(q > thr))
    ipk = int(q.argmax())
    after = np.flatnonzero(q[ipk:] < thr)
    end = ipk + int(after[0]) if len(after) else 200
    out = {
        "vm_rest": float(np.median(rest)), "vm_peak": float(np.median(peak)), "vm_100": float(np.nanmedian(v100)),
        "apd90": float(np.nanmedian(apd)), "apd90_lo": float(np.nanpercentile(apd, 5)), "apd90_hi": float(np.nanpercentile(apd, 95)),
        "apd_slope": float(slope), "rep_spread": float(np.nanmax(rep) - np.nanmin(rep)),
        "act_min": float(np.nanmin(at)), "act_max": float(np.nanmax(at)),
        "qrs_on": float(on), "qrs_end": float(end),
    }
    qrs = leads[:, : max(end, on + 1) + 10]
    for name in ("I", "II"):
        out[f"qrs_pp_{name}"] = float(np.ptp(qrs[LEAD_INDEX[name]]))
    out["qrs_max_I"] = float(qrs[LEAD_INDEX["I"]].max())
    out["qrs_min_I"] = float(qrs[LEAD_INDEX["I"]].min())
    out["qrs_max_II"] = float(qrs[LEAD_INDEX["II"]].max())
    out["qrs_min_aVR"] = float(qrs[LEAD_INDEX["aVR"]].min())
    for name in ("V1", "V2", "V4"):
        out[f"qrs_max_{name}"] = float(qrs[LEAD_INDEX[name]].max())
    tw = leads[:, 200:480]
    it = np.abs(tw).argmax(1)
    tamp = tw[np.arange(12), it]
    for name, i in LEAD_INDEX.items():
        out[f"t_{name}"] = float(tamp[i])
        out[f"tpos_{name}"] = float(tamp[i] > 0)
        out[f"tneg_{name}"] = float(tamp[i] < 0)
    out["t_peak"] = float(200 + it[LEAD_INDEX["II"]])
    trms = rms[200:]
    above = np.flatnonzero(trms > 0.05 * trms.max())
    out["t_end"] = float(200 + above[-1]) if len(above) else np.nan
    out["st_ramp"] = float(abs(leads[LEAD_INDEX["I"], 250] - leads[LEAD_INDEX["I"], 120]))
    x = leads[LEAD_INDEX["II"], : end + 1]
    out["qrs_extrema"] = float(len(find_peaks(x, prominence=0.05)[0]) + len(find_peaks(-x, prominence=0.05)[0]))
    return out


def collect(pairs) -> "pandas.DataFrame":  # noqa: F821
    """Per-heart statistics of an iterable of (pECGData, VmData)."""
    import pandas as pd

    return pd.DataFrame([heart_stats(e, v) for e, v in pairs])


def comparison_table(stats) -> tuple[str, dict]:
    """Text table (row | real | simulated median [5-95 %] | inside?) and a dict of goal checks."""
    lines = [f"{'quantity':<38} {'real':<36} {'simulated: median [5-95 %]':<30} in range",
             "-" * 116]
    inside = {}
    for row, real, lo, hi, key in REAL_ROWS:
        if key == "apd90_sites":
            med = float(np.median(stats["apd90"]))
            lo_s, hi_s = float(np.percentile(stats["apd90_lo"], 50)), float(np.percentile(stats["apd90_hi"], 50))
            sim = f"{lo_s:.0f}-{hi_s:.0f} (median heart)"
            ok = lo <= lo_s and hi_s <= hi
        elif key.startswith(("tpos_", "tneg_")):
            med = float(np.mean(stats[key]))
            sim = f"{100 * med:.0f} % of hearts"
            ok = lo <= med <= hi
        else:
            v = stats[key].to_numpy(np.float64)
            med = float(np.nanmedian(v))
            sim = f"{med:+.2f} [{np.nanpercentile(v, 5):+.2f}, {np.nanpercentile(v, 95):+.2f}]"
            ok = lo <= med <= hi
        inside[row] = bool(ok)
        lines.append(f"{row:<38} {real:<36} {sim:<30} {'yes' if ok else 'NO'}")
    lines.append("-" * 116)
    goals = {
        "median |T| in I >= 0.3 mV": float(np.median(np.abs(stats["t_I"]))) >= 0.3,
        "median |T| in II >= 0.3 mV": float(np.median(np.abs(stats["t_II"]))) >= 0.3,
        "median QRS p-p in I >= 1 mV": float(np.median(stats["qrs_pp_I"])) >= 1.0,
        "median QRS p-p in II >= 1 mV": float(np.median(stats["qrs_pp_II"])) >= 1.0,
        "negative T in V1 in most hearts": float(np.mean(stats["tneg_V1"])) > 0.5,
        "median first activation <= 8 ms": float(np.median(stats["act_min"])) <= 8.0,
        "median repolarisation spread >= 40 ms": float(np.median(stats["rep_spread"])) >= 40.0,
        "Vm 100 ms after activation >= +5 mV": float(np.median(stats["vm_100"])) >= 5.0,
    }
    lines.append(f"lead I over all hearts: QRS {stats['qrs_min_I'].min():+.2f}..{stats['qrs_max_I'].max():+.2f} mV "
                 f"(real -3.5..+3.5), T {stats['t_I'].min():+.2f}..{stats['t_I'].max():+.2f} mV (real -0.6..+1.6)")
    lines.append(f"rows inside the real range: {sum(inside.values())}/{len(inside)}")
    for k, v in goals.items():
        lines.append(f"goal {'met' if v else 'NOT met'}: {k}")
    return "\n".join(lines), {"rows": inside, "goals": goals}



def _challenge_axes(ax, ylabel: str = "mV") -> None:
    """Axes styled like the challenge notebooks' plots: ms on x, minor ticks, major and minor grid."""
    ax.set_xlabel("msec")
    ax.set_ylabel(ylabel)
    ax.minorticks_on()
    ax.grid(which="major", color="#666666")
    ax.grid(which="minor", alpha=0.2)

def plot_lead1_overlay(ecgs: np.ndarray, path: Path, n: int = 100) -> Path:
    """Lead I of up to ``n`` simulations overlaid (like lead1_100_simulations.png)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for e in ecgs[:n]:
        ax.plot(leads_from_electrodes(e)[0])
    _challenge_axes(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
    return path


def plot_ecg12(ecg: np.ndarray, path: Path) -> Path:
    """12 leads of one simulation, laid out like case213_ecg12.png."""
    import matplotlib.pyplot as plt

    leads = leads_from_electrodes(ecg)
    order = ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6"]
    fig, axs = plt.subplots(3, 4, figsize=(10, 7))
    for ax, name in zip(axs.ravel(), order):
        ax.plot(leads[LEAD_INDEX[name]], "r")
        ax.set_title(name)
        _challenge_axes(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=80, format="png")
    plt.close(fig)
    return path


def plot_vm75(vm: np.ndarray, path: Path) -> Path:
    """Vm at the 75 sites, laid out like case213_vm75.png."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(8, 10, figsize=(16, 8))
    for i, ax in enumerate(axs.ravel()):
        if i < vm.shape[1]:
            ax.plot(vm[:, i])
            ax.set_title(f"i = {i}", fontsize=8)
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.4)
        else:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=70, format="png")
    plt.close(fig)
    return path


def compare_folder(folder: Path, out: Path | None = None, n: int = 100) -> tuple[str, dict]:
    """Statistics of the first ``n`` simulations in ``folder`` beside the real values; plots into ``out``."""
    from ..datasets.intracardiac import discover_simulations

    sims = discover_simulations(folder)[:n]
    # raw electrode potentials (pECGData), not the 12-lead conversion of load_simulation
    pairs = [(np.load(s.ecg_path, allow_pickle=False), np.load(s.vm_path, allow_pickle=False)) for s in sims]
    return compare_pairs(pairs, out)


def compare_pairs(pairs: list, out: Path | None = None) -> tuple[str, dict]:
    """Table and plots for a list of (pECGData, VmData)."""
    stats = collect(pairs)
    text, checks = comparison_table(stats)
    if out is not None:
        from ..utils import atomic_path, check_output

        out = check_output(out)
        out.mkdir(parents=True, exist_ok=True)
        ecgs = np.stack([e for e, _ in pairs])
        # atomic, through the output guard: a symbolic link or read-only file there is refused, never written through
        for name, write in (("lead1_overlay.png", lambda f: plot_lead1_overlay(ecgs, f)),
                            ("ecg12_sim0.png", lambda f: plot_ecg12(pairs[0][0], f)),
                            ("vm75_sim0.png", lambda f: plot_vm75(pairs[0][1], f)),
                            ("heart_stats.csv", lambda f: stats.to_csv(f, index=False)),
                            ("comparison.txt", lambda f: f.write_text(text + "\n"))):
            with atomic_path(out / name) as tmp:
                write(tmp)
    return text, checks
