"""The 12-lead beat window of Tasks 3-4 from a 12-lead signal: lead naming, QRS onsets, window, baseline.

The models of Tasks 3-4 take one beat as (12, 500): leads I, II, III, aVR, aVL, aVF,
V1..V6 (:data:`cardiacml.contracts.ecg12.LEADS`) at 1 kHz, starting at the onset of
ventricular activation. This module works on arrays (never paths): :func:`to_twelve_leads`
names / derives the leads, :func:`beat_window` resamples to 1 kHz, finds the QRS
onsets and cuts baseline-corrected windows. File adaptation (formats, layouts) is
:mod:`cardiacml.inference.ecg12`'s job.

Beat window (why these choices)
-------------------------------
R peaks and QRS onsets are found with neurokit2 (``ecg_clean``, ``ecg_peaks``,
``ecg_delineate(method="dwt")`` -> ``ECG_R_Onsets``) on lead II, the lead the simulated
and real LLNL ECGs show the QRS best in. The window is 500 ms starting ``pre_ms`` = 5 ms
before the detected QRS onset: the LLNL ECGs start at the onset of activation and their
QRS begins 0-5 ms later (``shared/data/real_reference``: QRS onset about 0-5 ms, earliest
activation about 4 ms; Durrer 1970: earliest endocardial activation 0-5 ms before the
surface QRS), and a single-lead delineator tends to place the onset a few ms late rather
than early, so a 5 ms lead keeps the whole QRS inside the window. The default beat is a
typical one: among beats whose window fits and whose neighbouring R-R intervals are
closest to the median R-R, the one nearest to the middle of the record (``beat=K`` picks
the K-th detected beat, 0-based; ``beat="all"`` returns every beat that fits).

Baseline: the isoelectric level is the mean over the PR segment (``[onset - 30 ms,
onset - 5 ms]``) of this beat and of the next one; the straight line through the two
levels is subtracted (a single level when there is no next beat), so the window starts
near 0 mV like the simulated ECGs.
"""

from __future__ import annotations

import re

import numpy as np

from ..contracts.ecg12 import ELECTRODES, LEADS, N_TIMES, leads_from_electrodes
from ..errors import DataFormatError
from .detect import require_neurokit
from .filters import resample

FS_MODEL = 1000.0
#: Default lead of the window start before the detected QRS onset (ms); see the module docstring.
PRE_MS = 5.0
#: PR-segment span used as the isoelectric level (ms before the QRS onset).
BASELINE_MS = (30.0, 5.0)

def canonical_lead(name: str) -> str | None:
    """Standard name of a lead or electrode label, or None.

    Case-insensitive; ignores ``lead``/``ecg`` prefixes and spaces, dashes, underscores, dots
    (``"ECG II"``, ``"lead_avr"``, ``"V1-REF"`` is not matched). Returns one of
    :data:`LEADS` or :data:`ELECTRODES` (``RA``, ``LA``, ``LL``, ``RL``).
    """
    key = re.sub(r"[\s_\-\.]", "", str(name)).upper()
    key = re.sub(r"^(LEAD|ECG)", "", key)
    for lead in LEADS:
        if key == lead.upper():
            return lead
    if key in ("RA", "LA", "LL", "RL"):
        return key
    return None




def to_twelve_leads(x: np.ndarray, names, where: str) -> tuple[np.ndarray, list[str]]:
    """(T, L) signals with lead names -> (T, 12) in :data:`LEADS` order, and what was derived.

    Accepts the 12 standard leads by name (extra leads such as Frank's vx/vy/vz are
    ignored); derives III/aVR/aVL/aVF (and any one of I, II, III) from two limb leads;
    or the 10 electrodes RA, LA, LL, RL, V1..V6 (-> :func:`leads_from_electrodes`).

    Raises
    ------
    DataFormatError
        Missing precordial leads, fewer than two of I/II/III, or missing electrodes; the
        message names ``where`` and the leads found.
    """
    canon = [canonical_lead(n) for n in names]
    have = {c: i for i, c in reversed(list(enumerate(canon))) if c is not None}
    elec = [e for e in ELECTRODES if e in have]
    limb = [n for n in ("I", "II", "III") if n in have]
    prec = [f"V{i}" for i in range(1, 7)]
    if len(limb) < 2 and len(elec) >= 3 and all(e in have for e in ("RA", "LA", "LL")):
        missing = [e for e in ELECTRODES if e not in have and e != "RL"]
        if missing:
            raise DataFormatError(f"{where}: electrode layout needs RA, LA, LL, V1..V6; missing {missing} "
                                  f"(found {list(names)})")
        e = np.stack([x[:, have[n]] if n in have else np.zeros(len(x)) for n in ELECTRODES], axis=1)
        return leads_from_electrodes(e).T.astype(np.float64), ["all 12 leads from the electrodes RA, LA, LL, V1..V6 "
                                                               "(Wilson's terminal)"]
    missing = [p for p in prec if p not in have]
    if len(limb) < 2 or missing:
        need = (["two of I, II, III"] if len(limb) < 2 else []) + missing
        raise DataFormatError(f"{where}: missing lead(s) {need} for a 12-lead ECG (found {list(names)}); give leads "
                              f"named {list(LEADS)} (case-insensitive) or electrodes {list(ELECTRODES)}")
    g = {n: x[:, have[n]].astype(np.float64) for n in LEADS if n in have}
    derived = []
    if "I" not in g:
        g["I"] = g["II"] - g["III"]
        derived.append("I = II - III")
    if "II" not in g:
        g["II"] = g["I"] + g["III"]
        derived.append("II = I + III")
    for name, f in (("III", lambda: g["II"] - g["I"]), ("aVR", lambda: -(g["I"] + g["II"]) / 2),
                    ("aVL", lambda: g["I"] - g["II"] / 2), ("aVF", lambda: g["II"] - g["I"] / 2)):
        if name not in g:
            g[name] = f()
            derived.append(f"{name} from I and II")
    return np.stack([g[n] for n in LEADS], axis=1), derived


def detect_qrs(x12: np.ndarray, fs: float = FS_MODEL, where: str = "") -> dict:
    """R peaks and QRS onsets (samples) of a (T, 12) ECG at ``fs``, with neurokit2 on lead II.

    Onsets the delineator misses get R peak minus the median R-to-onset interval of the
    other beats (45 ms when none).

    Returns
    -------
    dict with ``r_peaks``, ``onsets`` (int arrays, same length), ``onset_estimated`` (bool array).
    """
    import warnings

    nk = require_neurokit()

    lead = x12[:, LEADS.index("II")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clean = nk.ecg_clean(lead, sampling_rate=int(round(fs)))
            _, info = nk.ecg_peaks(clean, sampling_rate=int(round(fs)))
            r = np.asarray(info["ECG_R_Peaks"], np.int64)
        except Exception as exc:
            raise DataFormatError(f"{where}: QRS detection failed on lead II ({exc})") from None
        if len(r) == 0:
            raise DataFormatError(f"{where}: no QRS complex found in lead II ({len(lead) / fs:.2f} s)")
        onsets = np.full(len(r), np.nan)
        if len(r) >= 2:
            try:
                _, d = nk.ecg_delineate(clean, r, sampling_rate=int(round(fs)), method="dwt")
                on = np.asarray(d.get("ECG_R_Onsets", []), np.float64)
                if len(on) == len(r):
                    onsets = on
            except Exception:
                pass
    ok = np.isfinite(onsets) & (onsets < r) & (r - onsets <= 0.15 * fs)
    lag = float(np.median(r[ok] - onsets[ok])) if ok.any() else 0.045 * fs
    onsets = np.where(ok, onsets, r - lag)
    return {"r_peaks": r, "onsets": np.round(onsets).astype(np.int64), "onset_estimated": ~ok}


def _choose(cands: list[int], r: np.ndarray, n_total: int) -> int:
    """A typical beat: neighbouring R-R closest to the median, then nearest the middle."""
    if len(r) < 3:
        return cands[len(cands) // 2]
    rr = np.diff(r).astype(float)
    med = np.median(rr)
    score = []
    for k in cands:
        prev = rr[k - 1] if k >= 1 else np.nan
        nxt = rr[k] if k < len(rr) else np.nan
        vals = [abs(v / med - 1) for v in (prev, nxt) if np.isfinite(v)]
        score.append(np.mean(vals) if vals else np.inf)
    score = np.asarray(score)
    good = [k for k, s in zip(cands, score) if s <= score.min() + 0.05]
    mid = n_total / 2
    return min(good, key=lambda k: abs(r[k] - mid))


def beat_window(x12: np.ndarray, fs: float, *, beat="auto", pre_ms: float = PRE_MS, where: str = "",
                t0_s: float = 0.0) -> tuple[np.ndarray, list[dict]]:
    """Cut 500 ms windows at 1 kHz from a (T, 12) ECG sampled at ``fs`` (mV).

    Parameters
    ----------
    x12 : ndarray, shape (T, 12)
        Leads in :data:`LEADS` order, mV.
    fs : float
        Sampling rate (Hz); resampled to 1 kHz first.
    beat : "auto", int or "all"
        Which detected beat (0-based, in detection order); see the module docstring.
    pre_ms : float
        The window starts this many ms before the detected QRS onset.
    t0_s : float
        Time of ``x12[0]`` in the original recording (for the reported times).

    Returns
    -------
    windows : ndarray, shape (n, 12, 500), float32, mV, baseline-corrected
    info : list of dict (one per window)
        ``beat``, ``n_beats``, ``start_s`` (window start in the recording), ``start_sample``
        (same, in samples at the input ``fs``), ``qrs_onset_s``, ``r_peak_s``, ``rr_ms``
        (median R-R), ``pre_ms``, ``onset_estimated``.
    """
    if not np.all(np.isfinite(x12)):
        i, j = (int(v) for v in np.argwhere(~np.isfinite(x12))[0])
        raise DataFormatError(f"{where}: NaN or infinite value in lead {LEADS[j]} at sample {i} "
                              f"(t = {t0_s + i / fs:.3f} s); clean or interpolate the signal first")
    x = resample(x12, fs, FS_MODEL, axis=0)
    T = len(x)
    pre = int(round(pre_ms))
    if T < N_TIMES:
        raise DataFormatError(f"{where}: too short for a 12-lead beat window: {T / FS_MODEL * 1000:.0f} ms, "
                              f"needs at least {N_TIMES} ms from the QRS onset")
    det = detect_qrs(x, FS_MODEL, where)
    r, on = det["r_peaks"], det["onsets"]
    starts = on - pre
    fits = [k for k in range(len(r)) if starts[k] >= 0 and starts[k] + N_TIMES <= T]
    if beat == "all":
        chosen = fits
    elif beat is None or beat == "auto":
        chosen = [_choose(fits, r, T)] if fits else []
    else:
        try:
            k = int(beat)
        except (TypeError, ValueError):
            raise DataFormatError(f"{where}: beat must be 'auto', 'all' or a beat index, got {beat!r}") from None
        if not 0 <= k < len(r):
            raise DataFormatError(f"{where}: beat {k} out of range: {len(r)} QRS complexes detected "
                                  f"(R peaks at {np.round(t0_s + r / FS_MODEL, 3).tolist()[:20]} s)")
        if k not in fits:
            raise DataFormatError(f"{where}: beat {k} (QRS onset at {t0_s + on[k] / FS_MODEL:.3f} s) has no full "
                                  f"{N_TIMES} ms window inside the record (needs {pre} ms before the onset and "
                                  f"{N_TIMES - pre} ms after); beats that fit: {fits}")
        chosen = [k]
    if not chosen:
        raise DataFormatError(f"{where}: record too short: no detected QRS onset (of {len(r)}) has {N_TIMES - pre} ms "
                              f"of signal after it and {pre} ms before ({T / FS_MODEL:.2f} s at 1 kHz)")
    b0, b1 = (int(round(v)) for v in BASELINE_MS)
    rr = float(np.median(np.diff(r))) if len(r) > 1 else float("nan")
    out, info = [], []
    for k in chosen:
        s = int(starts[k])
        seg = x[s:s + N_TIMES].copy()
        lo0 = max(0, on[k] - b0)
        base0 = x[lo0:max(lo0 + 1, on[k] - b1)].mean(axis=0)
        base = np.broadcast_to(base0, seg.shape)
        how = "PR-segment level subtracted"
        if k + 1 < len(r) and on[k + 1] - b0 > on[k]:
            lo1 = on[k + 1] - b0
            base1 = x[lo1:max(lo1 + 1, on[k + 1] - b1)].mean(axis=0)
            t = (np.arange(s, s + N_TIMES) - (on[k] - (b0 + b1) / 2)) / ((on[k + 1] - on[k]) or 1)
            base = base0[None, :] + t[:, None] * (base1 - base0)[None, :]
            how = "line through this and the next beat's PR-segment levels subtracted"
        seg = seg - base
        out.append(seg.T.astype(np.float32))
        nxt = [int(on[j] - s) for j in range(k + 1, len(r)) if on[j] - s < N_TIMES]
        info.append({
            "beat": int(k), "n_beats": int(len(r)), "pre_ms": float(pre),
            "start_s": round(t0_s + s / FS_MODEL, 4), "start_sample": int(round((t0_s + s / FS_MODEL) * fs)),
            "qrs_onset_s": round(t0_s + on[k] / FS_MODEL, 4), "r_peak_s": round(t0_s + r[k] / FS_MODEL, 4),
            "r_peak_in_window_ms": int(r[k] - s), "rr_ms": rr, "onset_estimated": bool(det["onset_estimated"][k]),
            "baseline": how, "next_qrs_in_window_ms": nxt[0] if nxt else None,
            "detector": "neurokit2 ecg_peaks + ecg_delineate(dwt) R onsets, lead II",
        })
    return np.stack(out), info
