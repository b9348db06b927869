"""Signal quality before classification: is there a plausible ECG around the detected beats?

Criterion (one published rule, applied per 10 s window, as its authors did): Orphanidou C. et al.,
"Signal-quality indices for the electrocardiogram and photoplethysmogram: derivation and
applications to wireless monitoring", IEEE J Biomed Health Inform 19(3):832-838, 2015. A window is
acceptable when

1. the heart rate from its R peaks is physiological: 40-180 bpm;
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
#: Longest acceptable RR gap (s).
MAX_RR_S = 3.0
#: Lowest acceptable mean correlation of beats with their window's template.
MIN_TEMPLATE_CORR = 0.66

CRITERION = ("Orphanidou et al. 2015 (IEEE JBHI 19:832) per 10 s window: heart rate 40-180 bpm, no RR gap over 3 s, "
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
    hr = 60.0 / float(np.mean(rr))
    if not HR_RANGE_BPM[0] <= hr <= HR_RANGE_BPM[1]:
        return False, float("nan"), f"heart rate {hr:.0f} bpm"
    if rr.max() > MAX_RR_S:
        return False, float("nan"), f"RR gap {rr.max():.1f} s"
    half = max(1, int(round(np.median(rr) * fs / 2)))
    keep = peaks[(peaks - half >= 0) & (peaks + half < len(x))]
    if len(keep) < 2:
        return True, float("nan"), ""  # too short to cut whole beats: the rate rules above decide
    seg = np.asarray(x, np.float64)[keep[:, None] + np.arange(-half, half)[None, :]]
    tmpl = seg.mean(0)
    s = seg - seg.mean(1, keepdims=True)
    t = tmpl - tmpl.mean()
    den = np.sqrt((s ** 2).sum(1) * (t ** 2).sum())
    corr = np.where(den > 0, (s @ t) / np.where(den > 0, den, 1.0), 0.0)
    c = float(np.median(corr))
    return c >= MIN_TEMPLATE_CORR, c, "" if c >= MIN_TEMPLATE_CORR else f"template correlation {c:.2f}"


def record_quality(read, n_samples: int, fs: float, peaks: np.ndarray, *, filtered: bool = False) -> dict:
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

    Returns
    -------
    dict
        ``low_quality`` (bool per peak), ``windows`` (count), ``low_quality_windows``, ``stretches``
        (merged low-quality [start_s, end_s] intervals holding beats), ``criterion``.
    """
    from .filters import clean_ecg

    peaks = np.asarray(peaks, np.int64)
    low = np.zeros(len(peaks), bool)
    w = int(round(WINDOW_S * fs))
    edges = list(range(0, max(1, n_samples), w))
    if len(edges) > 1 and n_samples - edges[-1] < w // 2:
        edges.pop()  # a short tail joins the window before it
    bounds = list(zip(edges, edges[1:] + [n_samples]))
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
        for a, b in group:
            lo, hi = np.searchsorted(peaks, [a, b])
            if hi == lo:
                continue  # no beats here: nothing to flag
            ok, _, _ = window_quality(xc[a - ra:b - ra], fs, peaks[lo:hi] - a)
            if not ok:
                low[lo:hi] = True
                bad_windows.append([a / fs, b / fs])
    stretches = []
    for s, e in bad_windows:
        if stretches and abs(stretches[-1][1] - s) < 1e-9:
            stretches[-1][1] = e
        else:
            stretches.append([s, e])
    return {"low_quality": low, "windows": n_win, "low_quality_windows": len(bad_windows),
            "stretches": [[round(s, 3), round(e, 3)] for s, e in stretches], "criterion": CRITERION}
