"""Read users' inputs into model-ready arrays, with clear errors (no torch needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..data.heartbeat import FS, N_SAMPLES
from ..errors import DataFormatError, MissingDataError


def _check_finite(arr: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise DataFormatError(f"{what}: NaN or infinite value at index {tuple(int(i) for i in idx)} "
                              f"({int(bad.sum())} in all); clean or interpolate the signal first")


def read_beats(path: str | os.PathLike, fs: float | None = None, *, lead: str | None = None,
               use_annotations: bool = True) -> dict:
    """Beats of a user's file, ready for a Task 1/2 model.

    Accepted inputs:

    * a Kaggle-format CSV (187 samples, optionally followed by a label column);
    * a ``.npy`` array of beats, shape (n, 187) or (187,);
    * a raw WFDB record (``.hea`` path or record name): the lead (MLII by default,
      else the first) is resampled to 125 Hz; R peaks come from the ``.atr``
      annotations when present (``use_annotations``) or from wfdb's XQRS detector;
      beats are cut with the Kachuee 2018 rule.

    ``fs`` is the sampling rate of CSV/npy beats; anything but 125 Hz is refused
    (these are already-segmented beats; pass the raw record instead).

    Returns a dict with ``X`` (n, 1, 187) float32 and, where known, ``r_peak_s``
    (times of the R peaks in s), ``label`` (labels found in the file) and ``source``.
    """
    p = Path(path)
    wfdb_base = p.with_suffix("") if p.suffix in (".hea", ".dat", ".atr") else p
    if Path(str(wfdb_base) + ".hea").is_file():
        return _read_record_beats(wfdb_base, lead, use_annotations)
    if not p.is_file():
        raise MissingDataError(f"{p}: no such file (expected a .csv, a .npy, or a WFDB record with a .hea header)")
    if fs is not None and float(fs) != FS:
        raise DataFormatError(f"{p}: beats must be sampled at {FS:g} Hz (187 samples), got fs={fs:g} Hz. "
                              "Give the raw recording (WFDB record) instead and cardiacml resamples it.")
    label = None
    if p.suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except Exception as exc:
            raise DataFormatError(f"{p}: unreadable .npy file ({exc})") from exc
        arr = np.atleast_2d(arr)
        if arr.ndim == 3 and arr.shape[1] == 1:
            arr = arr[:, 0]
    else:
        import pandas as pd

        try:
            arr = pd.read_csv(p, header=None).to_numpy(np.float64)
        except Exception as exc:
            raise DataFormatError(f"{p}: cannot read as a numeric CSV ({exc})") from exc
        if arr.shape[1] == N_SAMPLES + 1:
            arr, label = arr[:, :N_SAMPLES], arr[:, N_SAMPLES]
    if arr.ndim != 2 or arr.shape[1] != N_SAMPLES:
        raise DataFormatError(f"{p}: beats must have {N_SAMPLES} samples at 125 Hz (shape (n, {N_SAMPLES})), got shape {arr.shape}")
    _check_finite(arr, str(p))
    if arr.min() < -0.5 or arr.max() > 1.5:
        raise DataFormatError(f"{p}: beat values should lie in [0, 1] (min-max normalised as in the Kaggle data); "
                              f"found range [{arr.min():.3g}, {arr.max():.3g}]")
    out = {"X": arr.astype(np.float32)[:, None, :], "source": str(p)}
    if label is not None:
        out["label"] = label.astype(np.int64)
    return out


def _read_record_beats(base: Path, lead: str | None, use_annotations: bool) -> dict:
    from ..data.mitbih import AAMI_MAP, _require_wfdb, resample_signal, segment_beats

    wfdb = _require_wfdb()
    rec = wfdb.rdrecord(str(base))
    names = [n.upper() for n in rec.sig_name]
    want = (lead or "MLII").upper()
    ch = names.index(want) if want in names else (names.index("II") if lead is None and "II" in names else 0)
    if lead is not None and lead.upper() not in names:
        raise DataFormatError(f"{base}: lead {lead!r} not in record (has {rec.sig_name})")
    x = rec.p_signal[:, ch]
    _check_finite(x, f"{base} lead {rec.sig_name[ch]}")
    labels = None
    if use_annotations and Path(str(base) + ".atr").is_file():
        ann = wfdb.rdann(str(base), "atr")
        sym = np.asarray(ann.symbol)
        keep = np.isin(sym, list(AAMI_MAP))
        r = np.asarray(ann.sample)[keep]
        labels = np.array([AAMI_MAP[s] for s in sym[keep]])
        how = "annotations"
    else:
        from wfdb import processing

        r = np.asarray(processing.xqrs_detect(sig=x, fs=rec.fs, verbose=False))
        how = "XQRS detector"
    sig = resample_signal(x, rec.fs, FS)
    r125 = np.clip(np.round(r * FS / rec.fs).astype(np.int64), 0, len(sig) - 1)
    beats, kept = segment_beats(sig, r125)
    out = {"X": beats[:, None, :], "r_peak_s": r[kept] / rec.fs, "source": f"{base} ({rec.sig_name[ch]}, {rec.fs:g} Hz, R peaks from {how})"}
    if labels is not None:
        out["label"] = labels[kept]
    return out


def read_ecg12(path: str | os.PathLike) -> np.ndarray:
    """A 12-lead ECG for Tasks 3/4: a pECGData file (500, 10) or an array (12, 500) / (n, 12, 500).

    Returns (n, 12, 500) float32.
    """
    from ..data.intracardiac import leads_from_electrodes

    p = Path(path)
    if not p.is_file():
        raise MissingDataError(f"{p}: no such file")
    try:
        arr = np.load(p, allow_pickle=False)
    except Exception as exc:
        raise DataFormatError(f"{p}: unreadable .npy file ({exc})") from exc
    _check_finite(arr, str(p))
    if arr.shape == (500, 10):
        arr = leads_from_electrodes(arr)
    elif arr.ndim == 3 and arr.shape[1:] == (500, 10):
        arr = leads_from_electrodes(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (12, 500):
        raise DataFormatError(f"{p}: expected a pECGData array (500, 10) or a 12-lead ECG (12, 500) / (n, 12, 500) "
                              f"sampled at 1 kHz, got shape {arr.shape}")
    return arr.astype(np.float32)
