"""12-lead ECG input of Tasks 3-4 from any file: layouts, lead names, sampling rate, beat window.

The models of Tasks 3-4 take one beat as (12, 500): leads I, II, III, aVR, aVL, aVF,
V1..V6 (:data:`cardiacml.data.intracardiac.LEADS`) at 1 kHz, starting at the onset of
ventricular activation. :func:`load_ecg12` turns a user's file into that:

* arrays already in model format are used as they are: pECGData electrodes (500, 10) /
  (n, 500, 10) and 12-lead beats (12, 500) / (n, 12, 500) / (500, 12) at 1 kHz;
* longer 12-lead arrays (12, T) / (T, 12) / (n, 12, T), 10-electrode arrays (T, 10) /
  (n, T, 10) (RA, LA, LL, RL, V1..V6) at any ``fs``, and recordings (WFDB, CSV, EDF/BDF,
  ``.npz``, through :func:`cardiacml.data.records.open_record`) with lead names are
  resampled to 1 kHz and cut around one detected QRS complex.

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

import os
import re
from pathlib import Path

import numpy as np

from ..data.intracardiac import ELECTRODES, LEADS, N_TIMES, leads_from_electrodes
from ..errors import DataFormatError, MissingDataError

FS_MODEL = 1000.0
#: Default lead of the window start before the detected QRS onset (ms); see the module docstring.
PRE_MS = 5.0
#: PR-segment span used as the isoelectric level (ms before the QRS onset).
BASELINE_MS = (30.0, 5.0)
#: At most this many seconds of a long recording are searched for beats (from ``start_s``).
MAX_SECONDS = 120.0

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


def _resample(x: np.ndarray, fs_in: float, fs_out: float = FS_MODEL) -> np.ndarray:
    """Polyphase resampling along axis 0 (scipy ``resample_poly``), (T, L) -> (T', L)."""
    if abs(fs_in - fs_out) < 1e-9 * fs_out:
        return np.asarray(x, np.float64)
    from fractions import Fraction

    from scipy.signal import resample_poly

    frac = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(np.asarray(x, np.float64), frac.numerator, frac.denominator, axis=0)


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

    try:
        import neurokit2 as nk
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Finding the QRS of a 12-lead recording needs neurokit2: pip install 'cardiacml[ecg]'") from exc

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
    x = _resample(x12, fs)
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


def _is_model_ready(arr: np.ndarray, fs) -> bool:
    return fs is None or abs(float(fs) - FS_MODEL) < 1e-9


def load_ecg12(path: str | os.PathLike, *, fs: float | None = None, units: str | None = None, beat="auto",
               pre_ms: float = PRE_MS, leads=None, start_s: float = 0.0, max_seconds: float = MAX_SECONDS
               ) -> tuple[np.ndarray, dict]:
    """A user's 12-lead ECG file -> model input (n, 12, 500) float32 mV and a description.

    Parameters
    ----------
    path : path-like
        ``.npy`` array (see the module docstring for the layouts), or a recording that
        :func:`cardiacml.data.records.open_record` reads (WFDB, CSV/TSV/TXT, EDF/BDF, ``.npz``)
        with lead names I, II, (III, aVR, aVL, aVF,) V1..V6 or electrodes RA, LA, LL, RL, V1..V6.
    fs : float, optional
        Sampling rate (Hz) when the file has none (``.npy``, CSV without time column).
        A model-format array (500 samples) is taken at 1 kHz when ``fs`` is None.
    units : {"mV", "uV", "V"}, optional
        Unit of the values (default: from the file, else guessed from the amplitude;
        model-format arrays default to mV).
    beat : "auto", int or "all"
        Beat to cut from a recording (see :func:`beat_window`).
    pre_ms : float
        Window start before the detected QRS onset (ms).
    leads : str or sequence, optional
        Lead names for a file without them (CSV without header, ``.npy`` with another order).
    start_s, max_seconds : float
        Part of a long recording searched for beats.

    Returns
    -------
    X : ndarray, shape (n, 12, 500), float32, mV
    info : dict
        ``source``, ``input`` (layout read), ``fs_in``, ``derived`` (leads computed),
        ``windows`` (one dict per row of ``X``, see :func:`beat_window`; None for arrays
        used as they are), ``notes``.
    """
    from ..data.readers import _load_npy, _parse_leads, resolve_units, robust_amplitude
    from ..data.records import ArrayRecord, open_record, unit_scale, wfdb_base

    p = Path(path)
    if wfdb_base(p) is None and not p.is_file():
        raise MissingDataError(f"{p}: no such file")
    info: dict = {"source": str(p), "notes": [], "derived": []}
    names = _parse_leads(leads)
    if p.suffix.lower() == ".npy":
        arr = np.asarray(_load_npy(p, mmap=False))
        if arr.dtype.kind not in "fiu":
            raise DataFormatError(f"{p}: dtype {arr.dtype}; an ECG must be numeric")
        ready = _is_model_ready(arr, fs)
        if not np.all(np.isfinite(arr)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DataFormatError(f"{p}: NaN or infinite value at index {idx}; clean or interpolate the signal first")
        scale = unit_scale(units, str(p)) if units else 1.0
        if ready and arr.shape[-2:] == (N_TIMES, 10) and arr.ndim in (2, 3):
            info.update(input="pECGData electrodes (500, 10) at 1 kHz, used as they are", fs_in=FS_MODEL, windows=None)
            X = leads_from_electrodes(arr * scale)
            return (X if X.ndim == 3 else X[None]).astype(np.float32), info
        if ready and ((arr.ndim in (2, 3) and arr.shape[-2:] == (12, N_TIMES)) or arr.shape == (N_TIMES, 12)):
            X = arr.T if arr.shape == (N_TIMES, 12) else arr
            info.update(input="12-lead beat (12, 500) at 1 kHz, used as it is", fs_in=FS_MODEL, windows=None)
            return (X if X.ndim == 3 else X[None]).astype(np.float32) * np.float32(scale), info
        # a longer recording (or another fs): one record per item
        if arr.ndim == 2:
            items = [arr]
        elif arr.ndim == 3:
            items = list(arr)
        else:
            raise DataFormatError(f"{p}: a 12-lead ECG array must be (500, 10), (12, 500), (n, 12, T), (12, T), "
                                  f"(T, 12) or (T, 10), got shape {arr.shape}")
        if fs is None:
            raise DataFormatError(f"{p}: shape {arr.shape} is not a 12-lead model input (pECGData (500, 10) or "
                                  "(12, 500) at 1 kHz); for a longer 12-lead recording give its sampling rate fs= "
                                  "(--fs, Hz)")
        Xs, wins = [], []
        for i, a in enumerate(items):
            where = f"{p}" + (f" item {i}" if arr.ndim == 3 else "")
            n_lead = names and len(names)
            if n_lead and a.shape[0] == n_lead and a.shape[1] != n_lead:
                a = a.T
            elif not n_lead:
                if a.shape[0] in (10, 12) and a.shape[1] not in (10, 12):
                    a = a.T
                if a.shape[1] not in (10, 12):
                    raise DataFormatError(f"{where}: a 12-lead ECG needs 12 leads or 10 electrodes on one axis, got "
                                          f"shape {a.shape}")
            lead_names = names or (list(LEADS) if a.shape[1] == 12 else list(ELECTRODES))
            if i == 0:
                info["notes"].append(f"array read as {a.shape[1]} {'leads' if len(lead_names) == 12 else 'channels'} "
                                     f"{lead_names} x {a.shape[0]} samples at {float(fs):g} Hz")
            rec = ArrayRecord(a, fs, lead_names, path=where)
            amp = float(np.max(robust_amplitude(a[: int(60 * float(fs))])))
            s, note = resolve_units(amp, units, Path(where))
            if i == 0:
                info["notes"].append(note)
            X, w, derived = _from_record(rec, s, beat, pre_ms, start_s, max_seconds, where)
            Xs.append(X)
            wins += [dict(d, item=i) for d in w]
            info["derived"] = derived
        info.update(input=f"array {arr.shape} at {float(fs):g} Hz", fs_in=float(fs), windows=wins)
        return np.concatenate(Xs).astype(np.float32), info
    rec = open_record(p, fs=fs, units=units, leads=names) if wfdb_base(p) is None else open_record(p)
    info["notes"] += list(getattr(rec, "notes", []))
    X, wins, derived = _from_record(rec, 1.0, beat, pre_ms, start_s, max_seconds, str(p), info["notes"])
    info.update(input=f"{type(rec).__name__} {list(rec.leads)} at {rec.fs:g} Hz, {rec.duration_s:.1f} s",
                fs_in=rec.fs, windows=wins, derived=derived)
    return X, info


def _from_record(rec, scale, beat, pre_ms, start_s, max_seconds, where, notes=None):
    notes = [] if notes is None else notes
    a = int(round(start_s * rec.fs))
    if not 0 <= a < rec.n_samples:
        raise DataFormatError(f"{where}: start_s={start_s} is outside the record ({rec.duration_s:.2f} s)")
    b = min(rec.n_samples, a + int(round(max_seconds * rec.fs)))
    x = rec.read(a, b) * scale
    names = list(rec.leads)
    if len(names) in (10, 12) and all(re.fullmatch(r"lead\d+", str(n)) for n in names):
        names = list(LEADS if len(names) == 12 else ELECTRODES)
        notes.append(f"no lead names: the {len(names)} columns taken as {names}")
    x12, derived = to_twelve_leads(x, names, where)
    X, wins = beat_window(x12, rec.fs, beat=beat, pre_ms=pre_ms, where=where, t0_s=a / rec.fs)
    return X, wins, derived
