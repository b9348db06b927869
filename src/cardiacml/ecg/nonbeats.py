"""Detections that are not beats: what the R-peak detector (:mod:`cardiacml.ecg.detect`) finds that the beat pipeline
drops, each for a reason it counts in ``skipped``.

- :func:`extra_detections`: a small deflection inside a normal R-R interval (a T wave, an artifact);
- :func:`tiny_detections`: a deflection under a fifth of the QRS of each of its 4 neighbours on either side (noise);
- :func:`p_wave_detections` (:func:`p_wave_candidates`, :func:`p_wave_span`, :func:`p_wave_shapes`): a P wave with no
  QRS after it (2:1 AV block, a blocked atrial beat);
- :func:`flat_runs`, :func:`near_flat_run`: a lead-off / saturated stretch and the steps at its edges.
- :func:`extreme_runs` (:data:`CLIP_FRACTION`, :data:`CLIP_MIN_RUNS`): flat tops and bottoms at a lead's extremes, a
  clipped recording (said, nothing dropped).

The rules see QRS sizes (peak-to-peak, :func:`steepest_slope`) and shapes, never a beat model: they hold for any
recorder. Split from :mod:`cardiacml.ecg.detect` in 0.4.17 (that module holds detection and scoring).
"""

from __future__ import annotations

import numpy as np

#: A detection whose QRS peak-to-peak is under this fraction of its neighbours' median can be a T wave or an artifact.
EXTRA_AMPLITUDE = 0.4
#: ... when the interval its neighbours span is within this relative distance of the local R-R interval.
EXTRA_INTERVAL_TOL = 0.2
#: ... or, for the first and last detection, when its one interval is under this fraction of the local R-R interval.
EXTRA_EDGE_FRACTION = 0.7
#: Neighbours on each side whose QRS amplitudes and R-R intervals are the local reference.
EXTRA_NEIGHBOURS = 8
#: :func:`tiny_detections`: a detection whose QRS peak-to-peak is under this fraction of every one of ...
TINY_AMPLITUDE = 0.2
#: ... this many neighbours on each side is no beat, whatever the intervals.
TINY_NEIGHBOURS = 4


def extra_detections(peaks: np.ndarray, qrs_ptp: np.ndarray, fs: float, *, amplitude: float = EXTRA_AMPLITUDE,
                     tol: float = EXTRA_INTERVAL_TOL, edge_fraction: float = EXTRA_EDGE_FRACTION,
                     k: int = EXTRA_NEIGHBOURS) -> np.ndarray:
    """Detections that are not beats: a small deflection that splits an otherwise normal R-R interval.

    A detection is extra when its QRS peak-to-peak is under ``amplitude`` x the median of its ``k`` neighbours' on
    each side, and the beats before and after it are one normal R-R interval apart (within ``tol`` of the median of
    the ``k`` intervals on each side that do not touch it): it added a beat where the rhythm had none. The first and
    last detection have one neighbour: they are extra when small and closer to it than ``edge_fraction`` of the local
    R-R. A T wave or a motion artifact passes both tests; a premature beat does not pass the second (it is followed by
    a compensatory pause, or starts a faster rhythm) and an interpolated PVC, the ectopic beat that does split a
    normal interval, is not small. This is the T-wave test of Pan & Tompkins (1985) made rate-independent: neurokit2's
    own correction (``signal_fixpeaks``) works on the R-R series alone, so it also moves or removes the ectopic beats
    a beat classifier must keep.

    Chosen on the 48 MIT-BIH records with cardiacml's detected peaks (0.2-s merging of
    :data:`cardiacml.ecg.pipeline.MIN_BEAT_GAP_S`; ``benchmarks/bench_rpeaks.py`` prints the detection with and without
    this step): amplitude 0.4 drops 140 of 1,166 false detections on MLII at 360 Hz for 4 real beats, 1,081 of 2,119
    at 128 Hz with noise for none, 348 of 2,139 on the other lead at 250 Hz for 1; 0.3 drops 114 / 968 / 277 for
    2 / 0 / 1, 0.5 195 / 1,152 / 412 for 12 / 5 / 10.

    Parameters
    ----------
    peaks : ndarray of int, shape (n,)
        Detected R fiducials (samples), sorted.
    qrs_ptp : ndarray, shape (n,)
        QRS peak-to-peak of each detection (any unit).
    fs : float
        Sampling rate (Hz).

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the extra detections.
    """
    peaks = np.asarray(peaks, np.int64)
    qrs = np.asarray(qrs_ptp, np.float64)
    n = len(peaks)
    extra = np.zeros(n, bool)
    if n < 4:
        return extra
    from numpy.lib.stride_tricks import sliding_window_view

    # the bound, vectorised: the median of the k neighbours on each side (the detection itself left out); the first and
    # last k detections have fewer neighbours and are checked one by one with the same rule
    bound = np.full(n, np.inf)
    if n > 2 * k:
        win = sliding_window_view(qrs, 2 * k + 1)
        bound[k:n - k] = amplitude * np.median(np.delete(win, k, axis=1), axis=1)
    t = peaks / float(fs)
    rr = np.diff(t)
    edge = np.r_[np.arange(min(k, n)), np.arange(max(k, n - k), n)]
    for i in np.union1d(np.flatnonzero(qrs < bound), edge):
        own = np.r_[qrs[max(0, i - k):i], qrs[i + 1:i + k + 1]]
        if qrs[i] >= amplitude * np.median(own):
            continue
        around = np.r_[rr[max(0, i - 1 - k):max(0, i - 1)], rr[i + 1:i + 1 + k]]
        if len(around) == 0:
            continue
        normal = float(np.median(around))
        if 0 < i < n - 1:
            extra[i] = abs((t[i + 1] - t[i - 1]) / normal - 1.0) < tol
        else:
            extra[i] = (t[1] - t[0] if i == 0 else t[-1] - t[-2]) < edge_fraction * normal
    return extra


def tiny_detections(qrs_ptp: np.ndarray, *, amplitude: float = TINY_AMPLITUDE, k: int = TINY_NEIGHBOURS) -> np.ndarray:
    """Detections that are not beats: a deflection under ``amplitude`` x the QRS peak-to-peak of each of its ``k``
    neighbours on both sides, wherever it lies.

    :func:`extra_detections` judges a small detection by the rhythm (does it split a normal interval?), so noise in a
    pause escapes it: in MIT-BIH 232 (sinus pauses of 1.5-6 s) 141 of its 143 false detections were under 0.4 x their
    neighbours' median QRS, muscle noise inside the pauses, where no interval is normal; the beat model called many V.
    Against the *smallest* of its 2k neighbours, not their median, a real beat is not taken: in ventricular bigeminy
    a small conducted beat has normal beats of its own size a beat or two away, and where the amplitude changes
    (a lead moved) the neighbours on one side are small too. A detection with fewer than ``k`` neighbours on a side
    is left alone.

    Chosen on the 48 MIT-BIH records with cardiacml's detected peaks on MLII (twenty-second session,
    ``benchmarks/RESULTS.md``), among 0.15 / 0.2 / 0.25 / 0.3 / 0.4 x the smallest of 4 or 8 neighbours on each side:
    0.2 of 4 drops 135 of the 278 false detections under 0.4 x their neighbours' median for 2 real beats (an L beat of
    111 in noise, a PVC of 208 at 0.03 x its neighbours); with the other steps FP 641 -> 517, FN 191 -> 193. On DS2
    under the recorder conditions of ``bench_beats_recorders.py`` (read after): unmatched detections 286 -> 194 (360 Hz),
    529 -> 469 (128 Hz with noise), 304 -> 211 (500 Hz inverted), 970 -> 888 (V1 at 250 Hz), missed beats +0 to +2.

    Parameters
    ----------
    qrs_ptp : ndarray, shape (n,)
        QRS peak-to-peak of each detection, in beat order (any unit).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    q = np.asarray(qrs_ptp, np.float64)
    n = len(q)
    if n < 2 * k + 1:
        return np.zeros(n, bool)
    from numpy.lib.stride_tricks import sliding_window_view

    pad = np.r_[np.full(k, np.inf), q, np.full(k, np.inf)]
    before = sliding_window_view(pad[:-1], k)[:n].min(1)  # q[i - k:i]
    after = sliding_window_view(pad[k + 1:], k)[:n].min(1)  # q[i + 1:i + 1 + k]
    inner = (np.arange(n) >= k) & (np.arange(n) < n - k)
    return inner & (q < amplitude * np.minimum(before, after))


#: A blocked P wave's QRS peak-to-peak (+-60 ms) is under this fraction of the 75th percentile of its neighbours'.
P_WAVE_AMPLITUDE = 0.3
#: ... and its steepest first difference (+-60 ms) under this fraction of the 75th percentile of its neighbours'.
P_WAVE_SLOPE = 0.25
#: ... and its +-:data:`P_WAVE_HALF_S` window correlates at least this well with the P region of its neighbours
P_WAVE_CORR = 0.8
#: ... at a peak-to-peak within this factor of that part of the P region's.
P_WAVE_RATIO = (0.5, 2.0)
#: The P region before a beat's R peak, (from, to) seconds before it.
P_WAVE_REGION_S = (0.35, 0.03)
#: Half-width of the window of a detection compared with the P region (s).
P_WAVE_HALF_S = 0.08


#: A run of exactly equal samples at least this long (s) is a lead off or a saturated amplifier: no MIT-BIH or real
#: 12-lead recording here holds one over 0.73 s (116's rails); lead-off stretches last seconds.
FLAT_RUN_S = 1.0
#: Detections within this (s) of such a run are its edge (the band-pass rings at the step), not beats.
FLAT_REACH_S = 0.25


def flat_runs(raw: np.ndarray, fs: float, *, run_s: float = FLAT_RUN_S) -> tuple[np.ndarray, np.ndarray]:
    """Runs of exactly equal samples lasting ``run_s`` or more (a lead off, a saturated amplifier): (start, end)
    index arrays, ``raw[start:end + 1]`` equal."""
    x = np.asarray(raw)
    if len(x) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.flatnonzero(x[1:] != x[:-1])  # the last sample of each run of equal values
    last = np.r_[change, len(x) - 1]
    first = np.r_[0, change + 1]
    long = last - first >= run_s * fs
    return first[long], last[long]


def near_flat_run(raw: np.ndarray, loc: np.ndarray, fs: float, *, run_s: float = FLAT_RUN_S,
                  reach_s: float = FLAT_REACH_S, runs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Which detections lie inside or within ``reach_s`` of a run of exactly equal raw samples of ``run_s`` or more.

    A recorder writes zeros or a constant while a lead is off, or its rail value while saturated; the step into or out
    of such a stretch looks like a QRS to the detector (and to a beat model: a confident V).

    Parameters
    ----------
    raw : ndarray, shape (n,)
        The lead as read (before filtering), any units.
    loc : ndarray of int, shape (m,)
        Detections, indices into ``raw``.
    fs : float
        Sampling rate (Hz).
    runs : (ndarray, ndarray), optional
        :func:`flat_runs` of ``raw`` when the caller has them already (``run_s`` is then theirs).

    Returns
    -------
    ndarray of bool, shape (m,)
    """
    loc = np.asarray(loc, np.int64)
    out = np.zeros(len(loc), bool)
    if len(loc) == 0:
        return out
    start, end = flat_runs(raw, fs, run_s=run_s) if runs is None else runs
    if len(start) == 0:
        return out
    reach = reach_s * fs
    i = np.searchsorted(start, loc, "right") - 1  # the last run starting at or before the detection
    inside_or_after = (i >= 0) & (loc <= end[np.clip(i, 0, None)] + reach)
    j = np.clip(i + 1, 0, len(start) - 1)  # the next run
    before = (i + 1 < len(start)) & (loc >= start[j] - reach)
    return inside_or_after | before


#: A lead with at least this fraction of its samples in flat runs at its own extreme values (shorter than
#: :data:`FLAT_RUN_S`) is clipped: the waves reaching the recorder's range are cut flat. The 48 MIT-BIH records hold
#: up to 0.14 % (116, its rails; both leads), MIT-BIH excerpts quantised to 8 bits over +-5 mV (1000 Hz) up to
#: 0.07 %, the 19 real 12-lead ECGs of 10 s up to 0.36 % (E07505's aVR: 5 runs on a broad wave); clipped at 60 % of
#: the R wave, or at +-1 mV where waves pass it, 1.9-37 %.
CLIP_FRACTION = 0.005
#: ... in at least this many runs (a clipped wave each; a broad wave's top holds a few).
CLIP_MIN_RUNS = 8


def extreme_runs(raw: np.ndarray, fs: float, *, run_s: float = FLAT_RUN_S) -> tuple[float, int, int, float, int, int]:
    """The lowest and highest value of ``raw``, how many samples equal each in runs of 2 or more equal samples
    shorter than ``run_s`` (a flat top or bottom; a longer run is a lead off, :func:`flat_runs`) and how many such
    runs: ``(low, n_low, runs_low, high, n_high, runs_high)``. What :func:`cardiacml.ecg.pipeline.scan_record` sums
    over its chunks to tell a clipped lead (:data:`CLIP_FRACTION`, :data:`CLIP_MIN_RUNS`)."""
    x = np.asarray(raw)
    if len(x) == 0:
        return np.inf, 0, 0, -np.inf, 0, 0
    lo, hi = float(x.min()), float(x.max())
    out = []
    for v in (lo, hi):  # the runs of samples equal to one extreme: few, so found among those samples only
        at = np.flatnonzero(x == v)
        cut = np.flatnonzero(np.diff(at) != 1)
        length = np.r_[cut, len(at) - 1] - np.r_[0, cut + 1] + 1 if len(at) else np.zeros(0, np.int64)
        top = (length >= 2) & (length < run_s * fs)
        out += [v, int(length[top].sum()), int(top.sum())]
    return tuple(out)


def steepest_slope(f: np.ndarray, loc: np.ndarray, fs: float) -> np.ndarray:
    """Largest absolute first difference of ``f`` within +-60 ms of each index ``loc`` (clipped to ``f``)."""
    loc = np.asarray(loc, np.int64)
    if len(loc) == 0 or len(f) < 2:
        return np.zeros(len(loc))
    qh = max(1, int(round(0.06 * fs)))
    idx = np.clip(loc[:, None] + np.arange(-qh, qh)[None, :], 0, len(f) - 2)
    return np.abs(f[idx + 1] - f[idx]).max(1)


def p_wave_candidates(qrs_ptp: np.ndarray, slope: np.ndarray, k: int = EXTRA_NEIGHBOURS) -> np.ndarray:
    """Detections small and flat enough to be a P wave (tests 1 and 2 of :func:`p_wave_detections`)."""
    from numpy.lib.stride_tricks import sliding_window_view

    qrs, slope = np.asarray(qrs_ptp, np.float64), np.asarray(slope, np.float64)
    if len(qrs) < 4:
        return np.zeros(len(qrs), bool)

    def ref(v):  # 75th percentile of the k neighbours on each side (fewer at the ends), the detection left out
        n = len(v)
        out = np.empty(n)
        if n > 2 * k:
            out[k:n - k] = np.percentile(np.delete(sliding_window_view(v, 2 * k + 1), k, axis=1), 75, axis=1)
        for i in np.r_[np.arange(min(k, n)), np.arange(max(k, n - k), n)]:  # np.nanpercentile loops row by row
            out[i] = np.percentile(np.r_[v[max(0, i - k):i], v[i + 1:i + k + 1]], 75)
        return out

    return (qrs < P_WAVE_AMPLITUDE * ref(qrs)) & (slope < P_WAVE_SLOPE * ref(slope))


def p_wave_span(peaks: np.ndarray, cand: np.ndarray, which: np.ndarray, fs: float,
                k: int = EXTRA_NEIGHBOURS) -> tuple[int, int]:
    """Samples [lo, hi) of the signal :func:`p_wave_shapes` reads to judge the candidates ``which``."""
    peaks = np.asarray(peaks, np.int64)
    big = np.flatnonzero(~cand)
    a = int(round(P_WAVE_REGION_S[0] * fs))
    h = max(2, int(round(P_WAVE_HALF_S * fs)))
    j0 = np.searchsorted(big, which.min())
    j1 = np.searchsorted(big, which.max())
    first = peaks[big[max(0, j0 - k)]] if len(big) else peaks[which.min()]
    last = peaks[big[min(len(big) - 1, j1 + k - 1)]] if len(big) else peaks[which.max()]
    return int(min(first, peaks[which.min()]) - a - h), int(max(last, peaks[which.max()]) + h + 1)


def p_wave_shapes(f: np.ndarray, peaks: np.ndarray, cand: np.ndarray, fs: float, *, which=None, offset: int = 0,
                  k: int = EXTRA_NEIGHBOURS) -> np.ndarray:
    """Test 3 of :func:`p_wave_detections` for the candidates ``which`` (default: all of ``cand``): True where the
    detection's window matches the median P region of its ``k`` not-candidate neighbours on each side. ``f`` holds
    the band-passed lead from sample ``offset`` on; it must cover :func:`p_wave_span`."""
    from numpy.lib.stride_tricks import sliding_window_view

    loc = np.asarray(peaks, np.int64) - int(offset)
    out = np.zeros(len(loc), bool)
    which = np.flatnonzero(cand) if which is None else np.asarray(which, np.int64)
    f = np.asarray(f, np.float64)
    a, b = int(round(P_WAVE_REGION_S[0] * fs)), int(round(P_WAVE_REGION_S[1] * fs))
    h = max(2, int(round(P_WAVE_HALF_S * fs)))
    big = np.flatnonzero(~cand)
    step = max(1, int(round(fs / 250.0)))
    for i in which:
        if loc[i] - h < 0 or loc[i] + h > len(f):
            continue
        j = np.searchsorted(big, i)
        nb = big[max(0, j - k):j + k]
        nb = nb[(loc[nb] - a >= 0) & (loc[nb] - b <= len(f))]
        if len(nb) < 3:
            continue
        tmpl = np.median(f[loc[nb][:, None] + np.arange(-a, -b)[None, :]], axis=0)
        w = f[loc[i] - h:loc[i] + h]
        segs = sliding_window_view(tmpl, len(w))[::step]
        w0 = w - w.mean()
        s0 = segs - segs.mean(1, keepdims=True)
        den = np.sqrt((w0 ** 2).sum() * (s0 ** 2).sum(1))
        corr = np.where(den > 0, s0 @ w0 / np.where(den > 0, den, 1.0), -1.0)
        best = int(np.argmax(corr))
        ratio = np.ptp(w) / max(float(np.ptp(segs[best])), 1e-12)
        out[i] = corr[best] >= P_WAVE_CORR and P_WAVE_RATIO[0] < ratio < P_WAVE_RATIO[1]
    return out


def p_wave_detections(f: np.ndarray, peaks: np.ndarray, qrs_ptp: np.ndarray, fs: float, *, k: int = EXTRA_NEIGHBOURS,
                      offset: int = 0) -> np.ndarray:
    """Detections that are P waves not followed by a QRS (2:1 AV block, blocked atrial premature beats).

    In 2:1 AV block every other P wave is not conducted: a large P wave then stands alone in a long R-R interval and
    the QRS detector takes it for a beat (MIT-BIH 231: 388 such detections on MLII, one for every conducted beat in
    its 2:1 stretches). :func:`extra_detections` cannot see them: every interval is split, so the split interval is
    the local one. A detection is a P wave here when, against its ``k`` neighbours on each side, (1) its QRS
    peak-to-peak is under :data:`P_WAVE_AMPLITUDE` and (2) its steepest slope under :data:`P_WAVE_SLOPE` of the
    neighbours' 75th percentile (the percentile, not the median: in 2:1 block half the neighbours are P waves), and
    (3) its window of +-:data:`P_WAVE_HALF_S` matches, somewhere, the median P region (:data:`P_WAVE_REGION_S` before
    the R peak) of the neighbours that are not small and flat: correlation >= :data:`P_WAVE_CORR`, peak-to-peak
    within :data:`P_WAVE_RATIO` of the matching part. It is the same wave as the P wave before each conducted beat.
    A small beat (a low-amplitude PVC, a beat on a lead where the QRS is small) fails (3): its shape is not the P
    wave's. The thresholds were set once from the physiology (a P wave is some 0.1-0.25 of the QRS, with a tenth of
    its slope), not tuned; ``benchmarks/bench_rpeaks.py`` prints the effect.

    Parameters
    ----------
    f : ndarray, shape (N,)
        The band-passed lead (:func:`cardiacml.ecg.filters.clean_ecg`, mV) around the peaks.
    peaks : ndarray of int, shape (n,)
        Detected R fiducials, sorted, merged (no two closer than 0.2 s); indices into ``f`` + ``offset``.
    qrs_ptp : ndarray, shape (n,)
        QRS peak-to-peak of each detection (+-60 ms, mV).
    fs : float
        Sampling rate (Hz).
    k : int
        Neighbours on each side.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the detections that are P waves.
    """
    loc = np.asarray(peaks, np.int64) - int(offset)
    out = np.zeros(len(loc), bool)
    if len(loc) < 4:
        return out
    f = np.asarray(f, np.float64)
    cand = p_wave_candidates(qrs_ptp, steepest_slope(f, loc, fs), k)
    if not cand.any():
        return out
    return p_wave_shapes(f, peaks, cand, fs, offset=offset, k=k)
