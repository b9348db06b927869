"""Signal quality before classification: is there a plausible ECG around the detected beats?

Criterion (one published rule, applied per 10 s window, as its authors did): Orphanidou C. et al.,
"Signal-quality indices for the electrocardiogram and photoplethysmogram: derivation and
applications to wireless monitoring", IEEE J Biomed Health Inform 19(3):832-838, 2015. A window is
acceptable when

1. the heart rate from its R peaks is physiological: 40-180 bpm (here: or 20-300 bpm with beats as alike as a
   clean ECG's, a median template correlation of 0.9 or more: :data:`CLEAR_TEMPLATE_CORR`);
2. no gap between consecutive R peaks exceeds 3 s;
3. the beats look alike: every beat (a segment of one median RR interval centred on its R peak)
   is correlated with the window's average beat (template), and the correlation is >= 0.66.
   Orphanidou average the correlations; the *median* is used here, so that a window where a
   minority of beats are ectopic (another shape: the classes the model is for) stays acceptable
   (MIT-BIH 203, multiform PVCs: 16 % of beats flagged with the median, 39 % with the mean).

Orphanidou's fourth rule (longest / shortest RR < 2.2) is left out on purpose: it rejects windows
with ectopic beats and compensatory pauses, which are exactly what a beat classifier is for.
neurokit2's ``ecg_quality(method="averageQRS")`` computes the same template correlation but gives
no threshold; this module keeps Orphanidou's.

Detectors find "beats" in anything: Gaussian noise gives tens of detections a minute whose segments
correlate with their average at about 1/sqrt(n) ~ 0.1-0.3, far below 0.66; clean MIT-BIH windows
score 0.9 and more. Band-passed (0.5-40 Hz) samples are used, so baseline wander does not lower
the score of a clean ECG.
"""

from __future__ import annotations

import numpy as np

#: Window length (s) over which the rule is applied.
WINDOW_S = 10.0
#: Heart-rate range (bpm) of an acceptable window.
HR_RANGE_BPM = (40.0, 180.0)
#: The rates a heart can beat at (an escape rhythm of 20 /min, a tachycardia of 300 /min): a recording none of whose
#: windows passes at :data:`HR_RANGE_BPM` but some pass at these is a clean brady- or tachycardia, not noise.
WIDE_HR_RANGE_BPM = (20.0, 300.0)
#: A window whose heart rate is outside :data:`HR_RANGE_BPM` but within :data:`WIDE_HR_RANGE_BPM` is acceptable when its
#: beats' median correlation with their template reaches this: clean ECG windows score 0.9 and more, noise 0.1-0.3. The
#: rate rule is there to catch noise; beats this alike are a heart beating slowly or fast (MIT-BIH, reference R peaks:
#: 80 of 8,688 windows failed the rate rule alone, 231's 2:1 block at 35-37 /min, 232's pauses, 201 and 207, all of
#: them at 0.93-0.995, and were greyed as "low quality" on the page).
CLEAR_TEMPLATE_CORR = 0.9
#: Longest acceptable RR gap (s).
MAX_RR_S = 3.0
#: Lowest acceptable mean correlation of beats with their window's template.
MIN_TEMPLATE_CORR = 0.66

CRITERION = ("Orphanidou et al. 2015 (IEEE JBHI 19:832) per 10 s window: heart rate 40-180 bpm (20-300 bpm when "
             "the beats' median template correlation is 0.9 or more), no RR gap over 3 s, "
             "median correlation of beats with the window's average beat >= 0.66 (the RR-ratio rule is left out: it "
             "rejects ectopic beats)")


def window_quality(x: np.ndarray, fs: float, peaks: np.ndarray) -> tuple[bool, float, str]:
    """Orphanidou's rule on one window.

    Parameters
    ----------
    x : ndarray, shape (n,), mV
        Band-passed samples of the window.
    fs : float
        Sampling rate (Hz).
    peaks : ndarray of int
        R-peak sample indices within ``x``.

    Returns
    -------
    (acceptable, mean template correlation (NaN if not computed), reason when not acceptable)
    """
    peaks = np.asarray(peaks, np.int64)
    if len(peaks) < 3:
        return False, float("nan"), "fewer than 3 beats"
    rr = np.diff(peaks) / fs
    hr = _rate_bpm(len(peaks), int(peaks[-1] - peaks[0]), fs)
    usual = HR_RANGE_BPM[0] <= hr <= HR_RANGE_BPM[1]
    if not (usual or WIDE_HR_RANGE_BPM[0] <= hr <= WIDE_HR_RANGE_BPM[1]):
        return False, float("nan"), f"heart rate {hr:.0f} bpm"
    if rr.max() > MAX_RR_S:
        return False, float("nan"), f"RR gap {rr.max():.1f} s"
    half = max(1, int(round(np.median(rr) * fs / 2)))
    keep = peaks[(peaks - half >= 0) & (peaks + half < len(x))]
    if len(keep) < 2:  # too short to cut whole beats: the rate rules above decide
        return (True, float("nan"), "") if usual else (False, float("nan"), f"heart rate {hr:.0f} bpm")
    seg = np.asarray(x, np.float64)[keep[:, None] + np.arange(-half, half)[None, :]]
    tmpl = seg.mean(0)
    s = seg - seg.mean(1, keepdims=True)
    t = tmpl - tmpl.mean()
    den = np.sqrt((s ** 2).sum(1) * (t ** 2).sum())
    corr = np.where(den > 0, (s @ t) / np.where(den > 0, den, 1.0), 0.0)
    c = float(np.median(corr))
    if not usual:  # outside 40-180 /min: only beats as alike as a clean ECG's
        return c >= CLEAR_TEMPLATE_CORR, c, "" if c >= CLEAR_TEMPLATE_CORR else f"heart rate {hr:.0f} bpm"
    return c >= MIN_TEMPLATE_CORR, c, "" if c >= MIN_TEMPLATE_CORR else f"template correlation {c:.2f}"


def _rate_bpm(n_peaks, span, fs: float):
    """Heart rate (bpm) of ``n_peaks`` R peaks spanning ``span`` samples: 60 over their mean R-R interval, which is
    ``span / (n_peaks - 1)`` samples. From the integer span, in one expression that :func:`window_quality` and
    :func:`_windows_ok` (arrays) both evaluate, so their verdicts agree at a range's very edge (a mean of 72 samples
    at 360 Hz is 300 /min: summing the intervals in two orders gave 300.0 and 300.00000000000006)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 60.0 * (np.asarray(n_peaks) - 1) * fs / np.asarray(span, np.float64)


def window_bounds(n_samples: int, fs: float) -> list[tuple[int, int]]:
    """The [start, stop) samples of the consecutive :data:`WINDOW_S` windows the rule is applied to (a tail shorter
    than half a window joins the window before it)."""
    w = int(round(WINDOW_S * fs))
    edges = list(range(0, max(1, n_samples), w))
    if len(edges) > 1 and n_samples - edges[-1] < w // 2:
        edges.pop()
    return list(zip(edges, edges[1:] + [n_samples]))


def _group_median(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group id (n_groups,), NaN for an empty group (what np.median gives, per group)."""
    order = np.lexsort((values, group))
    v, g = values[order], group[order]
    cnt = np.bincount(g, minlength=n_groups)
    first = np.r_[0, np.cumsum(cnt)[:-1]]
    out = np.full(n_groups, np.nan)
    has = cnt > 0
    out[has] = 0.5 * (v[first[has] + (cnt[has] - 1) // 2] + v[first[has] + cnt[has] // 2])
    return out


def _windows_ok(xc: np.ndarray, offset: int, fs: float, peaks: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                lo: np.ndarray, hi: np.ndarray, hr_range=HR_RANGE_BPM) -> np.ndarray:
    """:func:`window_quality`'s verdict for many windows at once (bool per window).

    ``xc`` holds band-passed samples from ``offset`` on; window k is samples ``[starts[k], ends[k])`` and holds
    ``peaks[lo[k]:hi[k]]`` (sorted, record indices). The same rule, without a Python call per window: on record 208
    the per-window calls were about a tenth of ``predict_record``; ``tests/test_safe_outputs.py`` checks that the
    verdicts equal :func:`window_quality`'s on every window of MIT-BIH records.
    """
    n_win = len(starts)
    cnt = hi - lo
    win = np.repeat(np.arange(n_win), cnt)  # window of each beat
    ok = np.zeros(n_win, bool)
    if len(peaks) == 0:
        return ok
    # rules 1-2 on each window's R-R intervals (pairs of consecutive beats in the same window)
    same = win[1:] == win[:-1]
    rr = (np.diff(peaks) / fs)[same]
    rr_win = win[1:][same]
    two = cnt >= 2  # the rate of each window from its first and last R peak (as window_quality: _rate_bpm)
    span = np.where(two, peaks[np.where(two, hi - 1, 0)] - peaks[np.where(two, lo, 0)], 0)
    hr = np.where(two, _rate_bpm(cnt, span, fs), np.nan)
    mx = np.full(n_win, -np.inf)
    if len(rr):  # rr_win is sorted: one reduceat over each window's run of intervals
        first = np.flatnonzero(np.r_[True, rr_win[1:] != rr_win[:-1]])
        mx[rr_win[first]] = np.maximum.reduceat(rr, first)
    usual = (hr >= hr_range[0]) & (hr <= hr_range[1])
    wide = usual | ((hr >= WIDE_HR_RANGE_BPM[0]) & (hr <= WIDE_HR_RANGE_BPM[1]))
    rate_ok = (cnt >= 3) & wide & (mx <= MAX_RR_S)  # outside hr_range: judged by CLEAR_TEMPLATE_CORR below
    # rule 3: beats of one median R-R centred on their R peak, against the window's average beat
    med_rr = _group_median(rr, rr_win, n_win)
    half = np.where(rate_ok, np.maximum(1, np.rint(np.nan_to_num(med_rr) * fs / 2)), 1).astype(np.int64)
    p_local = peaks - starts[win]
    h = half[win]
    keep = rate_ok[win] & (p_local - h >= 0) & (p_local + h < (ends - starts)[win])
    n_keep = np.bincount(win[keep], minlength=n_win)
    ok = rate_ok & usual & (n_keep < 2)  # too short to cut whole beats: the rate rules decide
    test = rate_ok & (n_keep >= 2)
    sel = keep & test[win]
    if not sel.any():
        return ok
    bw, bh = win[sel], h[sel]
    H = int(bh.max())
    off = np.arange(-H, H)
    valid = (off[None, :] >= -bh[:, None]) & (off[None, :] < bh[:, None])
    idx = np.clip(peaks[sel][:, None] - offset + off[None, :], 0, len(xc) - 1)
    seg = np.where(valid, xc[idx], 0.0)
    width = (2 * bh).astype(np.float64)
    tsum = np.zeros((n_win, 2 * H))
    first = np.flatnonzero(np.r_[True, bw[1:] != bw[:-1]])
    tsum[bw[first]] = np.add.reduceat(seg, first, axis=0)
    tmpl = tsum / np.maximum(n_keep, 1)[:, None]
    s_ = np.where(valid, seg - (seg.sum(1) / width)[:, None], 0.0)
    t_all = tmpl[bw]
    t_ = np.where(valid, t_all - (t_all.sum(1) / width)[:, None], 0.0)
    den = np.sqrt((s_ ** 2).sum(1) * (t_ ** 2).sum(1))
    corr = np.where(den > 0, (s_ * t_).sum(1) / np.where(den > 0, den, 1.0), 0.0)
    c = _group_median(corr, bw, n_win)
    return ok | (test & (c >= np.where(usual, MIN_TEMPLATE_CORR, CLEAR_TEMPLATE_CORR)))


def record_quality(read, n_samples: int, fs: float, peaks: np.ndarray, *, filtered: bool = False,
                   hr_range=HR_RANGE_BPM) -> dict:
    """Orphanidou's rule over consecutive 10 s windows of a recording.

    Parameters
    ----------
    read : callable(start, stop) -> ndarray (stop - start,), mV
        Reads one lead (a window at a time: memory stays bounded for a 24-h record).
    n_samples : int
    fs : float
    peaks : ndarray of int
        R-peak sample indices of the whole record (sorted).
    filtered : bool
        ``read`` returns band-passed samples already (:func:`~cardiacml.ecg.filters.clean_ecg`, e.g. from
        ``PeakScan.filtered``): they are not filtered again.
    hr_range : (float, float)
        Heart rates (bpm) rule 1 accepts: Orphanidou's :data:`HR_RANGE_BPM` unless asked (``predict`` asks
        :data:`WIDE_HR_RANGE_BPM` when no window passes, to tell a clean brady- or tachycardia from noise).

    Returns
    -------
    dict
        ``low_quality`` (bool per peak), ``windows`` (count), ``window_starts_s`` (ndarray (windows,): each
        window's first sample / fs), ``low_quality_windows`` (count), ``low_quality_window_starts_s`` (list, the
        rejected windows' starts, s), ``stretches`` (merged low-quality [start_s, end_s] intervals holding beats),
        ``criterion``. Starts are sample / fs exactly as beat times ``peaks / fs`` are, so an interrupted run can
        count the windows up to its last beat without a rounding slip.
    """
    from .filters import clean_ecg

    peaks = np.asarray(peaks, np.int64)
    low = np.zeros(len(peaks), bool)
    bounds = window_bounds(n_samples, fs)
    n_win = len(bounds)
    bad_windows = []
    pad = int(round(1.0 * fs))  # filter settle margin
    per_chunk = 30  # windows read and band-passed together (5 min at 10 s): one filter call each, memory bounded
    for c in range(0, n_win, per_chunk):
        group = bounds[c:c + per_chunk]
        ca, cb = group[0][0], group[-1][1]
        if np.searchsorted(peaks, cb) == np.searchsorted(peaks, ca):
            continue  # no beats in this stretch
        ra, rb = max(0, ca - pad), min(n_samples, cb + pad)
        xc = np.asarray(read(ra, rb), np.float64)
        if not filtered:
            xc = clean_ecg(xc, fs)
        starts = np.array([a for a, _ in group], np.int64)
        ends = np.array([b for _, b in group], np.int64)
        lo = np.searchsorted(peaks, starts)
        hi = np.searchsorted(peaks, ends)
        ok = _windows_ok(xc, ra, fs, peaks[lo[0]:hi[-1]], starts, ends, lo - lo[0], hi - lo[0], hr_range)
        for k in np.flatnonzero(~ok & (hi > lo)):  # windows without beats: nothing to flag
            low[lo[k]:hi[k]] = True
            bad_windows.append([int(starts[k]) / fs, int(ends[k]) / fs])
    stretches = []
    for s, e in bad_windows:
        if stretches and abs(stretches[-1][1] - s) < 1e-9:
            stretches[-1][1] = e
        else:
            stretches.append([s, e])
    return {"low_quality": low, "windows": n_win,
            "window_starts_s": np.array([a for a, _ in bounds], np.int64) / fs, "low_quality_windows": len(bad_windows),
            "low_quality_window_starts_s": [a for a, _ in bad_windows],
            "stretches": [[round(s, 3), round(e, 3)] for s, e in stretches], "criterion": CRITERION}
