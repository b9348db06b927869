"""Build Kaggle-style heartbeats from raw MIT-BIH Arrhythmia Database records.

Method of Kachuee, Fazeli & Sarrafzadeh 2018 (arXiv:1805.00794), applied to the
annotated R peaks: MLII lead resampled 360 -> 125 Hz, 10 s windows normalised to
[0, 1], nominal period T = median R-R interval in the window, each beat = the
1.2 T samples starting at its R peak, zero-padded to 187 samples. Annotation
symbols are mapped to the AAMI classes N/S/V/F/Q. Every beat keeps its record
id, so inter-patient splits (de Chazal et al. 2004, DS1/DS2) are possible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingDataError
from ..utils import progress
from .heartbeat import FS, MITBIH_CLASSES, N_SAMPLES, BeatSet

#: AAMI EC57 mapping of MIT-BIH beat annotation symbols to class indices N=0, S=1, V=2, F=3, Q=4.
AAMI_MAP = {
    "N": 0, "L": 0, "R": 0, "e": 0, "j": 0,
    "A": 1, "a": 1, "J": 1, "S": 1,
    "V": 2, "E": 2,
    "F": 3,
    "/": 4, "f": 4, "Q": 4,
}
#: Beat counts of the Kaggle dataset (train + test) for comparison.
KAGGLE_COUNTS = {"N": 90589, "S": 2779, "V": 7236, "F": 803, "Q": 8039}
#: de Chazal et al. 2004 inter-patient split; paced records 102, 104, 107, 217 are in neither.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
WINDOW_S = 10.0


def _require_wfdb():
    try:
        import wfdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Reading raw ECG records needs wfdb: pip install 'cardiacml[ecg]'") from exc
    return wfdb


def resample_signal(x: np.ndarray, fs_in: float, fs_out: float = FS) -> np.ndarray:
    """Polyphase resampling of a 1-D signal from ``fs_in`` to ``fs_out`` Hz."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    frac = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(np.asarray(x, np.float64), frac.numerator, frac.denominator)


def segment_beats(
    signal: np.ndarray, r_peaks: np.ndarray, fs: float = FS, window_s: float = WINDOW_S
) -> tuple[np.ndarray, np.ndarray]:
    """Cut beats with the Kachuee 2018 rule from a signal sampled at ``fs`` (125 Hz).

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
    if fs != FS:
        raise DataFormatError(f"segment_beats expects a signal at {FS:g} Hz, got {fs:g} Hz; resample first")
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
        length = min(int(round(1.2 * T)), N_SAMPLES)
        for i in in_win:
            r = r_peaks[i]
            part = signal[r : r + length]
            out = np.zeros(N_SAMPLES, np.float32)
            out[: len(part)] = np.clip((part - lo) / scale, 0.0, 1.0)
            beats.append(out)
            kept.append(i)
    if not beats:
        return np.zeros((0, N_SAMPLES), np.float32), np.zeros(0, np.int64)
    return np.stack(beats), np.asarray(kept, np.int64)


def read_record_beats(record_path: str | os.PathLike, lead: str = "MLII", fallback_first: bool = True) -> BeatSet:
    """Beats of one raw MIT-BIH record (``.hea``/``.dat``/``.atr``), labelled by AAMI class.

    ``lead`` is used when present; records without it (102 and 104 have V5/V2 only)
    use their first channel when ``fallback_first`` is true, as the Kaggle set did.
    """
    wfdb = _require_wfdb()
    record_path = Path(record_path)
    base = str(record_path.with_suffix("")) if record_path.suffix in (".hea", ".dat", ".atr") else str(record_path)
    if not Path(base + ".hea").is_file():
        raise MissingDataError(f"{base}.hea: no such WFDB header")
    rec = wfdb.rdrecord(base)
    if lead not in rec.sig_name and not fallback_first:
        raise DataFormatError(f"{base}: lead {lead!r} not in record (has {rec.sig_name})")
    x = rec.p_signal[:, rec.sig_name.index(lead) if lead in rec.sig_name else 0]
    ann = wfdb.rdann(base, "atr")
    sym = np.asarray(ann.symbol)
    keep = np.isin(sym, list(AAMI_MAP))
    r360 = np.asarray(ann.sample)[keep]
    labels = np.array([AAMI_MAP[s] for s in sym[keep]], np.int64)
    sig = resample_signal(x, rec.fs, FS)
    r125 = np.clip(np.round(r360 * FS / rec.fs).astype(np.int64), 0, len(sig) - 1)
    beats, kept = segment_beats(sig, r125)
    rid = Path(base).name
    return BeatSet(beats, labels[kept], MITBIH_CLASSES, np.full(len(kept), rid))


def list_records(mitdb_dir: str | os.PathLike) -> list[str]:
    """Record names of a MIT-BIH directory (from its RECORDS file, else the .hea files)."""
    d = Path(mitdb_dir)
    if not d.is_dir():
        raise MissingDataError(f"{d}: MIT-BIH directory not found")
    rec_file = d / "RECORDS"
    if rec_file.is_file():
        names = [ln.strip() for ln in rec_file.read_text().splitlines() if ln.strip()]
    else:
        names = sorted(p.stem for p in d.glob("*.hea"))
    names = [n for n in names if (d / f"{n}.hea").is_file() and (d / f"{n}.atr").is_file()]
    if not names:
        raise MissingDataError(f"{d}: no WFDB records with .hea and .atr files")
    return names


def build_beats(mitdb_dir: str | os.PathLike, records=None, n_jobs: int = 1) -> BeatSet:
    """Build the Kaggle-style beat dataset from all (or the given) records of ``mitdb_dir``.

    Returns a :class:`BeatSet` whose ``groups`` holds each beat's record id.
    """
    names = list(records) if records else list_records(mitdb_dir)
    paths = [str(Path(mitdb_dir) / n) for n in names]
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(n_jobs) as ex:
            parts = list(progress(ex.map(read_record_beats, paths), total=len(paths), desc="records", unit="rec"))
    else:
        parts = [read_record_beats(p) for p in progress(paths, desc="records", unit="rec")]
    return BeatSet(
        np.concatenate([p.X for p in parts]),
        np.concatenate([p.y for p in parts]),
        MITBIH_CLASSES,
        np.concatenate([p.groups for p in parts]),
    )


def save_beats(beats: BeatSet, path: str | os.PathLike) -> Path:
    """Save a BeatSet (X, y, classes, groups) to one ``.npz`` file."""
    from ..utils import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, X=beats.X, y=beats.y, classes=np.array(beats.classes),
                     groups=beats.groups if beats.groups is not None else np.array([]))
    return path


def load_beats(path: str | os.PathLike) -> BeatSet:
    """Load a BeatSet saved by :func:`save_beats`."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such beats file (make one with `cardiacml data build-beats`)")
    with np.load(path, allow_pickle=False) as z:
        groups = z["groups"] if z["groups"].size else None
        return BeatSet(z["X"], z["y"], tuple(str(c) for c in z["classes"]), groups)


def split_random(beats: BeatSet, test_size: float = 0.2, seed: int = 0) -> tuple[BeatSet, BeatSet]:
    """Stratified random beat split (as the Kaggle files: beats of one patient land on both sides)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(beats))
    tr, te = train_test_split(idx, test_size=test_size, stratify=beats.y, random_state=seed)
    return beats.subset(np.sort(tr)), beats.subset(np.sort(te))


def split_interpatient(beats: BeatSet) -> tuple[BeatSet, BeatSet]:
    """de Chazal DS1 (train) / DS2 (test) split by record; paced records are dropped."""
    if beats.groups is None:
        raise DataFormatError("inter-patient split needs record ids (beats built with build_beats)")
    g = np.asarray(beats.groups).astype(str)
    return beats.subset(np.flatnonzero(np.isin(g, DS1))), beats.subset(np.flatnonzero(np.isin(g, DS2)))
