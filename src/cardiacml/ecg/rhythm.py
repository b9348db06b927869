"""Atrial fibrillation / flutter episodes from R-peak times and, where the signal is at hand, the atrial activity.

Each beat gets R-R irregularity features over a centred window of ``WINDOW`` intervals (normalised RMSSD,
robust median successive difference, coefficient of variation, turning-point ratio, Poincare SD1/SD2 and the
fraction of large successive changes); a logistic regression shipped as plain JSON (``rhythm_af.json``, fitted on
MIT-BIH rhythm annotations by ``benchmarks/af_episodes.py --fit``) turns them into a per-beat AF probability,
which is smoothed (moving mean), thresholded with hysteresis, and turned into episodes of at least
``min_episode_s`` seconds (gaps shorter than ``merge_gap_s`` are merged). A recording shorter than the window (a 10-s
ECG) is one window of its own beats, and is one episode when every one of its beats is flagged; under
:data:`MIN_BEATS` beats nothing is said.

With the signal (:func:`atrial_features`, model ``rhythm_af_atrial.json``), three features of the atrial activity
are added per beat, each over the same window: how alike the P-wave regions ([R - 240, R - 60] ms of the 0.5-40 Hz
band-passed lead, resampled to :data:`ATRIAL_FS`) of neighbouring beats are (a sinus P wave repeats; fibrillatory
waves do not), the P-region SNR (the window's median P region against the beats' differences from it:
:func:`_p_snr`), and their high-frequency content (mean |second difference| / SD), the first and last as medians of
per-beat values; and two features of ectopy: the normalised RMSSD of normal-to-normal intervals only and the fraction of ectopic beats (a
beat whose QRS is unlike its neighbours' median QRS), so that frequent PVCs (bigeminy, couplets) are not taken for an
irregular rhythm. On MIT-BIH (leave one patient out, ``benchmarks/af_episodes.py``, reference R peaks) duration
Se / +P go from 69 / 74 % (R-R only) to 90 / 92 % with the atrial features, 92.1 / 92.9 % with the ectopy features
and 92.9 / 93.0 % with the product of mean R-R and irregularity (:data:`ATRIAL_INTERACTIONS`; AF at a fast rate is
less irregular). Since 0.4.1 the atrial features are taken at :data:`ATRIAL_FS` whatever the record's rate and the
model is also fitted on copies of each training record as other recorders would give it (random rate, gain,
polarity, noise, wander, mains; the other lead): 90.4 / 92.8 % on MLII, and on MLII at 128 Hz with noise 95.5 / 85.0 %
where 0.4.0 found 14 % of the AF time (other lead at 250 Hz: 82.1 / 90.4 %, 0.4.0 51.3 / 90.8 %).
Since 0.4.9 (atrial features version 3) the P-region amplitude is :func:`_p_snr`, a ratio within the lead, in place
of the P-region RMS relative to the QRS, which read V1's large fibrillatory waves as P waves: other lead 79.6 -> 90.3 %
Se, MLII 92.3 / 92.7 -> 91.8 / 91.2 % (RESULTS.md "fifteenth"). Since 0.4.10 detected R peaks
(``atrial_features(..., realign=True)``) are re-marked where the detector marked beats at different waves of their
QRS (:func:`_align_fiducials`): other lead with detected peaks 69.8 -> 81.9 % Se (RESULTS.md "sixteenth").

Baselines for comparison (:func:`baseline_cov`, :func:`baseline_cosen`): coefficient of variation of R-R over
16 beats, and COSEn (Lake & Moorman 2011, Am J Physiol Heart Circ Physiol 300:H319) over 16 beats, threshold -1.4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .median import median_of

WINDOW = 32
#: Fewer beats than this make no rhythm statement (7 intervals, 6 successive differences); a 10-s strip at 48 /min has 8.
MIN_BEATS = 8
#: Two consecutive beats further apart than this (s) leave a gap without rhythm (a lead off, a lost signal; asystole
#: this long is not survived unnoticed): no AF episode spans it and the burden leaves it out.
NO_BEAT_GAP_S = 10.0
FEATURES = ("log_nrmssd", "log_nmsd", "log_cov", "tpr", "log_sd1sd2", "frac_big", "log_nmsd_lag", "log_rr")
ATRIAL_FEATURES = ("p_region_corr", "log_p_snr", "p_region_hf", "log_nn_nrmssd", "frac_ectopic")
_MODEL_PATH = Path(__file__).with_name("rhythm_af.json")
_ATRIAL_MODEL_PATH = Path(__file__).with_name("rhythm_af_atrial.json")
P_REGION_MS = (240.0, 60.0)  # the P-wave region before each R peak
QRS_MS = (50.0, 80.0)  # the QRS window [R - 50, R + 80] ms whose likeness to the neighbours' marks ectopic beats
QRS_NEIGHBOURS = 4  # neighbours on each side that make a beat's QRS template
#: A beat whose QRS correlates below this with its neighbours' median QRS is ectopic for the R-R features.
ECTOPIC_CORR = 0.8
CHUNK_S = 300.0
#: The atrial features are computed on the lead resampled to this rate (after the 0.5-40 Hz band-pass, which every
#: rate from 100 Hz holds whole), so that they mean the same at 128 Hz as at 360 or 1000 Hz: at the record's own rate
#: the high-frequency measure moved by some ten training SDs between 360 and 128 Hz and the 0.4.0 model found 14 % of
#: MIT-BIH's AF time on 128-Hz copies (RESULTS.md, "sixth").
ATRIAL_FS = 250.0
#: Version of the atrial features' definition; an atrial model file must name it (``"atrial_version"``). Version 3
#: (0.4.9): the P-region SNR (:func:`_p_snr`) in place of version 2's P-region RMS relative to the QRS amplitude.
ATRIAL_VERSION = 3
#: :func:`atrial_features` re-marks the beats of a stretch (``CHUNK_S``) when more than ``ALIGN_TRIGGER`` of them look
#: marked at another wave of their QRS (:func:`_align_fiducials`): within ``ALIGN_MS`` of the mark, to where the QRS
#: correlates best with the stretch's median QRS (at least ``ALIGN_MIN_CORR``; ``ALIGN_SURE_CORR`` for the count),
#: and only when they are also at least ``ALIGN_MIN_MARKED`` beats (half of ``MIN_BEATS``): in a 10-s strip 10 % is
#: one or two beats, which an ectopic or noisy beat makes without any mis-marking detector.
ALIGN_MS = 60.0
ALIGN_TRIGGER = 0.1
ALIGN_MIN_MARKED = 4
ALIGN_SURE_CORR = 0.9
ALIGN_MIN_CORR = 0.7
#: Windows whose median P region :func:`_p_snr` computes at once (32 x this x 45 float32 samples, cache-sized: the
#: median of a 24-hour Holter's 110,000 beats took 0.28 s in blocks of 512 float32 windows, 0.62 s in float64, 1.74 s
#: in blocks of 2,048 float64 windows).
SNR_BLOCK = 512
#: :func:`_p_snr`'s values are clipped to this range (MIT-BIH's training rows span -5.35 .. 1.93, its other leads
#: -5.98 .. 1.74): a window with half its P regions flat or unread (a median of zeros) or of identical rows (a
#: residual of zeros) would otherwise give a value set by rounding, far outside anything the model was fitted on.
SNR_RANGE = (-7.0, 3.0)
#: Products of two features the R-R + atrial model also takes: R-R irregularity in AF falls as the rate rises, so the
#: irregularity that tells AF from sinus rhythm depends on the rate (chosen on the leave-one-patient-out results of
#: ``benchmarks/af_episodes.py`` among four candidates, see RESULTS.md).
ATRIAL_INTERACTIONS = (("log_rr", "log_nrmssd"),)


def _window_view(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of min(w, n) consecutive entries of ``x``, centred on each entry and shifted inward at the ends (every
    window holds real entries: a recording shorter than ``w`` beats is one window, its own): the distinct windows as a
    view (n - min(w, n) + 1, min(w, n)) and which of them each entry takes (n,). A statistic is computed over the
    view's rows and indexed by the second, without copying n windows (a 72-hour Holter's 330,000 beats x 32 would be
    84 MB per array). Padding the ends with copies of the first or last entry instead, as cardiacml did before 0.4.6,
    made a short recording look regular: a 10-s strip had 20 copies of one interval in each 32-beat window."""
    x = np.asarray(x)
    n = len(x)
    w = max(1, min(int(w), n))
    if n == 0:
        return np.zeros((0, w), x.dtype), np.zeros(0, np.int64)
    return np.lib.stride_tricks.sliding_window_view(x, w), np.clip(np.arange(n) - w // 2, 0, n - w)


def _preceding_rr(t: np.ndarray) -> np.ndarray:
    """The R-R interval (s, clipped to 0.2-3 s) before each beat of ``t`` (>= 2 beats); the first beat takes the
    first interval."""
    rr = np.clip(np.diff(t), 0.2, 3.0)
    return np.concatenate([[rr[0]], rr])


def rr_features(r_times_s, window: int = WINDOW) -> np.ndarray:
    """Per-beat R-R irregularity features (n_beats, len(FEATURES)) for R-peak times in seconds."""
    t = np.asarray(r_times_s, dtype=np.float64)
    if len(t) < 3:
        return np.zeros((len(t), len(FEATURES)))
    return _interval_features(_preceding_rr(t), window)


def _ectopy_features(r_times_s, ectopic: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Per beat, over the centred ``window`` of beats: log normalised RMSSD of the normal-to-normal intervals only
    (intervals into or out of an ectopic beat left out, as heart-rate-variability analysis does; the plain RMSSD where
    fewer than 4 such differences remain) and the fraction of ectopic beats. (n_beats, 2)."""
    t = np.asarray(r_times_s, dtype=np.float64)
    ex = np.asarray(ectopic, bool)
    if len(t) < 3:
        return np.zeros((len(t), 2))
    rr_b = _preceding_rr(t)
    keep = np.r_[False, ~(ex[:-1] | ex[1:])]  # the interval before beat i joins two normal beats
    (W, idx), (K, _) = _window_view(rr_b, window), _window_view(keep, window)
    d, dk = np.diff(W, axis=1), K[:, 1:] & K[:, :-1]
    cnt = dk.sum(1)
    nk = K.sum(1)
    mean_k = np.where(nk > 0, (W * K).sum(1) / np.maximum(nk, 1), W.mean(1))
    nn = np.sqrt((d ** 2 * dk).sum(1) / np.maximum(cnt, 1)) / mean_k
    nn = np.where(cnt >= 4, nn, np.sqrt((d ** 2).mean(1)) / W.mean(1))
    return np.column_stack([np.log(nn + 1e-3), _window_view(ex.astype(np.float64), window)[0].mean(1)])[idx]


def _interval_features(rr_b: np.ndarray, window: int) -> np.ndarray:
    """FEATURES of each entry of an R-R series (s), over the centred ``window`` of entries around it."""
    W, idx = _window_view(rr_b, window)
    d = np.diff(W, axis=1)
    mean = W.mean(1)
    med = np.median(W, 1)
    eps = 1e-3
    nrmssd = np.sqrt((d ** 2).mean(1)) / mean
    nmsd = np.median(np.abs(d), 1) / med
    cov = W.std(1) / mean
    s = np.sign(d)
    tpr = (s[:, 1:] * s[:, :-1] < 0).mean(1)
    sd1 = np.std(d, 1) / np.sqrt(2)
    sd2 = np.sqrt(np.maximum(2 * W.var(1) - sd1 ** 2, 0))
    frac_big = (np.abs(d) / med[:, None] > 0.1).mean(1)
    # bigeminy / trigeminy are irregular but periodic: the best of lag 2 and lag 3 differences stays small
    lag = np.median(np.abs(d), 1)
    for k in (2, 3):  # (a window of fewer than k + 1 intervals has no lag-k difference)
        if W.shape[1] > k:
            lag = np.minimum(lag, np.median(np.abs(W[:, k:] - W[:, :-k]), 1))
    lag = lag / med
    return np.column_stack([np.log(nrmssd + eps), np.log(nmsd + eps), np.log(cov + eps), tpr,
                            np.log((sd1 + eps) / (sd2 + eps)), frac_big, np.log(lag + eps), np.log(mean)])[idx]


def atrial_features(read, n_samples: int, fs: float, peaks, window: int = WINDOW, chunk_s: float = CHUNK_S, *,
                    filtered: bool = False, realign: bool = False) -> np.ndarray:
    """Per-beat atrial-activity features (n_beats, len(ATRIAL_FEATURES)); see the module docstring.

    Parameters
    ----------
    read : callable(a, b) -> ndarray (b - a,)
        Reads samples ``[a, b)`` of one lead (mV), e.g. ``lambda a, b: record.read(a, b, lead=0)``; read in chunks
        of ``chunk_s`` (a 24-hour Holter is never held whole).
    n_samples : int
    fs : float
        Sampling rate (Hz).
    peaks : ndarray of int (n_beats,)
        R peaks (samples).
    filtered : bool
        ``read`` returns band-passed samples already (e.g. ``PeakScan.filtered``): they are not filtered again.
    realign : bool
        ``peaks`` come from a detector, which may mark some beats at another wave of their QRS than others: where it
        did (:func:`_align_fiducials`), the marks are moved to the recording's usual QRS point before the features
        are taken. Leave False for annotated beats (the shipped model is fitted on MIT-BIH's annotations as given).

    Returns
    -------
    ndarray (n_beats, len(ATRIAL_FEATURES))
        The three P-region features, then the two ectopy features (:func:`_ectopy_features`): a beat is ectopic when
        its QRS ([R - 50, R + 80] ms) correlates below :data:`ECTOPIC_CORR` with the sample-wise median QRS of its
        ``2 * QRS_NEIGHBOURS`` neighbours.
    """
    from .filters import clean_ecg, resample

    peaks = np.asarray(peaks, np.int64)
    n = len(peaks)
    fa = ATRIAL_FS  # every window below is taken at this rate
    a0, a1 = int(round(P_REGION_MS[0] * fa / 1000)), int(round(P_REGION_MS[1] * fa / 1000))
    L = max(a0 - a1, 4)
    qa, qb = int(round(QRS_MS[0] * fa / 1000)), int(round(QRS_MS[1] * fa / 1000))
    seg = np.zeros((n, L))
    qseg = np.zeros((n, qa + qb), np.float32)
    t_s = peaks / float(fs)  # R times (s), moved with the fiducials where _align_fiducials moves them
    margin = int(2 * fs)
    step = max(int(chunk_s * fs), int(10 * P_REGION_MS[0] * fs / 1000))
    for c0 in range(0, int(n_samples), step):
        c1 = min(int(n_samples), c0 + step)
        sel = np.flatnonzero((peaks >= c0) & (peaks < c1))
        if not len(sel):
            continue
        r0, r1 = max(0, c0 - margin), min(int(n_samples), c1 + margin)
        x = np.asarray(read(r0, r1), np.float64)
        if not filtered:
            x = clean_ecg(x, fs)
        x = resample(x, fs, fa)
        r = np.round((peaks[sel] - r0) * (fa / fs)).astype(np.int64)
        if realign:
            r_al = _align_fiducials(x, r, qa, qb, int(round(ALIGN_MS * fa / 1000)))
            t_s[sel] += (r_al - r) / fa
            r = r_al
        ok = (r - a0 >= 0) & (r - a0 + L <= len(x))
        seg[sel[ok]] = x[(r[ok] - a0)[:, None] + np.arange(L)[None, :]]
        ok = (r - qa >= 0) & (r + qb <= len(x))
        qseg[sel[ok]] = x[(r[ok] - qa)[:, None] + np.arange(qa + qb)[None, :]]
    seg = seg - seg.mean(1, keepdims=True)
    nrm = np.linalg.norm(seg, axis=1) + 1e-9
    z = seg / nrm[:, None]
    c1 = np.r_[np.sum(z[1:] * z[:-1], 1), 0.0] if n > 1 else np.zeros(n)
    corr = np.maximum(c1, np.r_[0.0, c1[:-1]])  # with the previous or the next beat, whichever is closer
    hf = np.mean(np.abs(np.diff(seg, 2, axis=1)), 1) / (seg.std(1) + 1e-9)
    if not n:
        return np.zeros((0, len(ATRIAL_FEATURES)))
    idx = _window_view(corr, window)[1]
    corr, hf = (np.median(_window_view(v, window)[0], 1)[idx] for v in (corr, hf))
    out = np.column_stack([corr, _p_snr(seg, window)[idx], hf])
    return np.hstack([out, _ectopy_features(t_s, _qrs_corr(qseg) < ECTOPIC_CORR, window)])


def _align_fiducials(x: np.ndarray, r: np.ndarray, qa: int, qb: int, shift: int) -> np.ndarray:
    """The R marks ``r`` (samples of ``x``, one stretch of a recording) as given, or -- where the marks are not
    consistent -- each moved within +-``shift`` samples to where the beat's QRS window ``[r - qa, r + qb)`` correlates
    best with the stretch's median QRS. (n,)

    The marks count as inconsistent when more than :data:`ALIGN_TRIGGER` of the beats, and at least
    :data:`ALIGN_MIN_MARKED`, correlate with the median QRS below :data:`ECTOPIC_CORR` at their mark but at least
    :data:`ALIGN_SURE_CORR` a few samples away: the same QRS marked at another of its waves. A detector can mark some beats at the R and others at the S of a biphasic QRS
    (V1: MIT-BIH 221 with detected R peaks, 70 % of its AF beats then looked ectopic against 18 % with the reference
    annotations, and its AF was found 6 % of the time). Then every beat correlating at least :data:`ALIGN_MIN_CORR`
    somewhere is moved there (two passes, never further than ``shift`` from its mark; an ectopic shape keeps its
    mark). Consistent marks -- annotations, or a detector on a lead with one dominant wave -- are left as they are.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    r0 = np.asarray(r, np.int64)
    r = r0.copy()
    L = qa + qb
    for it in range(2):
        ok = np.flatnonzero((r - qa - shift >= 0) & (r + qb + shift <= len(x)))
        if len(ok) < 3 or shift < 1:
            break
        W = x[(r[ok] - qa - shift)[:, None] + np.arange(L + 2 * shift)[None, :]].astype(np.float32)
        tmpl = np.median(W[:, shift:shift + L], axis=0)
        tmpl = tmpl - tmpl.mean()
        tmpl /= np.linalg.norm(tmpl) + 1e-12
        V = sliding_window_view(W, L, axis=1)  # (n, 2 shift + 1, L): the QRS window at each shift
        Vc = V - V.mean(-1, keepdims=True)
        cc = (Vc @ tmpl) / (np.linalg.norm(Vc, axis=-1) + 1e-12)
        best = cc.argmax(1)
        top = cc[np.arange(len(ok)), best]
        marked = (cc[:, shift] < ECTOPIC_CORR) & (top >= ALIGN_SURE_CORR)
        if it == 0 and (marked.mean() <= ALIGN_TRIGGER or marked.sum() < ALIGN_MIN_MARKED):
            break  # consistent marks
        move = np.where(top >= ALIGN_MIN_CORR, best - shift, 0)
        if not move.any():
            break
        r[ok] = np.clip(r[ok] + move, r0[ok] - shift, r0[ok] + shift)
    return r


def _p_snr(seg: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Per distinct window of :func:`_window_view` over the beats: log of the RMS of the window's sample-wise median P
    region (the repeatable part: a sinus P wave) over the RMS of its beats' differences from that median (what changes
    from beat to beat: fibrillatory waves, noise). (n_windows,)

    Unlike the P-region amplitude relative to the QRS (atrial features version 2), the ratio does not depend on how
    large P waves and QRS are in the lead: on V1, where fibrillatory waves are large against the QRS, version 2
    called MIT-BIH 210's AF sinus rhythm (60 of its 98 AF percentage points missed; RESULTS.md, "fifteenth").
    ``seg``: (n, L) P regions, each less its mean. The differences' sum of squares comes from running sums of the
    rows and of their squared norms (per block of windows), so only the median needs each window's rows (taken in
    float32).
    """
    n, L = seg.shape
    w = max(1, min(int(window), n))
    m = n - w + 1
    if m <= 0:
        return np.zeros(0)
    if w < 2:  # one beat: no beat-to-beat difference to measure
        return np.zeros(m)
    out = np.empty(m)
    for b0 in range(0, m, SNR_BLOCK):
        j = np.arange(b0, min(m, b0 + SNR_BLOCK))
        rows = seg[b0:j[-1] + w]  # every beat of the block's windows; window j holds rows k0[j]:k1[j]
        k0 = j - b0
        k1 = k0 + w
        if not w & (w - 1):
            r32 = rows.astype(np.float32)
            tmpl = median_of([r32[k0 + k] for k in range(w)]).astype(np.float64)
        else:  # a window of a number of beats that is no power of 2 (a recording shorter than the window)
            tmpl = np.median(rows[k0[:, None] + np.arange(w)[None, :]], axis=1)
        csum = np.vstack([np.zeros((1, L)), np.cumsum(rows, 0)])  # running sums over the block's rows
        csq = np.r_[0.0, np.cumsum(np.einsum("ij,ij->i", rows, rows))]
        tt = np.einsum("ij,ij->i", tmpl, tmpl)
        resid = (csq[k1] - csq[k0]) - 2 * np.einsum("ij,ij->i", tmpl, csum[k1] - csum[k0]) + w * tt
        out[j] = np.log((np.sqrt(tt / L) + 1e-9) / (np.sqrt(np.maximum(resid, 0.0) / (w * L)) + 1e-9))
    return np.clip(out, *SNR_RANGE)


def _qrs_corr(qseg: np.ndarray, block: int = 4096) -> np.ndarray:
    """Correlation of each beat's QRS with the sample-wise median QRS of its neighbours (n,), in blocks of beats."""
    n, k = len(qseg), QRS_NEIGHBOURS
    out = np.ones(n)
    if n < 3:
        return out
    offs = np.r_[np.arange(-k, 0), np.arange(1, k + 1)]
    for b0 in range(0, n, block):
        i = np.arange(b0, min(n, b0 + block))
        nb = np.clip(i[:, None] + offs[None, :], 0, n - 1)  # edges: the nearest beats, repeated
        tmpl = median_of([qseg[j] for j in nb.T])
        x = qseg[i] - qseg[i].mean(1, keepdims=True)
        y = tmpl - tmpl.mean(1, keepdims=True)
        den = np.sqrt((x * x).sum(1) * (y * y).sum(1))
        out[i] = np.where(den > 0, (x * y).sum(1) / np.where(den > 0, den, 1.0), 1.0)
    return out


def needs_atrial(m: dict) -> bool:
    """Whether AF model ``m`` takes the atrial features (more base features than :data:`FEATURES`)."""
    return len(m["features"]) - len(m.get("interactions", [])) > len(FEATURES)


def interaction_names(pairs) -> tuple:
    """The feature names of interaction ``pairs`` (``[["log_rr", "log_nrmssd"]]`` -> ``("log_rr*log_nrmssd",)``)."""
    return tuple(f"{a}*{b}" for a, b in pairs)


def load_model(path=None, atrial: bool = False) -> dict:
    """The shipped AF model (R-R only, or R-R + atrial activity with ``atrial``), or one at ``path``.

    A model's ``features`` are :data:`FEATURES`, then :data:`ATRIAL_FEATURES` for an atrial model, then one
    ``"a*b"`` column per pair of its ``interactions`` (products of two of those features, e.g. ``log_rr*log_nrmssd``:
    how irregular the R-R series must be to be AF depends on the rate).
    """
    path = path or (_ATRIAL_MODEL_PATH if atrial else _MODEL_PATH)
    with open(path) as f:
        m = json.load(f)
    base = FEATURES + (ATRIAL_FEATURES if needs_atrial(m) else ())
    pairs = m.get("interactions", [])
    if any(len(p) != 2 or p[0] not in base or p[1] not in base for p in pairs):
        raise ValueError(f"{path}: interactions {pairs} must be pairs of its features {list(base)}")
    want = base + interaction_names(pairs)
    if needs_atrial(m) and m.get("atrial_version") != ATRIAL_VERSION:
        raise ValueError(f"{path}: atrial_version {m.get('atrial_version')!r}, but this cardiacml computes version "
                         f"{ATRIAL_VERSION} of the atrial features (refit it with benchmarks/af_episodes.py --fit)")
    if tuple(m["features"]) != want:
        raise ValueError(f"{path}: features {m['features']} differ from {want}")
    return m


def model_inputs(X: np.ndarray, model: dict) -> np.ndarray:
    """The model's input columns from the base features ``X`` (FEATURES [+ ATRIAL_FEATURES]): its interaction
    products appended."""
    pairs = model.get("interactions", [])
    if not pairs:
        return X
    names = FEATURES + ATRIAL_FEATURES
    return np.hstack([X, np.column_stack([X[:, names.index(a)] * X[:, names.index(b)] for a, b in pairs])])


def af_probability(r_times_s, model: dict | None = None, atrial: np.ndarray | None = None) -> np.ndarray:
    """Per-beat probability of AF/AFL (before smoothing); ``atrial``: :func:`atrial_features` for an atrial model."""
    m = model or load_model(atrial=atrial is not None)
    X = rr_features(r_times_s, m.get("window", WINDOW))
    if needs_atrial(m):
        if atrial is None or len(atrial) != len(X):
            raise ValueError("this AF model needs the atrial features of every beat (atrial_features)")
        X = np.hstack([X, atrial])
    if len(X) == 0:
        return np.zeros(0)
    X = model_inputs(X, m)
    z = (X - np.asarray(m["mean"])) / np.asarray(m["scale"])
    logit = z @ np.asarray(m["coef"]) + float(m["intercept"])
    return 1.0 / (1.0 + np.exp(-logit))


def _smooth(p: np.ndarray, w: int) -> np.ndarray:
    if len(p) < 2 or w < 2:
        return p
    view, idx = _window_view(p, w)
    return view.mean(1)[idx]


def beat_flags(p: np.ndarray, smooth: int = 31, on: float = 0.55, off: float = 0.45) -> np.ndarray:
    """Boolean AF flag per beat from per-beat probabilities: moving mean, then hysteresis thresholds."""
    ps = _smooth(np.asarray(p, dtype=np.float64), smooth)
    flag = np.zeros(len(ps), bool)
    state = False
    for i, v in enumerate(ps):  # hysteresis (n beats: fast enough, ~1e5/s)
        state = v >= on if not state else v > off
        flag[i] = state
    return flag


def analysed_spans(t) -> list[tuple[float, float]]:
    """The stretches of a recording its beats at times ``t`` (s, sorted) cover: [first beat, last beat] split where two
    consecutive beats are more than :data:`NO_BEAT_GAP_S` apart (a lead off, a signal lost: no rhythm to speak of).
    What :func:`detect_af`'s burden is a fraction of."""
    t = np.asarray(t, dtype=np.float64)
    if len(t) < 2:
        return []
    cut = np.flatnonzero(np.diff(t) > NO_BEAT_GAP_S)
    starts, ends = np.r_[0, cut + 1], np.r_[cut, len(t) - 1]
    return [(float(t[a]), float(t[b])) for a, b in zip(starts, ends)]


def analysed_seconds(t) -> float:
    """Total length (s) of :func:`analysed_spans`."""
    return float(sum(b - a for a, b in analysed_spans(t)))


def monitored_seconds(t, duration_s: float) -> tuple[float, float]:
    """The seconds of a recording of ``duration_s`` that per-hour rates are of, and the seconds left out: every
    stretch without a beat longer than :data:`NO_BEAT_GAP_S` (between two beats at times ``t``, s, in any order; before
    the first; after the last; the whole recording without any beat) is left out whole, as :func:`analysed_spans` leaves
    it out of the AF burden: a lead off for 4 hours of a 24-hour Holter would otherwise lower every rate by a sixth.
    Beats past ``duration_s`` (an interrupted run's stop) are not counted."""
    dur = max(float(duration_s), 0.0)
    t = np.asarray(t, dtype=np.float64).ravel()
    t = np.sort(t[(t >= 0) & (t <= dur)])  # unsorted (a page's beats as given) summed negative spans: -94 s of 120
    gaps = np.diff(np.r_[0.0, t, dur])
    out = float(gaps[gaps > NO_BEAT_GAP_S].sum())
    return dur - out, out


def flags_to_episodes(t: np.ndarray, flag: np.ndarray, min_episode_s: float = 30.0, merge_gap_s: float = 10.0,
                      rhythm: str = "AF") -> list[dict]:
    """Contiguous flagged beats -> [{"start_s", "end_s", "rhythm"}] (short gaps merged, episodes shorter than
    ``min_episode_s`` dropped unless every beat of the recording is flagged: a short recording in AF). A run of
    flagged beats ends where two consecutive beats are more than :data:`NO_BEAT_GAP_S` apart: time without beats
    (a lead off) is not time in AF."""
    t = np.asarray(t, dtype=np.float64)
    eps = []
    i, n = 0, len(flag)
    while i < n:
        if flag[i]:
            j = i
            while j + 1 < n and flag[j + 1] and t[j + 1] - t[j] <= NO_BEAT_GAP_S:
                j += 1
            eps.append([float(t[i]), float(t[j])])
            i = j + 1
        else:
            i += 1
    merged: list[list[float]] = []
    for e in eps:
        if merged and e[0] - merged[-1][1] < merge_gap_s and not _beatless(t, merged[-1][1], e[0]):
            merged[-1][1] = e[1]
        else:
            merged.append(e)
    # a recording whose every beat is flagged, in one run, is in AF however short it is (a 10-s ECG in AF); two flagged
    # runs merged across a gap are not (a short run inside a long recording would be dropped as well), nor the runs a
    # beatless gap cut apart (a lone beat between two gaps is no episode)
    whole = n > 0 and bool(np.all(flag)) and len(merged) == 1
    return [{"start_s": round(a, 3), "end_s": round(b, 3), "rhythm": rhythm} for a, b in merged
            if b > a and (b - a >= min_episode_s or whole)]


def _beatless(t: np.ndarray, a: float, b: float) -> bool:
    """Whether the beats ``t`` between times ``a`` and ``b`` (s) leave a gap over :data:`NO_BEAT_GAP_S`. A beat within
    0.5 ms of either end counts as inside (an episode's ends are its first and last beats rounded to 1 ms: the beat
    just past a rounded end was left out, and a lead off right beside it with it, so the break was bridged)."""
    k0, k1 = np.searchsorted(t, a - 5e-4, "left"), np.searchsorted(t, b + 5e-4, "right")
    return bool(k1 - k0 >= 2 and np.diff(t[k0:k1]).max() > NO_BEAT_GAP_S)


def af_burden(episodes, r_times_s, until_s: float | None = None) -> float:
    """Fraction of the analysed time of beats at ``r_times_s`` (:func:`analysed_spans`) inside ``episodes`` (counted up
    to ``until_s``, an interrupted run's stop, when given); 1.0 when every analysed second is, up to the episode ends'
    1-ms rounding."""
    analysed = analysed_seconds(r_times_s)
    in_af = sum(max(0.0, (e["end_s"] if until_s is None else min(e["end_s"], until_s)) - e["start_s"])
                for e in episodes)
    if episodes and analysed - in_af <= 1e-3 * len(episodes):
        return 1.0
    return float(min(1.0, in_af / max(analysed, 1e-9)))


def check_times(r_times_s) -> np.ndarray:
    """R-peak times as float64 seconds, refused (:class:`UsageError`) when 2-D, not finite, not increasing, or in
    milliseconds (a median interval over 100 s)."""
    t = np.asarray(r_times_s, dtype=np.float64)
    if t.ndim != 1:
        raise UsageError(f"R-peak times must be 1-D (one time per beat, in s), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise UsageError(f"R-peak times: NaN or infinite value at beat {int(np.argmax(~np.isfinite(t)))}")
    d = np.diff(t)
    if len(d) and d.min() <= 0:
        i = int(np.argmax(d <= 0))
        raise UsageError(f"R-peak times must increase strictly (beat {i + 1} at {t[i + 1]:g} s is not after beat {i} "
                         f"at {t[i]:g} s); sort them and merge duplicates")
    if len(d) >= 2 and np.median(d) > 100.0:
        raise UsageError(f"R-peak times: median interval {np.median(d):g} -- times must be in seconds, not "
                         "milliseconds or samples (divide by 1000 or by the sampling rate)")
    return t


def detect_af(r_times_s, model: dict | None = None, atrial: np.ndarray | None = None, **kw) -> dict:
    """AF/AFL episodes of a recording from its R-peak times (s) and, optionally, its atrial features.

    ``atrial``: :func:`atrial_features` of the same beats (then the R-R + atrial model is used unless ``model``).
    Returns {"rhythm_episodes": [...], "af_burden": fraction of the analysed time (:func:`analysed_spans`: first beat
    to last, less any gap without beats over :data:`NO_BEAT_GAP_S`), "analysed_s": seconds, "beat_af": bool per beat,
    "assessed": False under :data:`MIN_BEATS` beats (then no episode and a burden of 0 that says nothing)}.
    A recording of fewer than :data:`MIN_BEATS` beats gets no episode; one shorter than the model's window (32 beats)
    is one window, and one whose every beat is flagged is an episode however short (a 10-s ECG in AF;
    ``benchmarks/af_episodes.py --strips 10``).
    """
    t = check_times(r_times_s)
    m = model or load_model(atrial=atrial is not None)
    if atrial is not None and len(atrial) != len(t):
        raise UsageError(f"detect_af: atrial features for {len(atrial)} beats, R-peak times for {len(t)}")
    if len(t) < MIN_BEATS:
        return {"rhythm_episodes": [], "af_burden": 0.0, "analysed_s": analysed_seconds(t),
                "beat_af": np.zeros(len(t), bool), "assessed": False}
    p = af_probability(t, m, atrial if needs_atrial(m) else None)
    flag = beat_flags(p, kw.pop("smooth", m.get("smooth", 31)), kw.pop("on", m.get("on", 0.55)),
                      kw.pop("off", m.get("off", 0.45)))
    eps = flags_to_episodes(t, flag, **{"min_episode_s": m.get("min_episode_s", 30.0), **kw})
    # the episodes hold no gap without beats (flags_to_episodes)
    return {"rhythm_episodes": eps, "af_burden": af_burden(eps, t), "analysed_s": analysed_seconds(t),
            "beat_af": beats_in_episodes(t, eps), "assessed": True}


def beats_in_episodes(t, episodes) -> np.ndarray:
    """Which beats at times ``t`` (s) lie inside ``episodes`` ([{"start_s", "end_s", ...}], as :func:`detect_af` and
    the summary JSON give them), bool (n,). The ends are rounded to 1 ms: a beat within half of that counts, so an
    episode's first and last beats are in it."""
    t = np.asarray(t, dtype=np.float64)
    inside = np.zeros(len(t), bool)
    for e in episodes:
        inside |= (t >= e["start_s"] - 5e-4) & (t <= e["end_s"] + 5e-4)
    return inside


def bridge_episodes(episodes, gap_s: float, r_times_s=None) -> list[dict]:
    """Episodes with every gap shorter than ``gap_s`` seconds between two consecutive ones bridged: [{"start_s",
    "end_s", "rhythm"}] spans, sorted (with ``gap_s`` <= 0 their union: the episodes themselves when they do not
    overlap, as :func:`detect_af` gives them); a bridged span keeps its first episode's ``rhythm``. Only between two
    episodes: nothing is added before the first or after the last.

    This is not how :func:`detect_af` reports AF (the episodes and the burden keep their own ``merge_gap_s``): it is
    the rhythm context of beat classification (``cardiacml.inference.beats.CONTEXT_BRIDGE_S``), where a short
    break between two AF episodes is no sinus rhythm to be premature against (on MIT-BIH those breaks are mostly
    atrial flutter, whose regular conduction the AF detector does not flag). With ``r_times_s`` (the beats, s), a
    break holding a stretch without beats over :data:`NO_BEAT_GAP_S` (a lead off) is not bridged: nothing is known of
    the rhythm there, as :func:`flags_to_episodes` does not merge across one.
    """
    t = None if r_times_s is None else np.asarray(r_times_s, np.float64)
    eps = sorted(({"start_s": float(e["start_s"]), "end_s": float(e["end_s"]), "rhythm": e.get("rhythm", "AF")}
                  for e in episodes), key=lambda e: e["start_s"])
    out: list[dict] = []
    for e in eps:
        if out and e["start_s"] - out[-1]["end_s"] < gap_s and (t is None or not _beatless(t, out[-1]["end_s"],
                                                                                           e["start_s"])):
            out[-1]["end_s"] = max(out[-1]["end_s"], e["end_s"])
        else:
            out.append(dict(e))
    return out


def bridged_gaps(episodes, gap_s: float, r_times_s=None) -> list[dict]:
    """The breaks :func:`bridge_episodes` bridges: [{"start_s": end of one span, "end_s": start of the next}] for
    every gap between two consecutive spans of the episodes' union that is positive and shorter than ``gap_s`` (and,
    with ``r_times_s``, holds no stretch without beats over :data:`NO_BEAT_GAP_S`)."""
    u = bridge_episodes(episodes, 0.0)
    t = None if r_times_s is None else np.asarray(r_times_s, np.float64)
    return [{"start_s": round(a["end_s"], 3), "end_s": round(b["start_s"], 3)} for a, b in zip(u, u[1:])
            if 0.0 < b["start_s"] - a["end_s"] < gap_s and (t is None or not _beatless(t, a["end_s"], b["start_s"]))]


# ---- published R-R baselines -------------------------------------------------------------------------------------

def baseline_cov(r_times_s, window: int = 16, threshold: float = 0.1) -> np.ndarray:
    """Per-beat AF flag: coefficient of variation of the surrounding ``window`` R-R intervals above ``threshold``."""
    W, idx = _window_view(_preceding_rr(np.asarray(r_times_s, float)), window)
    return (W.std(1) / W.mean(1) > threshold)[idx]


def cosen(rr_window: np.ndarray, r_ms: float = 30.0) -> float:
    """Coefficient of sample entropy (Lake & Moorman 2011): SampEn(m=1, r) + ln(2r) - ln(mean RR), r and RR in s."""
    x = np.asarray(rr_window, float)
    r = r_ms / 1000.0
    n = len(x)
    a = b = 0
    for m_, acc in ((1, "b"), (2, "a")):
        T = np.lib.stride_tricks.sliding_window_view(x, m_)[: n - 1]
        D = np.abs(T[:, None, :] - T[None, :, :]).max(-1)
        c = int(((D <= r).sum() - len(T)) // 2)
        if acc == "a":
            a = c
        else:
            b = c
    if a == 0 or b == 0:  # undefined: treat as maximal entropy for this r (Lake & Moorman use the r growth rule)
        se = -np.log(1.0 / max(1, (n - 1) * (n - 2) / 2))
    else:
        se = -np.log(a / b)
    return float(se + np.log(2 * r) - np.log(x.mean()))


def baseline_cosen(r_times_s, window: int = 16, threshold: float = -1.4) -> np.ndarray:
    """Per-beat AF flag: COSEn of non-overlapping 16-beat segments above -1.4 (Lake & Moorman 2011)."""
    rr = np.clip(np.diff(np.asarray(r_times_s, float)), 0.2, 3.0)
    n = len(rr) + 1
    flag = np.zeros(n, bool)
    for s in range(0, len(rr) - window + 1, window):
        flag[s:s + window + 1] = cosen(rr[s:s + window]) > threshold
    return flag
