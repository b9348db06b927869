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
    """Kaggle-contract beats of a raw record through the one record -> beats pipeline (same code as training's builder).

    R peaks: annotations when present and asked for, else neurokit2 detection. For
    ``beat-rhythm`` models, predict goes through :func:`cardiacml.ecg.predict.predict_record` instead.
    """
    from ..data.records import open_record
    from ..ecg.pipeline import kachuee_beats

    d = kachuee_beats(open_record(base), lead, use_annotations, strict_checks=True)
    out = {"X": d["X"][:, None, :], "r_peak_s": d["r_peak_s"], "source": d["source"], "skipped": d["skipped"]}
    if "label" in d:
        out["label"] = d["label"]
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
