"""The 12-lead beat window of Tasks 3-4 from a 12-lead signal: lead naming, QRS onsets, window, baseline.

The models of Tasks 3-4 take one beat as (12, 500): leads I, II, III, aVR, aVL, aVF,
V1..V6 (:data:`cardiacml.contracts.ecg12.LEADS`) at 1 kHz, starting at the onset of
ventricular activation. This module works on arrays (never paths): :func:`to_twelve_leads`
names / derives the leads, :func:`beat_window` resamples to 1 kHz, finds the QRS
onsets and cuts baseline-corrected windows. File adaptation (formats, layouts) is
:mod:`cardiacml.inference.ecg12`'s job.

Beat window, version 2 (:data:`WINDOW_VERSION`; models trained from cardiacml 0.3 on)
-------------------------------------------------------------------------------------
One input path for real and simulated ECGs: :func:`beat_window` (a recording) and :func:`simulated_windows`
(the simulator's 500 ms beats, which training turns into a multi-beat strip with recorder effects) run the same
steps, so that what a model meets in use is what it was trained on:

1. the 12 leads at 1 kHz are band-passed 0.5-40 Hz with 50/60 Hz notches (:func:`cardiacml.ecg.filters.clean_ecg`,
   the beat pipeline's filter);
2. the beats are aligned (R peaks from neurokit2 on lead II for a recording; the known beat positions of a
   simulated strip) and their sample-wise median is taken;
3. the QRS onset of the median beat is found on all 12 leads at once (:func:`qrs_onset`): the spatial velocity
   (the norm over the leads of the first difference, smoothed over 9 ms) is walked back from its QRS maximum
   to where it falls to :data:`ONSET_FRACTION` of the way from its baseline level to that maximum (the classic
   global-QRS delineation idea: a multi-lead onset is earlier and steadier than any single lead's). Each beat's
   onset is its fiducial plus the median beat's fiducial-to-onset offset;
4. the window is 500 ms from ``pre_ms`` = 5 ms before the beat's onset; its PR level ([onset - 30, onset - 5] ms)
   is subtracted and it is divided by its amplitude scale (:func:`amplitude_scale`: the median over the 12 leads
   of the peak-to-peak over the 250 ms after the onset), so gains of recorders and patients do not matter.

Measured on the 20 real recordings of ``shared/data`` (``benchmarks/heart_real.py``): this onset lies 17-45 ms
before the R peak (neurokit2's single-lead delineation, version 1 below: 45-143 ms, often on the P wave).

Beat window, version 1 (models of cardiacml 0.2, kept for their checkpoints)
---------------------------------------------------------------------------
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
from .filters import clean_ecg, clean_isoelectric, resample

FS_MODEL = 1000.0
#: Default lead of the window start before the detected QRS onset (ms); see the module docstring.
PRE_MS = 5.0
#: PR-segment span used as the isoelectric level (ms before the QRS onset).
BASELINE_MS = (30.0, 5.0)
from ..contracts.ecg12 import WINDOW_VERSION  # noqa: E402  (the model's contract says which version it takes)
#: Smoothing of the spatial velocity (ms) and the onset threshold, as a fraction of baseline-to-maximum.
SV_SMOOTH_MS = 9
ONSET_FRACTION = 0.12
#: Extent of the median beat around its fiducial (ms).
MB_PRE, MB_POST = 300, 400
#: Span after the onset (ms) whose lead peak-to-peak amplitudes give the window's amplitude scale.
SCALE_SPAN_MS = 250

#: Other spellings of the standard leads: DI / DII / DIII (D1-D3; Portuguese and Spanish recorders, the CODE
#: dataset) and C1-C6 (the European names of the chest leads V1-V6).
LEAD_ALIASES = {"DI": "I", "DII": "II", "DIII": "III", "D1": "I", "D2": "II", "D3": "III",
                **{f"C{k}": f"V{k}" for k in range(1, 7)}}


def canonical_lead(name: str) -> str | None:
    """Standard name of a lead or electrode label, or None.

    Case-insensitive; ignores ``lead``/``ecg``/``ekg`` prefixes and spaces, dashes, underscores, dots
    (``"ECG II"``, ``"lead_avr"``, ``"V1-REF"`` is not matched); takes :data:`LEAD_ALIASES` (``DII``, ``C1``). Returns one of
    :data:`LEADS` or :data:`ELECTRODES` (``RA``, ``LA``, ``LL``, ``RL``).
    """
    key = re.sub(r"[\s_\-\.]", "", str(name)).upper()
    key = re.sub(r"^(LEAD|ECG|EKG)", "", key)
    key = LEAD_ALIASES.get(key, key)
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
    twice = [k for k, c in enumerate(canon) if c is not None and c in canon[:k]]
    if twice:  # which one is the lead? (the first was taken silently)
        c = canon[twice[0]]
        raise DataFormatError(f"{where}: lead {c} is given twice: channels {[k for k, d in enumerate(canon) if d == c]} "
                              f"(0-based) of {list(names)}; keep one of them")
    have = {c: i for i, c in reversed(list(enumerate(canon))) if c is not None}
    elec = [e for e in ELECTRODES if e in have]
    limb = [n for n in ("I", "II", "III") if n in have]
    prec = [f"V{i}" for i in range(1, 7)]
    if len(limb) >= 2 and all(e in have for e in ("RA", "LA", "LL")):  # V1..V6 were read as leads, unsaid
        raise DataFormatError(f"{where}: both limb leads {limb} and electrodes RA, LA, LL (found {list(names)}): "
                              "V1..V6 cannot be told to be leads (against Wilson's terminal) or electrode potentials; "
                              "keep one set: drop the other's columns (from a CSV or EDF file, leads= picks them in "
                              "Python: 'RA,LA,LL,V1,V2,V3,V4,V5,V6' or 'I,II,V1,...')")
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
    # a lead written with a minus sign ("-aVR", Cabrera's display) holds the negated lead: its sign is turned back
    flipped = [n for n in LEADS if n in have and str(names[have[n]]).strip().startswith(("-", "\u2212"))]
    g = {n: x[:, have[n]].astype(np.float64) * (-1.0 if n in flipped else 1.0) for n in LEADS if n in have}
    derived = [f"{n} = -({str(names[have[n]]).strip()}) (a lead written with a minus sign: sign turned back)"
               for n in flipped]
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

    _, clean, r = _lead_ii_peaks(x12, fs, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


def spatial_velocity(beats: np.ndarray, fs: float = FS_MODEL) -> np.ndarray:
    """Spatial velocity of 12-lead beats: the norm over leads of the first difference (mV/ms), smoothed.

    ``beats`` (..., T, leads) at ``fs``; returns (..., T).
    """
    from scipy.ndimage import uniform_filter1d

    d = np.diff(beats, axis=-2, prepend=beats[..., :1, :]) * (fs / 1000.0)
    v = np.sqrt((d ** 2).sum(-1))
    return uniform_filter1d(v, max(1, int(round(SV_SMOOTH_MS * fs / 1000.0))), axis=-1)


def qrs_onset(beats: np.ndarray, peak_lo: int, peak_hi: int, fs: float = FS_MODEL) -> np.ndarray:
    """Global QRS onset (sample index) of 12-lead beats: see step 3 of the module docstring.

    Parameters
    ----------
    beats : ndarray, shape (..., T, leads), mV (band-passed)
    peak_lo, peak_hi : int
        Where the QRS maximum of the spatial velocity is searched (indices along T).

    Returns
    -------
    ndarray of int, shape (...): the first sample above the threshold before the maximum.
    """
    v = spatial_velocity(np.asarray(beats, np.float64), fs)
    T = v.shape[-1]
    pk = peak_lo + np.argmax(v[..., peak_lo:peak_hi], axis=-1)
    back = int(round(0.25 * fs))
    ar = np.arange(T)
    lo_b, hi_b = pk - back, pk - int(round(0.1 * fs))
    in_base = (ar >= np.maximum(lo_b, 0)[..., None]) & (ar < np.maximum(hi_b, 1)[..., None])
    base = np.nanpercentile(np.where(in_base, v, np.nan), 30, axis=-1)
    base = np.nan_to_num(base)
    vmax = np.take_along_axis(v, pk[..., None], -1)[..., 0]
    thr = base + ONSET_FRACTION * (vmax - base)
    below = (v <= thr[..., None]) & (ar < pk[..., None]) & (ar >= np.maximum(lo_b, 0)[..., None])
    last = np.where(below, ar, -1).max(-1)
    return np.where(last >= 0, last + 1, np.maximum(lo_b, 0)).astype(np.int64)


OFFSET_FRACTION = 0.12


def qrs_offset(beats: np.ndarray, peak_lo: int, peak_hi: int, fs: float = FS_MODEL) -> np.ndarray:
    """Global QRS offset (sample index) of 12-lead beats, the mirror of :func:`qrs_onset`.

    The spatial velocity is walked forward from its QRS maximum to where it stays at or below
    :data:`OFFSET_FRACTION` of the way from its ST-segment level (30th percentile over 100-300 ms after the
    maximum) to that maximum. ``beats`` (..., T, leads); returns (...).
    """
    v = spatial_velocity(np.asarray(beats, np.float64), fs)
    T = v.shape[-1]
    pk = peak_lo + np.argmax(v[..., peak_lo:peak_hi], axis=-1)
    ar = np.arange(T)
    lo_s, hi_s = pk + int(round(0.1 * fs)), np.minimum(pk + int(round(0.3 * fs)), T)
    in_st = (ar >= lo_s[..., None]) & (ar < hi_s[..., None])
    base = np.nan_to_num(np.nanpercentile(np.where(in_st, v, np.nan), 30, axis=-1))
    vmax = np.take_along_axis(v, pk[..., None], -1)[..., 0]
    thr = base + OFFSET_FRACTION * (vmax - base)
    above = (v > thr[..., None]) & (ar > pk[..., None]) & (ar < hi_s[..., None])
    last = np.where(above, ar, -1).max(-1)  # the last sample above the threshold within 300 ms of the maximum
    return np.where(last >= 0, last + 1, pk + 1).astype(np.int64)


def qrs_duration(x12: np.ndarray, fs: float, where: str = "") -> dict:
    """QRS duration (ms) of a (T, 12) recording, measured on its median beat from all 12 leads.

    The leads are resampled to 1 kHz and band-passed as for the beat window, R peaks found on lead II, the
    beats' sample-wise median taken, and the global QRS onset (:func:`qrs_onset`) and offset
    (:func:`qrs_offset`) found on its spatial velocity.

    Returns
    -------
    dict: ``qrs_ms``, ``onset_to_r_ms``, ``r_to_offset_ms``, ``beats_in_median``.
    """
    x = resample(np.asarray(x12, np.float64), fs, FS_MODEL, axis=0)
    f = clean_ecg(x, FS_MODEL, axis=0)
    r = detect_r_peaks_12(x, FS_MODEL, where)
    segs = _beat_segments(f, r)
    if not segs:
        raise DataFormatError(f"{where}: no beat with {MB_PRE} ms before and {MB_POST} ms after its R peak")
    mb = np.median(np.stack(segs), 0)
    on = int(qrs_onset(mb, MB_PRE - 80, MB_PRE + 60, FS_MODEL))
    off = int(qrs_offset(mb, MB_PRE - 80, MB_PRE + 60, FS_MODEL))
    return {"qrs_ms": float(off - on), "onset_to_r_ms": float(MB_PRE - on), "r_to_offset_ms": float(off - MB_PRE),
            "beats_in_median": len(segs)}


def amplitude_scale(windows: np.ndarray, pre: int) -> np.ndarray:
    """Amplitude scale (mV) of windows (..., 12, 500): median over leads of the peak-to-peak over the QRS span."""
    w = windows[..., pre:pre + SCALE_SPAN_MS]
    s = np.median(w.max(-1) - w.min(-1), axis=-1)
    return np.maximum(s, 1e-3)


def detect_r_peaks_12(x12: np.ndarray, fs: float = FS_MODEL, where: str = "") -> np.ndarray:
    """R peaks (samples) of a (T, 12) ECG at ``fs``, with neurokit2 on lead II."""
    return (r := _lead_ii_peaks(x12, fs, where)[2])[~_not_qrs(x12, r, fs)]


#: The shortest 12-lead input (s) read: one beat and the 500-ms window after its QRS onset (neurokit2's cleaning
#: itself fails under about 0.7 s with a message about its smoothing window).
MIN_ECG12_S = 1.0


def _lead_ii_peaks(x12: np.ndarray, fs: float, where: str):
    """(lead II, lead II cleaned by neurokit2, its R peaks) of a (T, 12) ECG at ``fs``; a DataFormatError naming
    ``where`` for a recording under :data:`MIN_ECG12_S`, a detection that fails or finds no QRS."""
    import warnings

    nk = require_neurokit()
    lead = x12[:, LEADS.index("II")]
    if len(lead) < MIN_ECG12_S * fs:
        raise DataFormatError(f"{where}: {len(lead) / fs:.2f} s of signal; a 12-lead input needs at least "
                              f"{MIN_ECG12_S:g} s (a beat and the 500 ms after its QRS onset)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clean = nk.ecg_clean(lead, sampling_rate=int(round(fs)))
            _, info = nk.ecg_peaks(clean, sampling_rate=int(round(fs)))
            r = np.asarray(info["ECG_R_Peaks"], np.int64)
        except Exception as exc:  # neurokit2 raises many kinds on odd signals: report them as what they are
            raise DataFormatError(f"{where}: QRS detection failed on lead II ({exc})") from None
    if len(r) == 0:
        raise DataFormatError(f"{where}: no QRS complex found in lead II ({len(lead) / fs:.2f} s)")
    return lead, clean, r


#: A lead-II detection is no QRS when its 12-lead QRS size is under this fraction of the recording's median ...
NOT_QRS_SIZE = 0.4
#: ... and it comes closer than this fraction of the median R-R to the detection before or after it (a T wave).
NOT_QRS_RR = 0.7


def _not_qrs(x12: np.ndarray, r: np.ndarray, fs: float) -> np.ndarray:
    """Detections on lead II that are no QRS complex: T waves (E07506's at 0.33 s, E07500's at 8.6 and 9.3 s got
    activation maps of their own with ``--beat all``). Small in all 12 leads together (the sum of the leads' peak-to-peak
    within +-60 ms, under :data:`NOT_QRS_SIZE` of the median) and close to a neighbour (under :data:`NOT_QRS_RR` of the
    median R-R); a premature beat is full-sized in most leads, so it stays. At least one detection is kept."""
    out = np.zeros(len(r), bool)
    if len(r) < 3:
        return out
    f = clean_ecg(np.asarray(x12, np.float64), fs, axis=0)
    h = max(1, int(round(0.06 * fs)))
    idx = np.clip(r[:, None] + np.arange(-h, h + 1)[None, :], 0, len(f) - 1)
    size = np.ptp(f[idx], axis=1).sum(1)  # (n,)
    gaps = np.diff(r).astype(np.float64)
    close = np.zeros(len(r), bool)
    close[1:] |= gaps < NOT_QRS_RR * np.median(gaps)
    close[:-1] |= gaps < NOT_QRS_RR * np.median(gaps)
    out = (size < NOT_QRS_SIZE * np.median(size)) & close
    if out.all():
        out[:] = False
    return out


def _beat_segments(f: np.ndarray, r: np.ndarray) -> list:
    """The (MB_PRE + MB_POST, 12) stretches of ``f`` around each R peak that lie wholly inside it (median-beat input)."""
    return [f[k - MB_PRE:k + MB_POST] for k in r if k - MB_PRE >= 0 and k + MB_POST <= len(f)]


def global_onsets(f: np.ndarray, r: np.ndarray, fs: float = FS_MODEL) -> tuple[np.ndarray, float, int]:
    """QRS onset of every beat from the median beat of the band-passed (T, 12) ECG ``f`` aligned on ``r``.

    Returns (onsets (n,), the fiducial-to-onset offset in ms, number of beats in the median).
    """
    segs = _beat_segments(f, r)
    if not segs:  # a record shorter than one median-beat span around any beat: use the beats as they are
        segs = [np.pad(f, ((max(0, MB_PRE - k), 0), (0, 0)))[max(0, k - MB_PRE):max(0, k - MB_PRE) + MB_PRE + MB_POST]
                for k in r[:1]]
    mb = np.median(np.stack(segs), 0)
    on = int(qrs_onset(mb, MB_PRE - 80, MB_PRE + 60, fs))
    lag = MB_PRE - on
    return r - lag, float(lag), len(segs)


def _finish_window(f: np.ndarray, s: int, on: int) -> tuple[np.ndarray, float]:
    """Window ``f[s:s+500]`` of a band-passed (T, 12) ECG as (12, 500): its PR level ([on - 30, on - 5] ms) subtracted,
    divided by its amplitude scale. Returns (window float32, scale in mV)."""
    b0, b1 = (int(round(v)) for v in BASELINE_MS)
    lo = max(0, on - b0)
    base = f[lo:max(lo + 1, on - b1)].mean(axis=0)
    w = (f[s:s + N_TIMES] - base).T
    scale = float(amplitude_scale(w, on - s))
    return (w / scale).astype(np.float32), scale


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


def beat_index(beat, where: str) -> int:
    """A ``beat`` that is an index (an int, or its text as the CLI gives it): ``1.5`` and ``True`` are refused (int()
    took them for beats 1 and 1 silently), as is anything else."""
    if isinstance(beat, (bool, np.bool_)) or isinstance(beat, (float, np.floating)) and not float(beat).is_integer():
        k = None
    else:
        try:
            k = int(beat)
        except (TypeError, ValueError, OverflowError):
            k = None
    if k is None:
        raise DataFormatError(f"{where}: beat must be 'auto', 'all' or a beat index, got {beat!r}")
    return k


def refuse_gaps(x12: np.ndarray, fs: float, where: str, t0_s: float = 0.0) -> None:
    """Refuse a (T, 12) ECG holding NaN or infinite values in one line naming the lead, sample and time: a 12-lead
    measure (a model's window, the QRS duration) cannot be taken across a gap, which a beat recording reads as a lead
    off instead (:meth:`cardiacml.io.records.Record.read`)."""
    if not np.all(np.isfinite(x12)):
        i, j = (int(v) for v in np.argwhere(~np.isfinite(x12))[0])
        raise DataFormatError(f"{where}: NaN or infinite value in lead {LEADS[j]} at sample {i} "
                              f"(t = {t0_s + i / fs:.3f} s); clean or interpolate the signal first")


def beat_window(x12: np.ndarray, fs: float, *, beat="auto", pre_ms: float = PRE_MS, where: str = "",
                t0_s: float = 0.0, version: int = WINDOW_VERSION) -> tuple[np.ndarray, list[dict]]:
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
    version : int
        Window version (module docstring): 2 (band-passed, global QRS onset, amplitude-normalised) or 1
        (cardiacml 0.2: raw, neurokit2 onset, mV). A model's contract says which one it takes.

    Returns
    -------
    windows : ndarray, shape (n, 12, 500), float32, baseline-corrected; version 2: divided by the amplitude
        scale (dimensionless), version 1: mV
    info : list of dict (one per window)
        ``beat``, ``n_beats``, ``start_s`` (window start in the recording), ``start_sample``
        (same, in samples at the input ``fs``), ``qrs_onset_s``, ``r_peak_s``, ``rr_ms``
        (median R-R), ``pre_ms``, ``onset_estimated``.
    """
    refuse_gaps(x12, fs, where, t0_s)
    x = resample(x12, fs, FS_MODEL, axis=0)
    T = len(x)
    pre = int(round(pre_ms))
    if T < N_TIMES:
        raise DataFormatError(f"{where}: too short for a 12-lead beat window: {T / FS_MODEL * 1000:.0f} ms, "
                              f"needs at least {N_TIMES} ms from the QRS onset")
    if version == 2:
        f = clean_ecg(x, FS_MODEL, axis=0)
        r = detect_r_peaks_12(x, FS_MODEL, where)
        on, lag, n_med = global_onsets(f, r, FS_MODEL)
        det = {"r_peaks": r, "onsets": on, "onset_estimated": np.zeros(len(r), bool)}
    elif version == 1:
        det = detect_qrs(x, FS_MODEL, where)
        r, on = det["r_peaks"], det["onsets"]
    else:
        raise DataFormatError(f"{where}: unknown 12-lead window version {version!r} (this cardiacml knows 1 and 2)")
    starts = on - pre
    fits = [k for k in range(len(r)) if starts[k] >= 0 and starts[k] + N_TIMES <= T]
    if beat == "all":
        chosen = fits
    elif beat is None or beat == "auto":
        chosen = [_choose(fits, r, T)] if fits else []
    else:
        k = beat_index(beat, where)
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
        nxt = [int(on[j] - s) for j in range(k + 1, len(r)) if on[j] - s < N_TIMES]
        common = {"beat": int(k), "n_beats": int(len(r)), "pre_ms": float(pre),
                  "start_s": round(t0_s + s / FS_MODEL, 4), "start_sample": int(round((t0_s + s / FS_MODEL) * fs)),
                  "qrs_onset_s": round(t0_s + on[k] / FS_MODEL, 4), "r_peak_s": round(t0_s + r[k] / FS_MODEL, 4),
                  "r_peak_in_window_ms": int(r[k] - s), "rr_ms": rr, "next_qrs_in_window_ms": nxt[0] if nxt else None,
                  "window_version": version}
        if version == 2:
            w, scale = _finish_window(f, s, int(on[k]))
            out.append(w)
            info.append({**common, "onset_estimated": False, "amplitude_scale_mv": round(scale, 4),
                         "onset_to_r_ms": lag, "beats_in_median": n_med,
                         "baseline": "0.5-40 Hz band-pass + 50/60 Hz notches; PR level subtracted",
                         "detector": "R peaks: neurokit2 ecg_peaks on lead II; QRS onset: 12-lead spatial velocity of "
                                     "the median beat"})
            continue
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
        info.append({**common, "onset_estimated": bool(det["onset_estimated"][k]), "baseline": how,
                     "detector": "neurokit2 ecg_peaks + ecg_delineate(dwt) R onsets, lead II"})
    return np.stack(out), info


def repeat_beats(leads: np.ndarray, bcl: np.ndarray, copies: int, length: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A strip of ``copies`` repeats of each simulated beat, ``bcl[i]`` ms apart, isoelectric between beats.

    ``leads`` (n, 12, 500) mV from time 0; returns the strips (n, 12, length) and the beats' start samples (n, copies).
    The last 40 ms of each beat are tapered to zero (a simulated window can end before the T wave does).
    """
    n = len(leads)
    bcl = np.broadcast_to(np.asarray(bcl, np.int64), (n,))
    lead_in = MB_PRE + 200
    length = length or int(lead_in + copies * int(bcl.max()) + MB_POST + 200)
    taper = np.ones(N_TIMES)
    taper[-40:] = 0.5 * (1 + np.cos(np.linspace(0, np.pi, 40)))
    starts = lead_in + np.arange(copies)[None, :] * bcl[:, None]
    strip = np.zeros((n, leads.shape[1], length))
    beat = np.asarray(leads, np.float64) * taper
    for i in range(n):
        for k in range(copies):
            strip[i, :, starts[i, k]:starts[i, k] + N_TIMES] += beat[i]
    return strip, starts


def simulated_windows(leads: np.ndarray, rng: np.random.Generator | None = None, *, augment: bool = False,
                      copies: int = 3, bcl_ms: tuple = (450, 1200), onset_jitter_ms: float = 4.0,
                      pre_ms: float = PRE_MS, chunk: int = 200) -> tuple[np.ndarray, np.ndarray, dict]:
    """Model inputs of simulated beats through the same steps as a recording (version 2; module docstring).

    Each simulated beat (500 ms from the first stimulus) is repeated ``copies`` times at a cycle length drawn from
    ``bcl_ms`` into a strip that is isoelectric between beats; with ``augment`` the strip gets atrial activity
    (:func:`cardiacml.ecg.augment.atrial_waves`: a P wave before every beat, or fibrillatory waves) and recorder effects
    (:func:`cardiacml.ecg.augment.recorder_effects`: gain, electrode placement, noise, wander, mains, band-pass,
    sampling rate) and the onset a detection error (normal, ``onset_jitter_ms`` sd, clipped to +-10 ms). The strip is
    band-passed, the median beat's global QRS onset found, and the middle beat's window cut, PR level removed and
    amplitude-normalised exactly as :func:`beat_window` does for a recording.

    Parameters
    ----------
    leads : ndarray, shape (n, 12, 500), mV at 1 kHz
        12-lead simulated beats (e.g. ``leads_from_electrodes(pECGData)``), time 0 = first stimulus.
    rng : numpy Generator (needed with ``augment``)

    Returns
    -------
    X : ndarray, shape (n, 12, 500), float32 - model inputs
    offset : ndarray of int, shape (n,) - window start minus the simulation's time 0 (ms): targets (activation
        times, Vm) are moved by it (activation in the window = activation - offset)
    info : dict of arrays - ``onset_ms`` (detected QRS onset after time 0), ``scale_mv``, ``recorder`` (list of dicts)
    """
    leads = np.asarray(leads, np.float64)
    n = len(leads)
    rng = rng if rng is not None else np.random.default_rng(0)
    pre = int(round(pre_ms))
    T = MB_PRE + 200 + copies * int(bcl_ms[1]) + MB_POST + 200
    X = np.zeros((n, 12, N_TIMES), np.float32)
    offset = np.zeros(n, np.int64)
    onset = np.zeros(n, np.int64)
    scale = np.zeros(n)
    drawn: list = []
    mid = copies // 2
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        m = b - a
        bcl = rng.integers(int(bcl_ms[0]), int(bcl_ms[1]) + 1, size=m) if augment else np.full(m, int(np.mean(bcl_ms)))
        strip, starts = repeat_beats(leads[a:b], bcl, copies, T)  # (m, 12, T), (m, copies)
        if augment:
            from .augment import atrial_waves, recorder_effects

            strip, d_atrial = atrial_waves(strip, starts, rng)
            strip, d = recorder_effects(strip, rng)
            drawn += [{**u, **v} for u, v in zip(d, d_atrial)]
        else:
            drawn += [{}] * m
        f = clean_isoelectric(strip, FS_MODEL, axis=-1)
        idx = starts[:, :, None] + np.arange(-MB_PRE, MB_POST)[None, None, :]  # (m, copies, 700)
        segs = np.take_along_axis(f[:, None, :, :], idx[:, :, None, :], axis=-1)  # (m, copies, 12, 700)
        mb = np.median(segs, axis=1).transpose(0, 2, 1)  # (m, 700, 12)
        on = qrs_onset(mb, MB_PRE - 10, MB_PRE + 200, FS_MODEL) - MB_PRE  # onset after time 0 (ms)
        jit = np.clip(np.round(rng.normal(0, onset_jitter_ms, m)), -10, 10).astype(np.int64) if augment else 0
        s = starts[:, mid] + on - pre + jit
        for i in range(m):
            w, sc = _finish_window(f[i].T, int(s[i]), int(starts[i, mid] + on[i] + (jit[i] if augment else 0)))
            X[a + i], scale[a + i] = w, sc
        offset[a:b] = s - starts[:, mid]
        onset[a:b] = on
    return X, offset, {"onset_ms": onset, "scale_mv": scale, "recorder": drawn}
