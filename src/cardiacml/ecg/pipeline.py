"""Record -> beats: the one pipeline used by training (MIT-BIH builders) and prediction alike.

Every path starts from a :class:`cardiacml.io.Record` (any format, any sampling
rate >= 100 Hz, lazy reads), so the arrays a model is trained on and the arrays it is
served are cut by the same code.

Two contracts (see :mod:`cardiacml.contracts`):

* :func:`kachuee_beats` - the Kaggle / Kachuee 2018 single beat (187 samples at 125 Hz),
  whole record at once (30-min MIT-BIH records); the challenge's Task 2 builder uses it.
* :func:`scan_record` + :func:`iter_rhythm_blocks` - the rhythm-aware ``beat-rhythm``
  contract, streamed: pass 1 reads the record in chunks (with a filter-settling overlap),
  filters, finds R peaks (annotations or neurokit2) and keeps only per-beat scalars
  (position, amplitude); pass 2 walks the beats in blocks, re-reads just the samples
  those beats need, and yields model inputs. Signal memory is bounded by the chunk /
  block size whatever the record length; per-beat scalars cost ~40 bytes a beat.
  Record-level statistics (R-R reference, QRS amplitude, polarity) are exact whole-record
  values because pass 1 ends before pass 2 starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..contracts import beat as KB
from ..contracts import rhythm as C
from ..errors import DataFormatError, UsageError
from ..io import Record
from .aami import AAMI_MAP
from .detect import MIN_BEAT_GAP_S, check_signal, detect_r_peaks, match_peaks, refine_peaks, too_short
from .nonbeats import (CLIP_FRACTION, CLIP_MIN_RUNS, extra_detections, extreme_runs, flat_runs, near_flat_run, p_wave_candidates,
                       p_wave_detections, p_wave_shapes, p_wave_span, steepest_slope, tiny_detections)
from .filters import MIN_FS, SETTLE_S, clean_ecg, resample
from .rr import long_reference, rr_features  # noqa: F401 (pipeline.rr_features / long_reference: their old home)
from .median import median_of

#: Pass-1 chunk length (s) and pass-2 block size (beats) / maximum sample span (s).
CHUNK_S = 300.0
BLOCK_BEATS = 4096
MAX_SPAN_S = 600.0
#: Half-width (s) of the QRS window whose peak-to-peak gives a beat's amplitude.
QRS_HALF_S = 0.06
#: Detections whose median QRS peak-to-peak is below this (mV) are noise, not beats.
MIN_QRS_MV = 0.02
#: A beat whose R fiducial is closer than this (s) to the recording's start or end has a QRS the recording cuts: its
#: window is mostly padding and its shape cannot be read (a 10-s ECG's last beat at 9.95 s was called V in 5 of 12
#: leads of a real sinus-rhythm recording); a detected one is skipped (annotated beats are the reference's: all kept).
EDGE_S = 0.1
#: ``skipped`` reasons of pass 1.
SKIP_EXTRA = "not a beat: a small deflection inside a normal R-R interval (T wave or artifact)"
SKIP_EDGE = "QRS cut by the start or end of the recording"
SKIP_P_WAVE = "not a beat: a P wave with no QRS after it (2:1 AV block, blocked atrial beat)"
SKIP_FLAT = "not a beat: no QRS (a flat stretch: lead off)"
SKIP_TINY = "not a beat: a deflection under a fifth of the QRS of each of the 4 beats on either side (noise)"
#: Records up to this many samples keep their band-passed lead from pass 1 (float64: 64 MB at most) so pass 2, the
#: signal-quality check and the atrial features reuse it instead of filtering the lead again; longer ones (Holters)
#: are re-read and re-filtered block by block, and memory stays bounded.
KEEP_FILTERED_MAX_SAMPLES = 8_000_000


def _check_record(record) -> Record:
    """This package takes :class:`~cardiacml.io.Record` objects, never paths (open one with ``cardiacml.io.open_record``)."""
    if not isinstance(record, Record):
        raise TypeError(f"expected a cardiacml.io.Record, got {type(record).__name__}; open a file with "
                        "cardiacml.io.open_record(path)")
    return record


def beat_annotations(record: Record) -> tuple[np.ndarray, np.ndarray] | None:
    """(samples, AAMI labels) of the record's beat annotations, or None when it has none."""
    ann = record.annotations()
    if ann is None:
        return None
    samples, symbols = ann
    keep = np.isin(np.asarray(symbols), list(AAMI_MAP))
    if not keep.any():
        return None
    s = np.asarray(samples, np.int64)[keep]
    lab = np.array([AAMI_MAP[x] for x in np.asarray(symbols)[keep]], np.int64)
    ok = (s >= 0) & (s < record.n_samples)
    s, lab = s[ok], lab[ok]
    if len(s) > 1 and np.any(np.diff(s) <= 0):  # annotations in file order (EDF+, a user's array): in time order,
        order = np.argsort(s, kind="stable")  # one beat per sample (the first annotation of a sample)
        s, lab = s[order], lab[order]
        first = np.r_[True, np.diff(s) > 0]
        s, lab = s[first], lab[first]
    return s, lab


def _check_basic(record: Record, li: int) -> str:
    where = f"{record.path} (lead {record.leads[li]})"
    if record.fs < MIN_FS:
        raise DataFormatError(f"{where}: sampling rate {record.fs:g} Hz is below {MIN_FS:g} Hz; QRS complexes cannot be resolved")
    if record.n_samples < 10 * record.fs:
        raise DataFormatError(f"{where}: {too_short(record.n_samples, record.fs)}")
    return where


# ---------------------------------------------------------------------------------------------
# Kaggle / Kachuee single-beat contract
# ---------------------------------------------------------------------------------------------
def segment_beats(signal: np.ndarray, r_peaks: np.ndarray, fs: float = KB.FS, window_s: float = KB.WINDOW_S
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Cut beats with the Kachuee 2018 rule from a signal sampled at 125 Hz.

    Parameters
    ----------
    signal : ndarray, shape (n,)
        One ECG lead at ``fs`` Hz.
    r_peaks : ndarray of int, shape (m,)
        R-peak sample indices (at ``fs``), sorted.

    Returns
    -------
    beats : ndarray, shape (k, 187), float32
        Beats starting at their R peak, values in [0, 1], zero-padded.
    kept : ndarray of int, shape (k,)
        Indices into ``r_peaks`` of the beats returned (a beat is dropped when its
        window holds fewer than 2 R peaks and no record-level period exists).
    """
    n_out = KB.N_SAMPLES
    if fs != KB.FS:
        raise DataFormatError(f"segment_beats expects a signal at {KB.FS:g} Hz, got {fs:g} Hz; resample first")
    signal = np.asarray(signal, np.float64)
    r_peaks = np.asarray(r_peaks, np.int64)
    if not np.all(np.isfinite(signal)):
        raise DataFormatError("ECG signal contains NaN or infinite values")
    win = int(round(window_s * fs))
    rr_all = np.diff(r_peaks)
    record_T = float(np.median(rr_all)) if rr_all.size else np.nan
    beats, kept = [], []
    for start in range(0, len(signal), win):
        stop = min(start + win, len(signal))
        in_win = np.flatnonzero((r_peaks >= start) & (r_peaks < stop))
        if in_win.size == 0:
            continue
        seg = signal[start:stop]
        lo, hi = seg.min(), seg.max()
        scale = hi - lo if hi > lo else 1.0
        rr = np.diff(r_peaks[in_win])
        T = float(np.median(rr)) if rr.size else record_T
        if not np.isfinite(T):
            continue
        length = min(int(round(1.2 * T)), n_out)
        for i in in_win:
            r = r_peaks[i]
            part = signal[r: r + length]
            out = np.zeros(n_out, np.float32)
            out[: len(part)] = np.clip((part - lo) / scale, 0.0, 1.0)
            beats.append(out)
            kept.append(i)
    if not beats:
        return np.zeros((0, n_out), np.float32), np.zeros(0, np.int64)
    return np.stack(beats), np.asarray(kept, np.int64)


def kachuee_beats(record, lead=None, use_annotations: bool = True, *, strict_checks: bool = False,
                  keep_signal: bool = False) -> dict:
    """Kaggle-format beats (187 samples at 125 Hz, Kachuee rule) of one record.

    R peaks are the record's beat annotations when present and ``use_annotations``,
    else neurokit2 detections on the band-passed lead (moved to the largest |deflection|
    within +-50 ms). The raw (unfiltered) lead is resampled to 125 Hz and cut, exactly as
    the Kaggle set was built.

    Returns
    -------
    dict
        ``X`` (k, 187) float32; ``kept`` indices into the peaks; ``time_s`` (k,) R-peak times (s);
        ``label`` (k,) when annotations exist (else absent); ``source`` text; ``how`` where the R peaks came
        from (``"annotations"`` or the detector, as :attr:`PeakScan.how`); ``skipped`` {reason: count}; ``lead``;
        ``fs``; with ``keep_signal`` the raw lead ``signal`` (n,) float32 mV.
    """
    record = _check_record(record)
    li = record.lead_index(lead)
    where = f"{record.path} (lead {record.leads[li]})"
    x = record.read(lead=li)
    if strict_checks:
        check_signal(x, record.fs, where)
    elif not np.all(np.isfinite(x)):
        bad = ~np.isfinite(x)
        raise DataFormatError(f"{where}: NaN or infinite value at sample {int(np.argmax(bad))} ({int(bad.sum())} in all)")
    ann = beat_annotations(record)
    labels = None
    n_extra = n_p = n_flat = n_tiny = 0
    if use_annotations and ann is not None:
        r, labels = ann
        how = "annotations"
    else:
        f = clean_ecg(x, record.fs)
        r = detect_r_peaks(f, record.fs)
        if r.size:  # as scan_record: refined, the same beat's two detections merged by their refined amplitude
            r = refine_peaks(f, r, record.fs)
            r = _dedupe(r, np.abs(f[r]), record.fs)[0]
        if r.size:
            # a detection at a lead-off / saturation edge has no QRS, as in scan_record (before the size rules)
            qrs = _qrs_ptp(f, r, record.fs) * ~near_flat_run(x, r, record.fs)
            flat = qrs < MIN_QRS_MV  # no QRS, or such an edge
            p_wave = p_wave_detections(f, r, qrs, record.fs) & ~flat
            extra, tiny = _small_detections(r, qrs, record.fs, p_wave | flat)
            n_extra, n_p, n_flat, n_tiny = int(extra.sum()), int(p_wave.sum()), int(flat.sum()), int(tiny.sum())
            r = r[~(extra | p_wave | flat | tiny)]
        how = "neurokit2 detector"
        if ann is not None:
            ri, di = match_peaks(ann[0], r, int(round(0.15 * record.fs)))
            labels = np.full(len(r), -1, np.int64)
            labels[di] = ann[1][ri]
    sig = resample(x, record.fs, KB.FS)
    r125 = np.clip(np.round(r * KB.FS / record.fs).astype(np.int64), 0, len(sig) - 1)
    beats, kept = segment_beats(sig, r125)
    out = {"X": beats, "kept": kept, "time_s": r[kept] / record.fs, "lead": record.leads[li], "fs": record.fs,
           "source": f"{record.path} ({record.leads[li]}, {record.fs:g} Hz, R peaks from {how})", "how": how,
           "skipped": {"no R-R period in the 10 s window": int(len(r) - len(kept))} if len(r) > len(kept) else {}}
    if n_extra:
        out["skipped"][SKIP_EXTRA] = n_extra
    if n_p:
        out["skipped"][SKIP_P_WAVE] = n_p
    if n_flat:
        out["skipped"][SKIP_FLAT] = n_flat
    if n_tiny:
        out["skipped"][SKIP_TINY] = n_tiny
    if labels is not None:
        out["label"] = labels[kept]
    if keep_signal:
        out["signal"] = x.astype(np.float32)
    return out


# ---------------------------------------------------------------------------------------------
# Rhythm-aware contract, streamed
# ---------------------------------------------------------------------------------------------
@dataclass
class PeakScan:
    """Result of pass 1 over a record: per-beat scalars only (no signal, unless asked to keep the raw lead).

    Attributes
    ----------
    signal : (N,) float32 or None - the raw lead (mV), kept only with ``scan_record(..., keep_signal=True)``
        (an interactive page of the recording is drawn from it without reading the record again).
    peaks : (n,) int64 - R fiducials (samples at ``fs``).
    labels : (n,) int64 or None - reference AAMI class per beat (-1: detection matched no annotation).
    amp : (n,) float64 - band-passed value at the fiducial (mV, signed).
    qrs_ptp : (n,) float64 - QRS peak-to-peak within +-60 ms (mV).
    filtered : (N,) float64 or None - the band-passed lead (:func:`~cardiacml.ecg.filters.clean_ecg`, mV), kept for
        records of at most :data:`KEEP_FILTERED_MAX_SAMPLES` samples; each chunk was filtered with
        :data:`~cardiacml.ecg.filters.SETTLE_S` of overlap, so it equals a whole-record pass (to 1e-6 mV).
    breaks : (k,) int64 - samples inside lead-off / saturated stretches (:func:`~cardiacml.ecg.nonbeats.flat_runs`): no
        R-R interval spans them (:func:`~cardiacml.ecg.rr.rr_features`).
    clipped : dict or None - the lead is clipped (:data:`~cardiacml.ecg.nonbeats.CLIP_FRACTION` of its samples or more
        in flat runs at its extreme values): ``fraction`` of samples so, ``low_mv`` / ``high_mv`` (None for an extreme
        with few of them).
    """

    record: Record
    lead: int
    peaks: np.ndarray
    labels: np.ndarray | None
    amp: np.ndarray
    qrs_ptp: np.ndarray
    how: str
    skipped: dict = field(default_factory=dict)
    n_reference: int | None = None
    signal: np.ndarray | None = None
    filtered: np.ndarray | None = None
    breaks: np.ndarray | None = None
    clipped: dict | None = None

    @property
    def fs(self) -> float:
        return self.record.fs

    @property
    def polarity(self) -> float:
        m = float(np.median(self.amp)) if len(self.amp) else 1.0
        return -1.0 if m < 0 else 1.0

    @property
    def scale(self) -> float:
        s = float(np.median(self.qrs_ptp)) if len(self.qrs_ptp) else 1.0
        return s if s > 1e-6 else 1.0

    @property
    def beat_scale(self) -> np.ndarray:
        """Per-beat amplitude reference (n,): the median QRS peak-to-peak of the reference span
        (:func:`long_reference`; the whole record's, :attr:`scale`, when it is no longer than the span)."""
        s = long_reference(self.qrs_ptp, self.peaks / self.fs)
        return np.where(s > 1e-6, s, 1.0)

    @property
    def source(self) -> str:
        r = self.record
        return f"{r.path} ({r.leads[self.lead]}, {r.fs:g} Hz, R peaks from {self.how})"


def _qrs_ptp(f: np.ndarray, loc: np.ndarray, fs: float) -> np.ndarray:
    """Peak-to-peak of ``f`` within +-:data:`QRS_HALF_S` of each index ``loc`` (clipped to ``f``): a beat's QRS
    amplitude."""
    if len(loc) == 0:
        return np.zeros(0)
    qh = max(1, int(round(QRS_HALF_S * fs)))
    seg = f[np.clip(np.asarray(loc)[:, None] + np.arange(-qh, qh + 1)[None, :], 0, len(f) - 1)]
    return seg.max(1) - seg.min(1)


def _p_waves(record: Record, li: int, peaks: np.ndarray, qrs: np.ndarray, slope: np.ndarray,
             filtered: np.ndarray | None, chunk: int) -> np.ndarray:
    """Blocked P waves among the merged detections (:func:`cardiacml.ecg.nonbeats.p_wave_detections`), judged on the
    whole record's detections whatever the chunks: the candidates (small and flat against their neighbours) are few,
    and only the stretches around them are read and filtered again (or taken from ``filtered`` when pass 1 kept it)."""
    fs = record.fs
    cand = p_wave_candidates(qrs, slope)
    out = np.zeros(len(peaks), bool)
    if not cand.any():
        return out
    if filtered is not None:
        return p_wave_shapes(filtered, peaks, cand, fs)
    idx = np.flatnonzero(cand)
    settle = int(SETTLE_S * fs)
    g0 = 0
    while g0 < len(idx):
        g1 = int(np.searchsorted(peaks[idx], peaks[idx[g0]] + chunk, side="left"))
        g1 = max(g1, g0 + 1)
        which = idx[g0:g1]
        lo, hi = p_wave_span(peaks, cand, which, fs)
        lo, hi = max(0, lo), min(record.n_samples, hi)
        rlo, rhi = max(0, lo - settle), min(record.n_samples, hi + settle)
        f = clean_ecg(record.read(rlo, rhi, li), fs)
        out |= p_wave_shapes(f, peaks, cand, fs, which=which, offset=rlo)
        g0 = g1
    return out


def _drop_non_beats(peaks: np.ndarray, qrs: np.ndarray, fs: float, n_samples: int,
                    p_wave: np.ndarray) -> tuple[np.ndarray, dict]:
    """Detected peaks that are not beats to classify: blocked P waves (``p_wave``, from
    :func:`cardiacml.ecg.nonbeats.p_wave_detections`), extra detections (:func:`cardiacml.ecg.nonbeats.extra_detections`),
    tiny detections (:func:`cardiacml.ecg.nonbeats.tiny_detections`), detections with a QRS peak-to-peak under :data:`MIN_QRS_MV` (the detector's relative thresholds find "beats" in
    the numerical ringing of a flat, lead-off stretch) and, of the rest, beats within :data:`EDGE_S` of the
    recording's start or end (unless that would leave none).
    Returns (keep mask, ``skipped`` counts by reason)."""
    flat = qrs < MIN_QRS_MV
    if 2 * flat.sum() > len(flat):  # mostly noise: scan_record refuses the lead as a whole, naming its amplitude
        flat[:] = False
    p_wave = p_wave & ~flat
    extra, tiny = _small_detections(peaks, qrs, fs, p_wave | flat)
    edge = max(1, int(round(EDGE_S * fs)))
    cut = ~extra & ~tiny & ~p_wave & ~flat & ((peaks < edge) | (peaks >= n_samples - edge))
    if cut.sum() >= len(peaks) - extra.sum() - tiny.sum() - p_wave.sum() - flat.sum():
        cut[:] = False
    skipped = {k: int(m.sum()) for k, m in ((SKIP_FLAT, flat), (SKIP_P_WAVE, p_wave), (SKIP_EXTRA, extra),
                                             (SKIP_TINY, tiny), (SKIP_EDGE, cut)) if m.any()}
    return ~(extra | tiny | cut | p_wave | flat), skipped


def _small_detections(peaks: np.ndarray, qrs: np.ndarray, fs: float, other: np.ndarray):
    """(extra, tiny) bool masks of the detections that are not beats by their size: inside a normal R-R interval
    (:func:`cardiacml.ecg.nonbeats.extra_detections`), then under a fifth of every neighbour
    (:func:`cardiacml.ecg.nonbeats.tiny_detections`); none of them among ``other`` (already dropped for another reason:
    blocked P waves, flat stretches). What both detection paths (:func:`kachuee_beats`, :func:`scan_record`) drop."""
    extra = extra_detections(peaks, qrs, fs) & ~other
    return extra, tiny_detections(qrs) & ~extra & ~other


def _dedupe(peaks: np.ndarray, strength: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Sort peaks and merge those closer than MIN_BEAT_GAP_S (the stronger one stays); returns (peaks, kept index).

    Walking the sorted peaks, each one closer than the gap to the last kept peak replaces it when strictly stronger
    and is dropped otherwise. A run of peaks each closer than the gap to the next (a cluster) starts at least a gap
    after the last kept peak before it, so the walk decides every cluster on its own: a lone peak stays, a pair keeps
    its stronger peak (the first on a tie), both at once for the whole record (the detector's two polarities find most
    beats twice: on a 30-minute record 6,000 peaks, a Python loop over them was 8 % of the detected-peak path); only
    the rare clusters of three or more are walked one peak at a time."""
    order = np.argsort(peaks, kind="stable")
    peaks, strength = peaks[order], strength[order]
    n = len(peaks)
    keep = np.ones(n, bool)
    if n < 2:
        return peaks[keep], order[keep]
    gap = MIN_BEAT_GAP_S * fs
    close = np.diff(peaks) < gap  # peak i and i + 1 in one cluster
    cid = np.r_[0, np.cumsum(~close)]  # cluster of each peak
    size = np.bincount(cid)
    first = np.r_[0, np.flatnonzero(~close) + 1]  # each cluster's first peak
    a = first[size == 2]
    later = strength[a + 1] > strength[a]
    keep[a[later]] = False
    keep[a[~later] + 1] = False
    for c0, m in zip(first[size > 2], size[size > 2]):
        last = c0
        for i in range(c0 + 1, c0 + m):  # every peak of the cluster is closer than the gap to the one before it
            if peaks[i] - peaks[last] < gap:
                if strength[i] > strength[last]:
                    keep[last] = False
                    last = i
                else:
                    keep[i] = False
            else:
                last = i
    return peaks[keep], order[keep]


def scan_record(record, lead=None, use_annotations: bool = True, *, chunk_s: float = CHUNK_S, progress=None,
                keep_signal: bool = False, keep_filtered: bool | None = None, drop_extra: bool = True) -> PeakScan:
    """Pass 1: read the record in chunks, filter, find and refine the R peaks.

    Parameters
    ----------
    record : Record
    lead : str, int or None
        Lead name / index; None picks MLII / II, else a channel named ECG / EKG, else the first
        that is not EEG, EOG, SpO2, pressure... (:func:`cardiacml.io.records.default_lead`).
    use_annotations : bool
        Use the record's beat annotations as R peaks when it has them (training, and
        predict on annotated records); otherwise detect with neurokit2. When detecting on
        an annotated record, detections are matched to annotations within 150 ms to give
        reference labels (-1 for unmatched detections).
    chunk_s : float
        Chunk length (s); each chunk is read with :data:`~cardiacml.ecg.filters.SETTLE_S`
        of overlap on both sides so the filtered samples equal a whole-record pass.
    progress : callable(samples_done), optional
    keep_signal : bool
        Also keep the raw lead as float32 (4 bytes a sample: 124 MB for 24 h at 360 Hz).
    keep_filtered : bool or None
        Keep the band-passed lead (``PeakScan.filtered``, 8 bytes a sample) for pass 2 and the record-level checks to
        reuse; None: when the record has at most :data:`KEEP_FILTERED_MAX_SAMPLES` samples.
    drop_extra : bool
        Detected peaks only: drop the detections that are not beats (:func:`cardiacml.ecg.nonbeats.extra_detections`:
        a small deflection inside a normal R-R interval; :func:`cardiacml.ecg.nonbeats.tiny_detections`: one under a
        fifth of the QRS of each of its 4 neighbours on both sides; blocked P waves; no QRS at a flat stretch) and the
        beats within :data:`EDGE_S` of the recording's start or end; each is counted in ``skipped``.

    Raises
    ------
    DataFormatError
        Too low a sampling rate, shorter than 10 s, NaN samples, a flat lead, no beats.
    """
    record = _check_record(record)
    li = record.lead_index(lead)
    where = _check_basic(record, li)
    fs, N = record.fs, record.n_samples
    ann = beat_annotations(record)
    annotated = use_annotations and ann is not None
    chunk = max(int(chunk_s * fs), int(10 * fs))
    settle = int(SETTLE_S * fs)
    P, A, Q, W, B = [], [], [], [], []
    kept = [] if keep_signal else None
    if keep_filtered is None:
        keep_filtered = N <= KEEP_FILTERED_MAX_SAMPLES
    filt = [] if keep_filtered else None
    vmin, vmax = np.inf, -np.inf
    n_min = n_max = r_min = r_max = 0  # samples, and runs, flat at the lowest / highest value (a clipped lead)
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        lo, hi = max(0, s - settle), min(N, e + settle)
        raw = record.read(lo, hi, li)
        runs = flat_runs(raw, fs)  # lead-off / saturated stretches: breaks of the R-R series, edges no beats
        B.append(lo + np.add(*runs) // 2)  # a sample inside each
        bad = ~np.isfinite(raw)
        if bad.any():
            raise DataFormatError(f"{where}: NaN or infinite value at sample {lo + int(np.argmax(bad))}; "
                                  "clean or interpolate the signal first")
        core = raw[s - lo: e - lo]
        if kept is not None:
            kept.append(core.astype(np.float32))
        lo_v, n_lo, r_lo, hi_v, n_hi, r_hi = extreme_runs(core, fs)
        if lo_v <= vmin:
            n_min, r_min = (n_min + n_lo, r_min + r_lo) if lo_v == vmin else (n_lo, r_lo)
        if hi_v >= vmax:
            n_max, r_max = (n_max + n_hi, r_max + r_hi) if hi_v == vmax else (n_hi, r_hi)
        vmin, vmax = min(vmin, lo_v), max(vmax, hi_v)
        f = clean_ecg(raw, fs)
        if filt is not None:
            filt.append(f[s - lo: e - lo])
        if annotated:
            p = ann[0][(ann[0] >= s) & (ann[0] < e)]
        else:
            p = detect_r_peaks(f, fs) + lo
            p = p[(p >= s) & (p < e)]
        p = refine_peaks(f, p, fs, offset=lo)
        loc = p - lo
        P.append(p)
        A.append(f[loc] if len(p) else np.zeros(0))
        Q.append(_qrs_ptp(f, loc, fs) * (annotated | ~near_flat_run(raw, loc, fs, runs=runs)))  # an edge: flat
        if not annotated and drop_extra:
            W.append(steepest_slope(f, loc, fs))
        if progress is not None:
            progress(e - s)
    if vmax - vmin < 1e-3:
        raise DataFormatError(f"{where}: the lead is a flat line (peak-to-peak {vmax - vmin:.2g} mV); no beats to read"
                              + ("; choose another with --lead" if len(record.leads) > 1 else ""))
    peaks, amp, qrs = np.concatenate(P).astype(np.int64), np.concatenate(A), np.concatenate(Q)
    filtered = np.concatenate(filt) if filt is not None else None
    skipped = {}
    labels = None
    if annotated:
        labels = ann[1]
        how = "annotations"
    else:
        # the detector runs on both polarities: the same beat found twice is merged (no beat is lost, none is counted
        # as skipped)
        peaks, keep = _dedupe(peaks, np.abs(amp), fs)
        amp, qrs = amp[keep], qrs[keep]
        if drop_extra and len(peaks):
            keep, skipped = _drop_non_beats(peaks, qrs, fs, N, _p_waves(record, li, peaks, qrs, np.concatenate(W)[keep],
                                                                        filtered, chunk))
            peaks, amp, qrs = peaks[keep], amp[keep], qrs[keep]
        how = "neurokit2 detector"
        if ann is not None:
            ri, di = match_peaks(ann[0], peaks, int(round(0.15 * fs)))
            labels = np.full(len(peaks), -1, np.int64)
            labels[di] = ann[1][ri]
    if not annotated and len(peaks) >= 2 and float(np.median(qrs)) < MIN_QRS_MV:
        raise DataFormatError(f"{where}: no detectable beats: the {len(peaks)} candidate R peaks have a median QRS amplitude of "
                              f"{float(np.median(qrs)) * 1000:.1f} uV, at noise level (< {MIN_QRS_MV * 1000:.0f} uV); "
                              "is this an ECG lead in mV? choose another with --lead")
    if len(peaks) < 2:
        raise DataFormatError(f"{where}: no detectable beats ({len(peaks)} R peak(s) found in {record.duration_s:.0f} s); "
                              "is this an ECG lead? choose another with --lead")
    signal = np.concatenate(kept) if kept is not None else None
    clipped = None
    if n_min + n_max >= CLIP_FRACTION * N and r_min + r_max >= CLIP_MIN_RUNS:  # said, nothing dropped: the beats keep their classes and flags
        side = CLIP_FRACTION / 5 * N
        clipped = {"fraction": round((n_min + n_max) / N, 4), "low_mv": vmin if n_min >= side else None,
                   "high_mv": vmax if n_max >= side else None}
    return PeakScan(record, li, peaks, labels, amp, qrs, how, skipped, None if ann is None else len(ann[0]), signal,
                    filtered, np.unique(np.concatenate(B)).astype(np.int64), clipped)


def _window_positions(peaks: np.ndarray, fs: float) -> np.ndarray:
    """(m, W) sample positions (at ``fs``, fractional) of the contract's window samples around each fiducial."""
    offs = (np.arange(C.W) - C.PRE_S * C.FS) / C.FS * fs
    return np.asarray(peaks, np.float64)[:, None] + offs[None, :]


def _windows(f: np.ndarray, peaks_local: np.ndarray, fs: float) -> np.ndarray:
    """(m, W) windows at contract rate, linear interpolation of ``f`` around each fiducial; 0 outside ``f``."""
    pos = _window_positions(peaks_local, fs)
    i0 = np.floor(pos).astype(np.int64)
    w = pos - i0
    n = len(f)
    fp = np.r_[f, 0.0]  # index n -> 0
    a = np.where((i0 >= 0) & (i0 < n), i0, n)
    b = np.where((i0 + 1 >= 0) & (i0 + 1 < n), i0 + 1, n)
    return (fp[a] * (1.0 - w) + fp[b] * w).astype(np.float32)


def _local_templates(win: np.ndarray, peaks: np.ndarray, first: int, count: int, fs: float) -> np.ndarray:
    """Sample-wise median of each beat's neighbours' windows (up to K per side, within TEMPLATE_MAX_S).

    ``win`` holds the windows of consecutive beats; beats ``first:first+count`` of it get a template.
    """
    K = C.TEMPLATE_K
    m = len(win)
    tgt = np.arange(first, first + count)
    offs = np.r_[np.arange(-K, 0), np.arange(1, K + 1)]
    nb = tgt[:, None] + offs[None, :]
    valid = (nb >= 0) & (nb < m)
    nbc = np.clip(nb, 0, m - 1)
    valid &= np.abs(peaks[nbc] - peaks[tgt][:, None]) <= C.TEMPLATE_MAX_S * fs
    out = np.empty((count, win.shape[1]), win.dtype)
    full = valid.all(1)
    if full.any():  # the usual case: all 2K neighbours present -> median by a selection network (elementwise min/max)
        t = tgt[full]
        out[full] = median_of([win[t + o] for o in offs])
    part = ~full
    if part.any():  # record edges and gaps: median over the valid neighbours only (invalid ones sort last)
        st = np.where(valid[part][:, :, None], win[nbc[part]], np.inf)
        st.sort(axis=1)
        c = valid[part].sum(1)
        cc = np.maximum(c, 1)
        r = np.arange(len(c))
        med = 0.5 * (st[r, (cc - 1) // 2] + st[r, cc // 2])
        out[part] = np.where((c > 0)[:, None], med, win[tgt[part]])
    return out


#: Fill the part of a beat's window that lies outside the recording with its local template (else zeros).
EDGE_FILL = True
#: Revision of what pass 1 / pass 2 produce for a given contract VERSION (training caches are keyed by both): 2 since
#: 0.4.4 (detections merged within 0.2 s, extra and edge detections dropped, windows past the ends filled); 3 since
#: 0.4.15 (no R-R interval across a lead-off / saturated stretch, detections at its edges dropped; MIT-BIH unchanged);
#: 4 since 0.4.16 (detected R peaks: the beats of a regular run over 200 /min, :func:`cardiacml.ecg.detect.fast_run_beats`;
#: tiny detections dropped, :func:`cardiacml.ecg.nonbeats.tiny_detections`); 5 since 0.4.17 (detected R peaks: a beat in
#: the first 0.3 s of the recording, :func:`cardiacml.ecg.detect.first_beats`; kachuee_beats detects as scan_record).
PIPELINE_REVISION = 5


def _fill_outside(own: np.ndarray, tmpl: np.ndarray, peaks: np.ndarray, n_samples: int, fs: float) -> np.ndarray:
    """The beats' windows with the samples that fall outside the recording (before its start, after its end) taken
    from their local templates: what the patient's neighbouring beats show there, instead of a flat zero line that no
    beat has. A 10-s ECG has a beat within 0.7 s of its end in most recordings: its window would otherwise end in
    padding where its template has a T wave."""
    pos = _window_positions(peaks, fs)
    outside = (pos < 0) | (pos > n_samples - 1)
    return np.where(outside, tmpl, own) if outside.any() else own


def iter_rhythm_blocks(scan: PeakScan, *, block_beats: int = BLOCK_BEATS, max_span_s: float = MAX_SPAN_S):
    """Pass 2: yield ``(beat_index, X)`` blocks in the ``beat-rhythm`` contract.

    ``beat_index`` (b,) indexes ``scan.peaks``; ``X`` (b, 1, 2W+F) float32. Each block takes its samples from the
    band-passed lead pass 1 kept (``scan.filtered``) or, for long records, reads and filters only the samples its
    beats, their template neighbours and the filter settling need.
    """
    if int(block_beats) < 1 or not max_span_s > 0:
        raise UsageError(f"block_beats must be >= 1 and max_span_s > 0 (got {block_beats}, {max_span_s})")
    block_beats = int(block_beats)
    rec, fs, li = scan.record, scan.fs, scan.lead
    N, n = rec.n_samples, len(scan.peaks)
    peaks = scan.peaks
    scale = scan.beat_scale
    feats = rr_features(peaks, fs, scan.qrs_ptp, scale, breaks=scan.breaks)
    pol = scan.polarity
    K = C.TEMPLATE_K
    pre = int(np.ceil(C.PRE_S * fs)) + 2
    post = int(np.ceil(C.POST_S * fs)) + 2
    settle = int(SETTLE_S * fs)
    span_max = max_span_s * fs
    i0 = 0
    while i0 < n:
        i1 = min(n, i0 + block_beats)
        while i1 - i0 > 1 and peaks[i1 - 1] - peaks[i0] > span_max:
            i1 = i0 + max(1, (i1 - i0) // 2)
        j0 = max(0, i0 - K)
        while peaks[i0] - peaks[j0] > C.TEMPLATE_MAX_S * fs:
            j0 += 1
        j1 = min(n, i1 + K)
        while peaks[j1 - 1] - peaks[i1 - 1] > C.TEMPLATE_MAX_S * fs:
            j1 -= 1
        lo = max(0, int(peaks[j0]) - pre - settle)
        hi = min(N, int(peaks[j1 - 1]) + post + settle)
        f = scan.filtered[lo:hi] if scan.filtered is not None else clean_ecg(rec.read(lo, hi, li), fs)
        w = _windows(f, peaks[j0:j1] - lo, fs)
        # outside the record the windows hold zeros here; a beat's own window takes its template's samples there
        # below (EDGE_FILL), the neighbours' zeros only sort into the template's median
        w = np.clip(w * (pol / scale[j0:j1]).astype(np.float32)[:, None], -C.AMP_CLIP, C.AMP_CLIP)
        tmpl = _local_templates(w, peaks[j0:j1], i0 - j0, i1 - i0, fs)
        own = w[i0 - j0: i1 - j0]
        if EDGE_FILL and (peaks[i0] < pre or peaks[i1 - 1] > N - post):
            own = _fill_outside(own, tmpl, peaks[i0:i1], N, fs)
        X = np.concatenate([own, tmpl, feats[i0:i1]], 1).astype(np.float32)[:, None, :]
        yield np.arange(i0, i1), X
        i0 = i1


def rhythm_beats(record, lead=None, use_annotations: bool = True, **kw) -> dict:
    """All beats of a record in the ``beat-rhythm`` contract (whole record in memory; training's builder).

    Returns
    -------
    dict
        ``X`` (n, 1, 2W+F) float32, ``time_s`` (n,), ``label`` (n,) when annotations exist,
        ``source``, ``skipped``, ``lead``, ``fs``.
    """
    scan = scan_record(record, lead, use_annotations, **{k: v for k, v in kw.items() if k == "chunk_s"})
    blocks = list(iter_rhythm_blocks(scan, **{k: v for k, v in kw.items() if k in ("block_beats", "max_span_s")}))
    X = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros((0, 1, 2 * C.W + C.F), np.float32)
    out = {"X": X, "time_s": scan.peaks / scan.fs, "source": scan.source, "skipped": dict(scan.skipped),
           "lead": scan.record.leads[scan.lead], "fs": scan.fs}
    if scan.labels is not None:
        out["label"] = scan.labels
    return out
