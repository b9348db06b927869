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
from ..contracts.beat import MITBIH_CLASSES
from .kaggle import BeatSet

#: Beat counts of the Kaggle dataset (train + test) for comparison.
KAGGLE_COUNTS = {"N": 90589, "S": 2779, "V": 7236, "F": 803, "Q": 8039}
#: de Chazal et al. 2004 inter-patient split; paced records 102, 104, 107, 217 are in neither.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")


def read_record_beats(record_path: str | os.PathLike, lead: str | None = None, fallback_first: bool = True) -> BeatSet:
    """Beats of one raw MIT-BIH record (``.hea``/``.dat``/``.atr``), labelled by AAMI class (Kaggle contract).

    Goes through the one record -> beats pipeline (:func:`cardiacml.ecg.pipeline.kachuee_beats`),
    the same code ``cardiacml predict`` uses. ``lead`` None picks MLII, else II, else the first
    channel (102 and 104 have V5/V2 only), as the Kaggle set did; a named lead that is absent
    falls back to that choice when ``fallback_first``.
    """
    from ..ecg.pipeline import kachuee_beats
    from ..io import open_record

    rec = open_record(record_path)
    if lead is not None and str(lead).upper() not in [n.upper() for n in rec.leads]:
        if not fallback_first:
            raise DataFormatError(f"{rec.path}: lead {lead!r} not in record (has {list(rec.leads)})")
        lead = None
    if rec.annotations() is None:
        raise MissingDataError(f"{rec.path}.atr: no beat annotations (needed for labelled training beats)")
    d = kachuee_beats(rec, lead, use_annotations=True)
    return BeatSet(d["X"], d["label"], MITBIH_CLASSES, np.full(len(d["X"]), Path(str(rec.path)).name))


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

        from ..utils import worker_context

        with ProcessPoolExecutor(n_jobs, mp_context=worker_context()) as ex:
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


def stratified_split(y, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (first, second) of a stratified random split of labels ``y``.

    A class of a single beat cannot lie on both sides: it stays in the first part (scikit-learn refused the whole
    split with a traceback); a set too small to give the second part a beat of every class is one DataFormatError.
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    idx = np.arange(len(y))
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    alone = counts[inverse] < 2
    try:
        a, b = train_test_split(idx[~alone], test_size=test_size, stratify=y[~alone], random_state=seed)
    except ValueError as exc:
        raise DataFormatError(f"{len(y)} beats cannot be split {1 - test_size:.0%} / {test_size:.0%} with a beat of "
                              f"every class on both sides ({exc}); give more beats") from None
    return np.sort(np.concatenate([a, idx[alone]])), np.sort(b)


def split_random(beats: BeatSet, test_size: float = 0.2, seed: int = 0) -> tuple[BeatSet, BeatSet]:
    """Stratified random beat split (as the Kaggle files: beats of one patient land on both sides)."""
    tr, te = stratified_split(beats.y, test_size, seed)
    return beats.subset(tr), beats.subset(te)


def split_interpatient(beats: BeatSet) -> tuple[BeatSet, BeatSet]:
    """de Chazal DS1 (train) / DS2 (test) split by record; paced records are dropped."""
    if beats.groups is None:
        raise DataFormatError("inter-patient split needs record ids (beats built with build_beats)")
    g = np.asarray(beats.groups).astype(str)
    return beats.subset(np.flatnonzero(np.isin(g, DS1))), beats.subset(np.flatnonzero(np.isin(g, DS2)))


# ---------------------------------------------------------------------------------------------
# Rhythm-aware beats (beat-rhythm contract) for the inter-patient task
# ---------------------------------------------------------------------------------------------
#: Recording-level augmentations applied to training records (one extra copy each): "rate" (another
#: recorder: rate, gain, polarity, noise, wander, mains), "recorder" (the same plus the recorder's own band-pass,
#: muscle-noise bursts and electrode-motion artefacts), "lead2" (the other lead), "detect" (R peaks
#: detected as on unannotated records, beats labelled where they match an annotation).
AUGMENTATIONS = ("rate", "recorder", "lead2")
_RATES = (128.0, 200.0, 250.0, 257.0, 500.0, 1000.0)


def augmented_record(rec, kind: str, seed: int):
    """An in-memory copy of a MIT-BIH record as another recorder might have captured it.

    ``kind="rate"``: the preferred lead resampled to a random rate of 128-1000 Hz, gain x0.3-3,
    random polarity, white noise 5-60 uV, baseline wander (0.05-0.5 Hz, up to 0.6 mV) and
    mains (50 or 60 Hz, up to 0.1 mV). ``kind="recorder"``: the same, then what recorders and
    ambulatory wear add (:func:`_recorder_effects`): the recorder's own causal band-pass (high-pass
    0.05-0.67 Hz, low-pass 25-150 Hz, as monitors, Holters and diagnostic carts differ), muscle-noise
    bursts and electrode-motion artefacts. ``kind="lead2"``: the record's other lead (V1, V2,
    V4 or V5) with the same treatment as "rate". Annotations move with the resampling.
    """
    from ..ecg.filters import resample
    from ..io import ArrayRecord

    rng = np.random.default_rng(seed)
    li = rec.lead_index(None)
    if kind == "lead2":
        li = 1 - li if len(rec.leads) > 1 else li
    x = rec.read(lead=li)
    fs = float(rng.choice(_RATES))
    y = resample(x, rec.fs, fs)
    t = np.arange(len(y)) / fs
    y = y * rng.uniform(0.3, 3.0) * (-1.0 if rng.random() < 0.2 else 1.0)
    y = y + rng.uniform(0.005, 0.06) * rng.standard_normal(len(y))
    for _ in range(2):
        y = y + rng.uniform(0.0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3))
    if 0.48 * fs > 50:
        y = y + rng.uniform(0.0, 0.1) * np.sin(2 * np.pi * float(rng.choice([50.0, 60.0])) * t)
    if kind == "recorder":
        y = _recorder_effects(y, fs, rng)
    samples, symbols = rec.annotations()
    s = np.clip(np.round(np.asarray(samples) * fs / rec.fs).astype(np.int64), 0, len(y) - 1)
    return ArrayRecord(y, fs, [f"{rec.leads[li]}"], path=f"{rec.path}[{kind}@{fs:g}Hz]", annotations=(s, np.asarray(symbols)))


def _recorder_effects(y: np.ndarray, fs: float, rng) -> np.ndarray:
    """A recorder's band-pass, muscle noise and electrode motion on a lead ``y`` (mV) at ``fs`` Hz.

    * band-pass: causal Butterworth (order 1-2) high-pass at 0.05-0.67 Hz (AHA diagnostic 0.05 Hz to monitor 0.67 Hz)
      and low-pass at 25-150 Hz (below 0.45 fs), applied forward only, as an analogue front end does (it shifts and
      rounds the ST segment and the QRS a little, which zero-phase filters would not);
    * muscle noise (EMG): white noise band-limited to 20 Hz-0.45 fs, 20-200 uV RMS, in bursts of 1-10 s over
      about a fifth of the record;
    * electrode motion: 0.5-8 Hz noise transients of 0.1-1.5 mV lasting 0.3-3 s, 0-6 a minute, and rare baseline
      steps (electrode pops) that the high-pass then drains.

    The NSTDB's recorded noise would be closer to life; it is not on these machines, so its kinds are synthesised.
    """
    from scipy.signal import butter, sosfilt

    n = len(y)
    hp = float(rng.uniform(0.05, 0.67))
    lp = float(min(rng.uniform(25.0, 150.0), 0.45 * fs))
    order = int(rng.integers(1, 3))
    y = sosfilt(butter(order, hp, btype="highpass", fs=fs, output="sos"), y)
    y = sosfilt(butter(order, lp, btype="lowpass", fs=fs, output="sos"), y)
    # muscle bursts
    hi = min(150.0, 0.45 * fs)
    if hi > 25.0:
        emg = sosfilt(butter(2, [20.0, hi], btype="bandpass", fs=fs, output="sos"), rng.standard_normal(n))
        emg *= rng.uniform(0.02, 0.2) / (emg.std() + 1e-12)
        gate = np.zeros(n)
        covered, target = 0, rng.uniform(0.05, 0.35) * n
        while covered < target:
            a, d = int(rng.integers(0, n)), int(rng.uniform(1.0, 10.0) * fs)
            gate[a:a + d] = 1.0
            covered += d
        y = y + emg * gate
    # electrode motion: low-frequency transients and baseline steps
    slow = sosfilt(butter(2, [0.5, 8.0], btype="bandpass", fs=fs, output="sos"), rng.standard_normal(n))
    slow /= slow.std() + 1e-12
    minutes = n / fs / 60.0
    for _ in range(int(rng.poisson(rng.uniform(0.0, 6.0) * minutes))):
        a, d = int(rng.integers(0, n)), int(rng.uniform(0.3, 3.0) * fs)
        seg = slice(a, min(n, a + d))
        w = np.hanning(seg.stop - seg.start) if seg.stop - seg.start > 2 else 1.0
        y[seg] += rng.uniform(0.1, 1.5) * slow[seg] * w
    steps = np.zeros(n)
    for _ in range(int(rng.poisson(0.2 * minutes))):
        steps[int(rng.integers(0, n)):] += rng.uniform(-1.0, 1.0)
    y = y + sosfilt(butter(1, hp, btype="highpass", fs=fs, output="sos"), steps)
    return y


def read_record_rhythm(record_path, variant: str = "orig", seed: int = 0) -> dict:
    """Beat-rhythm beats of one annotated record (``variant`` "orig" or an :data:`AUGMENTATIONS` name).

    Same code as prediction: :func:`cardiacml.ecg.pipeline.rhythm_beats` with annotations.
    Returns dict ``X`` (n, 1, 2W+F) float32, ``y`` (n,) AAMI labels, ``record``.
    """
    from ..ecg.pipeline import rhythm_beats
    from ..io import open_record

    rec = open_record(record_path)
    if rec.annotations() is None:
        raise MissingDataError(f"{rec.path}.atr: no beat annotations (needed for labelled training beats)")
    if variant == "detect":  # R peaks as predict finds them on unannotated records; labels of matched beats only
        d = rhythm_beats(rec, None, use_annotations=False)
        ok = d["label"] >= 0
        return {"X": d["X"][ok], "y": d["label"][ok], "record": Path(str(record_path)).name}
    if variant != "orig":
        rec = augmented_record(rec, variant, seed)
    d = rhythm_beats(rec, None, use_annotations=True)
    return {"X": d["X"], "y": d["label"], "record": Path(str(record_path)).name}


def source_stamp(paths) -> str:
    """A short key of files' names, sizes and modification times: a cache built from other files (another MIT-BIH
    folder, records edited) has another key, so it is never taken for this one's."""
    import hashlib

    h = hashlib.sha1()
    for q in paths:
        q = Path(q)
        try:
            st = q.stat()
            h.update(f"{q.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{q.name}|missing\n".encode())
    return h.hexdigest()[:10]


def record_stamp(record_path: Path) -> str:
    """:func:`source_stamp` of a WFDB record's header, signal and annotation files."""
    base = Path(record_path)  # only the record's own files: a predict output written beside it changes nothing
    return source_stamp([base.with_name(base.name + ext) for ext in RECORD_FILES])


#: The files of a WFDB record a cache of it depends on.
RECORD_FILES = (".hea", ".dat", ".atr")


def _rhythm_cached(mitdb: Path, name: str, variant: str, seed: int, cache: Path | None) -> dict:
    from ..contracts.rhythm import VERSION
    from ..ecg.pipeline import PIPELINE_REVISION

    if cache is not None and not (mitdb / f"{name}.hea").is_file():  # never a cache of a record this folder lacks
        raise MissingDataError(f"{mitdb}: record {name} not found (no {name}.hea)")
    f = None if cache is None else cache / (f"rhythm_v{VERSION}r{PIPELINE_REVISION}_{name}_{variant}_s{seed}_"
                                            f"{record_stamp(mitdb / name)}.npz")
    if f is not None and f.is_file():
        with np.load(f, allow_pickle=False) as z:
            return {"X": z["X"], "y": z["y"], "record": name}
    d = read_record_rhythm(mitdb / name, variant, seed)
    if f is not None:
        from ..utils import atomic_path

        with atomic_path(f) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, X=d["X"], y=d["y"])
    return d


def build_rhythm(mitdb, records, variants=("orig",), seed: int = 0, cache_dir=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack beat-rhythm beats of ``records`` x ``variants``; returns (X, y, record ids)."""
    mitdb = Path(mitdb)
    cache = None
    if cache_dir is not False:
        from ..utils import default_cache_dir

        cache = Path(cache_dir or default_cache_dir())
        cache.mkdir(parents=True, exist_ok=True)
    jobs = [(n, v) for n in records for v in variants]
    parts = [_rhythm_cached(mitdb, n, v, seed + 1000 * i + int(n), cache)
             for i, (n, v) in enumerate(progress(jobs, desc="records", unit="rec"))]
    X = np.concatenate([p["X"] for p in parts])
    y = np.concatenate([p["y"] for p in parts])
    g = np.concatenate([np.full(len(p["y"]), p["record"]) for p in parts])
    return X, y, g
