"""R-R features of the ``beat-rhythm`` contract (:mod:`cardiacml.contracts.rhythm`) and their long-term reference.

Moved out of :mod:`cardiacml.ecg.pipeline` (which still exports both names) when intervals that span a lead-off /
saturated stretch (:func:`cardiacml.ecg.nonbeats.flat_runs`) became breaks: such an interval is no R-R interval, and the
beats on either side take their other interval, as a recording's first and last beats do.
"""

from __future__ import annotations

import numpy as np

from ..contracts import rhythm as C


def rr_features(peaks: np.ndarray, fs: float, qrs_ptp: np.ndarray | None = None,
                scale: float | np.ndarray = 1.0, *, breaks: np.ndarray | None = None) -> np.ndarray:
    """R-R features of every beat (see :data:`cardiacml.contracts.rhythm.FEATURES`), shape (n, F) float32.

    The first beat has no previous interval and the last no next one: each borrows the
    other. Intervals are clipped to :data:`~cardiacml.contracts.rhythm.RR_CLIP_S`.
    ``breaks`` (samples, any order): positions inside a stretch with no ECG (a lead off, a saturated amplifier); an
    interval holding one is no R-R interval: the beats on either side borrow their other one, as at the ends (a
    beat between two breaks takes the median interval), and it is left out of the reference.
    """
    n = len(peaks)
    lo, hi = C.RR_CLIP_S
    if n < 2:
        rr = np.ones(max(0, n - 1))
        pre = post = np.ones(n)
    else:
        rr = np.clip(np.diff(np.asarray(peaks, np.float64)) / fs, lo, hi)
        pre = np.r_[rr[0], rr]
        post = np.r_[rr, rr[-1]]
        cut = broken_intervals(np.asarray(peaks, np.float64), breaks)
        if cut.any():
            good = rr[~cut]
            typical = float(np.median(good)) if len(good) else 1.0
            lost_pre, lost_post = np.r_[cut[0], cut], np.r_[cut, cut[-1]]  # the ends' copies included
            pre, post = np.where(lost_pre, post, pre), np.where(lost_post, pre, post)
            both = lost_pre & lost_post
            pre, post = np.where(both, typical, pre), np.where(both, typical, post)
            rr = good if len(good) else np.full(1, typical)
    # the patient's rhythm: the REFERENCE_RR_PERCENTILE-th percentile of the R-R of the whole record, or of the reference
    # span around each beat on a longer one (contract v4; the median before: see cardiacml.contracts.rhythm)
    ref = long_reference(pre, np.asarray(peaks, np.float64) / fs, whole=rr, percentile=C.REFERENCE_RR_PERCENTILE)
    k = C.LOCAL_RR_BEATS
    cs = np.r_[0.0, np.cumsum(pre)]
    i = np.arange(n)
    start = np.maximum(0, i - k + 1)
    local = (cs[i + 1] - cs[start]) / (i + 1 - start)
    amp = np.ones(n) if qrs_ptp is None else np.maximum(np.asarray(qrs_ptp, np.float64) / scale, 1e-3)
    # local irregularity: median |successive difference of log R-R| over +-IRREGULARITY_BEATS beats (high in AF)
    m = C.IRREGULARITY_BEATS
    d = np.abs(np.diff(np.log(pre))) if n > 1 else np.zeros(0)
    if len(d) >= 1:
        from numpy.lib.stride_tricks import sliding_window_view

        padded = np.pad(d, (m, m), mode="reflect" if len(d) > m else "edge")
        irr = np.median(sliding_window_view(padded, 2 * m + 1), axis=1)
        irr = np.r_[irr[0], irr][:n]
    else:
        irr = np.zeros(n)
    feats = np.stack([pre, post, local, ref, np.log(pre / ref), np.log(post / ref), np.log(local / ref),
                      np.log(pre / post), np.log(pre / local), np.log(amp), irr], 1)
    return feats.astype(np.float32)


def long_reference(values: np.ndarray, times_s: np.ndarray, span_s: float | None = None, step: int = 32, *,
                   whole: np.ndarray | None = None, percentile: float = 50.0) -> np.ndarray:
    """Per-beat long-term reference (n,) of a per-beat series: its median (or ``percentile``) over the reference span.

    The span is the whole record when ``times_s`` covers at most ``span_s`` (default
    :data:`~cardiacml.contracts.rhythm.REFERENCE_SPAN_S`): one value, as in version 2 of the contract, of
    ``whole`` when given (the R-R intervals themselves rather than the per-beat series made from them), 1.0 when
    there is nothing to take it of. On longer recordings it is the ``span_s`` centred on the beat, shifted to stay
    inside the record; it is taken every ``step`` beats and held in between (a 40-minute span moves by a few
    seconds per step), so a 24-hour Holter costs about 0.1 s. ``percentile`` 50 is ``np.median`` exactly.
    """
    v = np.asarray(values, np.float64)
    t = np.asarray(times_s, np.float64)
    n = len(v)
    span = C.REFERENCE_SPAN_S if span_s is None else float(span_s)

    def stat(a: np.ndarray) -> float:
        return float(np.median(a)) if percentile == 50.0 else float(np.percentile(a, percentile))

    if n < 2 or t[-1] - t[0] <= span:
        w = v if whole is None else np.asarray(whole, np.float64)
        return np.full(n, stat(w) if len(w) else 1.0)
    starts = np.clip(t - span / 2, t[0], t[-1] - span)
    lo = np.searchsorted(t, starts, "left")
    hi = np.searchsorted(t, starts + span, "right")
    at = np.arange(0, n, step)
    med = np.array([stat(v[lo[i]:hi[i]]) for i in at])
    return med[np.arange(n) // step]


def broken_intervals(peaks: np.ndarray, breaks) -> np.ndarray:
    """(n - 1,) bool: which intervals between successive ``peaks`` hold a position of ``breaks`` (same units, e.g.
    samples or seconds)."""
    cut = np.zeros(max(0, len(peaks) - 1), bool)
    if breaks is None or len(breaks) == 0 or len(cut) == 0:
        return cut
    i = np.searchsorted(peaks, np.asarray(breaks, np.float64).ravel(), "right") - 1
    cut[i[(i >= 0) & (i < len(cut))]] = True
    return cut
