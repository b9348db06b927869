"""R-peak detection for records without beat annotations, and its scoring against references.

Detection uses neurokit2's ``"neurokit"`` method of ``ecg_findpeaks`` (steepness of the
band-passed QRS, moving-average thresholds, the most prominent maximum in each QRS region,
minimum 0.3 s between beats; a maintained, published method, preferred to a hand-written
Pan-Tompkins), run on the 0.5-40 Hz band-passed lead. neurokit2 picks the peak of each QRS
region in a Python loop that calls ``scipy.signal.find_peaks`` once per region: that loop was
two thirds of the detector's time and kept the record -> beats path below its 20,000 beats/s
goal. :func:`_neurokit_peaks` therefore runs the same method with the per-region loop
vectorised (all regions in one ``find_peaks`` / ``peak_prominences`` call, regions separated
by a sentinel higher than any sample so that each search stops at its region's edge, as the
slice does in neurokit2). It returns exactly neurokit2's peaks (all 48 MIT-BIH records,
both polarities, are identical; ``tests/test_ecg_pipeline.py`` checks it against the installed
neurokit2) about 9x faster, and the region search, identical for a lead and its inverse, is
done once for both polarities. Other methods call neurokit2 itself.

neurokit2's ``minlenweight`` rule (drop QRS regions shorter than 0.4 x
the mean region length of the whole input) is switched off: it makes detection depend on
how long the input is, so a record read in chunks would not give the same beats as the
whole record; over the 48 MIT-BIH records this costs 0.03 % Se and 0.3 % +P. It works at any sampling rate from 100 Hz up (it is given
the record's own rate), including the 1 kHz PTB 12-lead records where wfdb's XQRS finds
nothing. A fiducial refinement then moves each peak to the largest deflection (in
absolute value) within +-50 ms, so detected and annotated peaks land on the same point.

neurokit2's rule that a peak within 0.3 s of the last kept one is dropped caps the rate it can follow at 200 /min:
a regular tachycardia of 210-300 /min (AV-nodal re-entry, ventricular tachycardia, flutter with 1:1 conduction) came
out as every other beat or a mixture, without a word. :func:`fast_run_beats` gives back a dropped peak that splits
the interval between its two kept neighbours evenly and looks like both of them (see there).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataFormatError

#: Half-width (s) of the window where a detected or annotated peak is moved to the largest |deflection|.
REFINE_S = 0.05
#: Default matching window (s) when scoring detections against reference annotations.
MATCH_S = 0.15
#: neurokit2's minimum delay (s) between kept peaks: the fastest rate it follows is 60 / this (200 /min).
NEUROKIT_MINDELAY_S = 0.3
#: Two detections closer than this (s) after refinement are one beat (the stronger stays; :mod:`cardiacml.ecg.pipeline`
#: merges them, :func:`fast_run_beats` keeps beats this far apart). The detector runs on both
#: polarities, so the R and the S (or T) wave of one complex can both be found; ventricles cannot depolarise twice
#: within their refractory period, and 0.2 s is an R-R of 300 /min, the fastest ventricular rhythm with separate QRS
#: complexes. 0.12 until 0.4.4: on the 48 MIT-BIH records (detected peaks) 0.2 drops 395 of 1,446 false detections on
#: MLII for 6 beats, 1,643 of 3,505 on the other lead at 250 Hz for 12 (the R and S of V1's biphasic QRS).
MIN_BEAT_GAP_S = 0.2
#: :func:`fast_run_beats`: a dropped peak lies within this fraction of the interval around its middle ...
FAST_SPLIT = 0.2
#: ... its peak-to-peak and steepest slope over +-:data:`FAST_HALF_S` are at least this fraction of both neighbours' ...
FAST_SIZE = 0.5
#: ... and its band-passed samples there correlate with each neighbour's at least this much.
FAST_CORR = 0.8
#: Half-width (s) of the QRS window compared.
FAST_HALF_S = 0.05


def require_neurokit():
    """The neurokit2 module, or MissingDependencyError with the pip command."""
    try:
        import neurokit2 as nk
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from ..errors import MissingDependencyError

        raise MissingDependencyError("R-peak and QRS detection need neurokit2: pip install 'cardiacml[ecg]'") from exc
    return nk


def detect_r_peaks(filtered: np.ndarray, fs: float, method: str = "neurokit", both_polarities: bool = True,
                   fast_runs: bool = True, start: bool = True) -> np.ndarray:
    """R-peak sample indices of one band-passed lead.

    Parameters
    ----------
    filtered : ndarray, shape (n,)
        Lead in mV after :func:`cardiacml.ecg.filters.clean_ecg`.
    fs : float
        Sampling rate (Hz).
    method : str
        A neurokit2 ``ecg_findpeaks`` method.
    both_polarities : bool
        Run the detector on the lead and on the inverted lead and keep the union (the caller
        merges coinciding beats after fiducial refinement). neurokit2 takes the signal's maximum
        inside each QRS region, so on leads with mostly negative QRS (or inverted electrodes)
        alone it misses beats: over the 48 MIT-BIH records inverted, Se fell from 99.2 % to
        below 97 %; the union is polarity-invariant and stays local (chunk-invariant).
    fast_runs : bool
        ``"neurokit"`` only: also the peaks its 0.3-s rule dropped inside a regular run faster than 200 /min
        (:func:`fast_run_beats`).
    start : bool
        ``"neurokit"`` only: also the beats it dropped within the first 0.3 s of the input (:func:`first_beats`);
        False for both gives exactly neurokit2's peaks.

    Returns
    -------
    ndarray of int64, sorted, unique.
    """
    x = np.asarray(filtered, np.float64)
    if x.ndim != 1:
        raise DataFormatError(f"detect_r_peaks takes one lead, shape (n,); got shape {x.shape}")
    if not fs >= 100.0:
        raise DataFormatError(f"sampling rate {fs:g} Hz is below 100 Hz; QRS complexes cannot be resolved")
    if not np.all(np.isfinite(x)):
        raise DataFormatError(f"NaN or infinite value at sample {int(np.argmax(~np.isfinite(x)))}; clean or interpolate "
                              "the signal first")
    if len(x) < int(2 * fs) or not np.any(x):
        return np.zeros(0, np.int64)
    if method == "neurokit":
        beg, end = _qrs_regions(x, fs)
        found = []
        for sig in ((x, -x) if both_polarities else (x,)):
            kept, dropped = _neurokit_peaks(sig, beg, end, fs, dropped=True)
            found += [kept, fast_run_beats(sig, kept, dropped, fs) if fast_runs else kept[:0],
                      first_beats(sig, kept, dropped, fs) if start else kept[:0]]
        return np.unique(np.concatenate(found))
    nk = require_neurokit()
    import warnings

    kw = {"minlenweight": 0.0} if method == "neurokit" else {}
    found = []
    for sig in ((x, -x) if both_polarities else (x,)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                info = nk.ecg_findpeaks(sig, sampling_rate=int(round(fs)), method=method, show=False, **kw)
            except (ValueError, IndexError):  # neurokit raises on signals without any QRS-like activity
                continue
        found.append(np.asarray(info.get("ECG_R_Peaks", []), np.float64))
    p = np.concatenate(found) if found else np.zeros(0)
    p = p[np.isfinite(p)].astype(np.int64)
    p = p[(p >= 0) & (p < len(x))]
    return np.unique(p)


def _qrs_regions(x: np.ndarray, fs: float, smoothwindow: float = 0.1, avgwindow: float = 0.75,
                 gradthreshweight: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """QRS regions of neurokit2's ``"neurokit"`` method: where the 0.1 s boxcar of |gradient| exceeds 1.5x its 0.75 s
    boxcar. The same for a lead and its inverse. Returns paired (begin, end) sample indices."""
    from scipy.ndimage import uniform_filter1d

    absgrad = np.abs(np.gradient(x))
    smooth = uniform_filter1d(absgrad, int(np.rint(smoothwindow * fs)), mode="nearest")
    avg = uniform_filter1d(smooth, int(np.rint(avgwindow * fs)), mode="nearest")
    qrs = smooth > gradthreshweight * avg
    beg = np.flatnonzero(~qrs[:-1] & qrs[1:])
    end = np.flatnonzero(qrs[:-1] & ~qrs[1:])
    if beg.size == 0:
        return beg, beg
    end = end[end > beg[0]]
    n = min(beg.size, end.size)
    return beg[:n], end[:n]


def _neurokit_peaks(x: np.ndarray, beg: np.ndarray, end: np.ndarray, fs: float,
                    mindelay: float = NEUROKIT_MINDELAY_S, dropped: bool = False):
    """neurokit2's peak choice, vectorised: the most prominent local maximum of ``x[beg:end]`` in each region (first one
    on ties, none where the region has no interior maximum), then its rule that a peak more than ``mindelay`` s after the
    previous kept peak (the first after sample 0) is kept. ``minlenweight`` is 0 (see :func:`detect_r_peaks`).
    With ``dropped``: (kept, the region peaks that rule dropped), both sorted."""
    none = np.zeros(0, np.int64)
    import warnings

    from scipy.signal import find_peaks, peak_prominences

    lens = end - beg
    ok = lens > 0
    beg, lens = beg[ok], lens[ok]
    if beg.size == 0:
        return (none, none) if dropped else none
    # the regions one after another, each followed by a sentinel above every sample: a local-maximum or prominence
    # search stops at a region's edge exactly as it does on neurokit2's slice of it
    total = int(lens.sum()) + len(lens)
    starts = np.r_[0, np.cumsum(lens + 1)[:-1]]
    src = np.repeat(beg - starts, lens + 1) + np.arange(total)
    sentinel = starts + lens
    src[sentinel] = 0
    y = x[src]
    y[sentinel] = float(np.max(x)) + 1.0
    loc = find_peaks(y)[0]
    is_sentinel = np.zeros(total, bool)
    is_sentinel[sentinel] = True
    loc = loc[~is_sentinel[loc]]
    if loc.size == 0:
        return (none, none) if dropped else none
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some peaks have a prominence of 0": neurokit2 keeps them too
        prom = peak_prominences(y, loc)[0]
    region = np.searchsorted(starts, loc, "right") - 1
    order = np.lexsort((np.arange(len(loc)), -prom, region))
    first = np.r_[True, region[order][1:] != region[order][:-1]]
    candidates = src[loc[order][first]]
    gap = int(np.rint(fs * mindelay))
    kept, out, last = [], [], 0
    for p in candidates.tolist():  # sequential by nature (each test depends on the last kept peak); ~1 ms per record
        if p - last > gap:
            kept.append(p)
            last = p
        else:
            out.append(p)
    kept = np.asarray(kept, np.int64)
    return (kept, np.sort(np.asarray(out, np.int64))) if dropped else kept


def first_beats(x: np.ndarray, kept: np.ndarray, dropped: np.ndarray, fs: float, *,
                mindelay: float = NEUROKIT_MINDELAY_S, size: float = FAST_SIZE, half_s: float = FAST_HALF_S) -> np.ndarray:
    """The peaks neurokit2 dropped within the first ``mindelay`` s of its input only because it measures the first
    peak's delay from sample 0 (its list of kept peaks starts with a 0): a beat whose R wave lies 0.1-0.3 s into a
    recording was lost without a word (38 such beats in 175 10-s strips of 35 MIT-BIH records, every one of them),
    where one in the first 0.1 s is found and skipped as cut by the start. Given back, latest first, when at least
    ``mindelay`` before the earliest peak kept (neurokit2's own rule between kept peaks) and, as in
    :func:`fast_run_beats`, its peak-to-peak and steepest slope over +-``half_s`` are at least ``size`` x the smaller
    of the first two kept peaks' (a T wave or P wave before the first beat is smaller and slower).

    Parameters
    ----------
    x : ndarray, shape (n,)
        The band-passed lead (the polarity the peaks were found on).
    kept, dropped : ndarray of int
        neurokit2's kept peaks and those its minimum delay dropped (sample indices).
    fs : float
        Sampling rate (Hz).

    Returns
    -------
    ndarray of int64
        The dropped peaks given back (sorted; a subset of ``dropped``).
    """
    gap = int(np.rint(fs * mindelay))
    kept, dropped = np.sort(np.asarray(kept, np.int64)), np.asarray(dropped, np.int64)
    cand = np.sort(dropped[dropped <= gap])
    if len(kept) == 0 or len(cand) == 0:
        return np.zeros(0, np.int64)
    ptp, slope = _size(_around(x, np.r_[cand, kept[:2]], fs, half_s))
    n = len(cand)
    big = (ptp[:n] >= size * ptp[n:].min()) & (slope[:n] >= size * slope[n:].min())
    first, out = int(kept[0]), []
    for p in cand[big][::-1].tolist():
        if first - p > gap:
            out.append(p)
            first = p
    return np.asarray(sorted(out), np.int64)


def fast_run_beats(x: np.ndarray, kept: np.ndarray, dropped: np.ndarray, fs: float, *, split: float = FAST_SPLIT,
                   size: float = FAST_SIZE, corr: float = FAST_CORR, half_s: float = FAST_HALF_S) -> np.ndarray:
    """Beats of a regular run faster than 200 /min among the peaks neurokit2's 0.3-s rule dropped.

    In such a run the rule keeps every other QRS (or a mixture) and drops the ones in between; a dropped peak is given
    back when it lies in the middle of the interval between the two kept peaks around it (within ``split`` x the
    interval of its middle: the rhythm is regular), at least :data:`MIN_BEAT_GAP_S` from each, and looks like both of
    them: over +-``half_s`` its peak-to-peak and its steepest slope are at least ``size`` x the smaller of theirs and
    its samples correlate with each one's at ``corr`` or more. A T wave is smaller, slower and of another shape; a
    P wave or a flutter wave in 2:1 conduction smaller and of another shape; an early ectopic beat is followed by a
    pause, not by an interval like the one before (those stay dropped: neurokit2's behaviour).

    The four values were set once, before measuring, and not tuned (twenty-second session, benchmarks/RESULTS.md):
    over the 48 MIT-BIH records (MLII, ``benchmarks/bench_rpeaks.py``) missed beats 196 -> 191 (203, 205: runs of
    ventricular tachycardia), false detections 639 -> 641; on runs made of real beats laid end to end at 210-270 /min
    (9 records, narrow and bundle-branch-block QRS) 99-100 % of the beats found, against about half before, and at
    110-170 /min nothing added.

    Parameters
    ----------
    x : ndarray, shape (n,)
        The band-passed lead (the polarity the peaks were found on).
    kept, dropped : ndarray of int
        neurokit2's kept peaks and those its minimum delay dropped (sorted sample indices into ``x``).
    fs : float
        Sampling rate (Hz).

    Returns
    -------
    ndarray of int64
        The dropped peaks given back (sorted; a subset of ``dropped``).
    """
    kept, dropped = np.asarray(kept, np.int64), np.asarray(dropped, np.int64)
    if len(kept) < 2 or len(dropped) == 0:
        return np.zeros(0, np.int64)
    j = np.searchsorted(kept, dropped) - 1
    inside = (j >= 0) & (j + 1 < len(kept))
    d, j = dropped[inside], j[inside]
    a, b = kept[j], kept[j + 1]
    gap = MIN_BEAT_GAP_S * fs
    even = (d - a >= gap) & (b - d >= gap) & (np.abs((d - a) / np.maximum(b - a, 1) - 0.5) <= split / 2)
    d, a, b = d[even], a[even], b[even]
    if len(d) == 0:
        return d
    wd, wa, wb = (_around(x, q, fs, half_s) for q in (d, a, b))
    (pd, sd), (pa, sa), (pb, sb) = _size(wd), _size(wa), _size(wb)

    def r(u, v):
        u, v = u - u.mean(1, keepdims=True), v - v.mean(1, keepdims=True)
        return (u * v).sum(1) / np.maximum(np.sqrt((u * u).sum(1) * (v * v).sum(1)), 1e-12)

    alike = ((pd >= size * np.minimum(pa, pb)) & (sd >= size * np.minimum(sa, sb))
             & (r(wd, wa) >= corr) & (r(wd, wb) >= corr))
    return d[alike]


def _around(x: np.ndarray, q: np.ndarray, fs: float, half_s: float) -> np.ndarray:
    """The samples of ``x`` within +-``half_s`` of each index ``q`` (clipped to ``x``), (len(q), 2h + 1)."""
    h = max(1, int(round(half_s * fs)))
    return x[np.clip(np.asarray(q)[:, None] + np.arange(-h, h + 1)[None, :], 0, len(x) - 1)]


def _size(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(peak-to-peak, steepest slope) of each row of :func:`_around`'s windows: how large and how fast a deflection
    is, what :func:`fast_run_beats` and :func:`first_beats` compare a dropped peak's with the kept ones' by."""
    return w.max(1) - w.min(1), np.abs(np.diff(w, axis=1)).max(1)


def refine_peaks(filtered: np.ndarray, peaks: np.ndarray, fs: float, half_s: float = REFINE_S,
                 offset: int = 0) -> np.ndarray:
    """Move each peak to the sample of largest |amplitude| within +-``half_s`` (vectorised).

    ``peaks`` are indices into the full record; ``filtered`` holds the record's samples
    from ``offset`` on (a chunk). Returns indices into the full record, same order and length.
    """
    peaks = np.asarray(peaks, np.int64)
    if peaks.size == 0:
        return peaks
    h = max(1, int(round(half_s * fs)))
    local = peaks - offset
    idx = np.clip(local[:, None] + np.arange(-h, h + 1)[None, :], 0, len(filtered) - 1)
    best = np.abs(filtered[idx]).argmax(1)
    return idx[np.arange(len(idx)), best] + offset


def match_peaks(reference: np.ndarray, detected: np.ndarray, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detections to reference beats within ``tolerance`` samples (greedy in time).

    Returns
    -------
    ref_idx, det_idx : ndarray of int
        Pairs of matched indices (into ``reference`` and ``detected``).
    """
    reference = np.asarray(reference, np.int64)
    detected = np.asarray(detected, np.int64)
    if detected.size > 1 and np.any(np.diff(detected) < 0):
        raise ValueError("match_peaks: detected must be sorted (np.sort it first)")
    if reference.size == 0 or detected.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    j = np.searchsorted(detected, reference)
    cand = np.stack([np.clip(j - 1, 0, len(detected) - 1), np.clip(j, 0, len(detected) - 1)], 1)
    dist = np.abs(detected[cand] - reference[:, None])
    pick = cand[np.arange(len(reference)), dist.argmin(1)]
    ok = dist.min(1) <= tolerance
    ri, di = np.flatnonzero(ok), pick[ok]
    if len(ri) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # keep each detection once (the closest reference wins)
    order = np.lexsort((np.abs(detected[di] - reference[ri]), di))
    ri, di = ri[order], di[order]
    first = np.r_[True, di[1:] != di[:-1]]
    ri, di = ri[first], di[first]
    o = np.argsort(ri)
    return ri[o], di[o]


def score_detector(reference: np.ndarray, detected: np.ndarray, fs: float, window_s: float = MATCH_S) -> dict:
    """Sensitivity and positive predictivity of ``detected`` against ``reference`` beats (EC57-style counts); either
    may be in any order."""
    reference, detected = np.sort(np.asarray(reference, np.int64)), np.sort(np.asarray(detected, np.int64))
    ri, _ = match_peaks(reference, detected, int(round(window_s * fs)))
    tp = len(ri)
    return {"tp": tp, "fn": int(len(reference) - tp), "fp": int(len(detected) - tp),
            "se": tp / max(1, len(reference)), "ppv": tp / max(1, len(detected))}


def too_short(n: int, fs: float) -> str:
    """Why a recording of ``n`` samples is too short. The length is rounded down: 9.997 s is not "10.0 s long"."""
    return (f"recording is {math.floor(n / fs * 10) / 10:.1f} s long; at least 10 s are needed ({n} samples at "
            f"{fs:g} Hz, {math.ceil(10 * fs)} needed)")


def check_signal(x: np.ndarray, fs: float, where: str) -> None:
    """Refuse signals that cannot hold beats: NaN, too short, too low a rate, flat."""
    if fs < 100.0:
        raise DataFormatError(f"{where}: sampling rate {fs:g} Hz is below 100 Hz; QRS complexes cannot be resolved")
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataFormatError(f"{where}: NaN or infinite value at sample {int(np.argmax(bad))} ({int(bad.sum())} in all); "
                              "clean or interpolate the signal first")
    if len(x) < 10 * fs:
        raise DataFormatError(f"{where}: {too_short(len(x), fs)}")
    if float(np.ptp(x)) < 1e-3:
        raise DataFormatError(f"{where}: the lead is a flat line (peak-to-peak {float(np.ptp(x)):.2g} mV); no beats to read")
