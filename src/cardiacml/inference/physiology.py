"""Physiology checks of a heart model (Tasks 3-4) on real 12-lead recordings, which have no measured activation.

What physiology requires of an activation map of a 12-lead beat (Durrer et al. 1970, "Total excitation of the
isolated human heart"): the earliest site activates at or just after the QRS onset (the window starts 5 ms before
the detected onset, so <= 15-20 ms after the window start); the total activation time (TAT: latest minus earliest
site) follows the QRS duration; in right bundle branch block the RV free wall (sites ``EPI_RV*``) activates after
the LV endocardium (sites ``AHA*``). :func:`physiology_checks` measures these per recording; the benchmark
``benchmarks/heart_real.py`` runs it on the 20 real recordings of ``shared/data``.

QRS duration: from all 12 leads on the median beat (:func:`cardiacml.ecg.twelve_lead.qrs_duration`). Activation of
a Vm model (Task 4): the upstroke's first crossing of -40 mV, as ``predict`` writes it (0 mV, Task 3's training
target, up to 0.4.13: the figures could not be found in predict's CSV, and sites that never reached 0 mV were left
out unsaid); each row counts the sites that never activate (``sites_never_active``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _dx(base: Path) -> str:
    for line in Path(f"{base}.hea").read_text(errors="replace").splitlines():  # not with_suffix: "rec.v2" is a name
        if line.startswith("# Dx:") or line.startswith("#Dx:"):
            return line.split(":", 1)[1].strip()
        if "Reason for admission" in line:
            return line.split(":", 1)[1].strip()
    return ""


def measure_qrs(base: Path) -> float:
    """QRS duration (ms) of a WFDB recording from its 12 leads (see the module docstring)."""
    from ..ecg.twelve_lead import qrs_duration, refuse_gaps, to_twelve_leads
    from ..io import open_record

    rec = open_record(base)
    x = rec.read(0, min(rec.n_samples, int(round(10 * rec.fs))), fill_gaps=False)  # a gap refused, as read_ecg12
    x12, _ = to_twelve_leads(x, list(rec.leads), str(base))
    refuse_gaps(x12, rec.fs, str(base))
    return qrs_duration(x12, rec.fs, str(base))["qrs_ms"]


def physiology_checks(model, records) -> dict:
    """Per-record physiology checks of one heart model and their summary (module docstring)."""
    from scipy.stats import spearmanr

    from ..contracts.ecg12 import window_version
    from ..datasets.geometry import load_geometry
    from ..datasets.intracardiac import upstroke_times
    from .inputs import read_ecg12
    from .predict import load_runner

    runner = load_runner(model)
    c = runner.contract
    names = list(c.target_names) if c.target_names and len(c.target_names) == 75 else list(load_geometry().site_names)
    rv = np.array([n.startswith("EPI_RV") for n in names])
    lv = np.array([n.startswith("AHA") for n in names])
    rows = []
    for base in map(Path, records):
        X, info = read_ecg12(base, return_info=True, version=window_version(c))
        pred = runner.predict(X)
        # a Vm model's activation as `predict` writes it (the upstroke's crossing of -40 mV; it was 0 mV here, so the
        # benchmark's earliest sites could not be found in predict's CSV)
        act = pred[0] if pred.ndim == 2 else upstroke_times(pred)[0]
        unf = runner.unfamiliarity(X) if hasattr(runner, "unfamiliarity") else None
        ok = np.isfinite(act)
        lo, hi = (float(np.min(act[ok])), float(np.max(act[ok]))) if ok.any() else (np.nan, np.nan)  # none active: NaN
        rows.append({"record": base.name, "dx": _dx(base), "qrs_ms": measure_qrs(base),
                     "sites_never_active": int((~ok).sum()),
                     "earliest_ms": lo, "latest_ms": hi, "tat_ms": hi - lo,
                     "rv_minus_lv_ms": (float(np.nanmean(act[rv]) - np.nanmean(act[lv]))
                                        if ok[rv].any() and ok[lv].any() else np.nan),
                     "unfamiliarity": None if unf is None else float(unf["score"][0]),
                     "unfamiliar": None if unf is None else bool(unf["unfamiliar"][0]),
                     "threshold": None if unf is None else float(unf["threshold"])})
    tat = np.array([r["tat_ms"] for r in rows], np.float64)
    early = np.nan_to_num(np.array([r["earliest_ms"] for r in rows]), nan=np.inf)  # no site active: fails the check
    rho = spearmanr([r["tat_ms"] for r in rows], [r["qrs_ms"] for r in rows],
                    nan_policy="omit").statistic if len(rows) > 2 else np.nan
    rbbb = [r["rv_minus_lv_ms"] for r in rows if r["record"] == "E07509"]
    flagged = [r["unfamiliar"] for r in rows if r["unfamiliar"] is not None]
    summary = {"n_records": len(rows), "median_earliest_ms": float(np.median(early)),
               "share_earliest_le_20ms": float(np.mean(early <= 20.0)),
               "spearman_tat_qrs": float(rho), "rbbb_rv_delay_ms": float(rbbb[0]) if rbbb else None,
               "median_tat_ms": (float(np.nanmedian(tat)) if np.isfinite(tat).any() else np.nan),
               "unfamiliar_share": float(np.mean(flagged)) if flagged else None}
    return {"model": str(model), "rows": rows, "summary": summary}


