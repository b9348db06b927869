"""Read users' inputs into model-ready arrays, with clear errors (no torch needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..contracts.beat import FS, N_SAMPLES
from ..errors import DataFormatError, MissingDataError


def _check_finite(arr: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise DataFormatError(f"{what}: NaN or infinite value at index {tuple(int(i) for i in idx)} "
                              f"({int(bad.sum())} in all); clean or interpolate the signal first")


def resolve_lead(record, lead):
    """A lead given on the command line: a name of the record's, else a 0-based index (``"1"``), else as given.

    A lead *named* ``"1"`` wins over the index 1; a number out of range is an error naming the record's leads.
    """
    if isinstance(lead, str) and lead.strip().lstrip("-").isdigit():
        if lead.strip().upper() not in [str(n).strip().upper() for n in record.leads]:
            return int(lead.strip())
    return lead


#: Suffixes that may hold already-cut Kaggle-format beats (else a raw signal).
_BEAT_SUFFIXES = (".csv", ".npy")


def looks_like_beats(path: str | os.PathLike) -> bool:
    """True when ``path`` holds Kaggle-format beats rather than a raw signal.

    Beats: a ``.npy`` of shape (187,), (n, 187) or (n, 1, 187); a ``.csv`` whose first line
    is 187 or 188 comma-separated numbers (no header). Anything else (a header, a time
    column, another width, ``.npz``/``.edf``/WFDB...) is a raw signal. Only the ``.npy``
    header or the CSV's first line is read.
    """
    p = Path(path)
    if p.suffix.lower() not in _BEAT_SUFFIXES or not p.is_file():
        return False
    if p.suffix.lower() == ".npy":
        from ..io.formats import load_npy

        arr = load_npy(p, mmap=True)
        shape = arr.shape
        return (shape == (N_SAMPLES,) or (len(shape) == 2 and shape[1] == N_SAMPLES)
                or (len(shape) == 3 and shape[1:] == (1, N_SAMPLES)))
    with open(p, "r", encoding="utf-8-sig", errors="replace") as fh:
        first = ""
        for first in fh:
            if first.strip():
                break
    fields = [f.strip() for f in first.strip().split(",")]
    if len(fields) not in (N_SAMPLES, N_SAMPLES + 1):
        return False
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def read_beats(path: str | os.PathLike, fs: float | None = None, *, lead: str | int | None = None,
               use_annotations: bool = True, units: str | None = None) -> dict:
    """Beats of a user's file, ready for a Task 1/2 model.

    Accepted inputs:

    * already-cut beats (:func:`looks_like_beats`): a Kaggle-format CSV (187 samples at
      125 Hz, optionally followed by a label column) or a ``.npy`` of shape (n, 187);
      ``fs`` must then be None or 125;
    * a raw recording, any sampling rate: WFDB (``.hea`` path or record name), CSV/TSV/TXT
      (header with lead names or not, time column or ``fs``), ``.npy``/``.npz`` (``fs``
      required unless in the ``.npz``), EDF/EDF+/BDF; opened with
      :func:`cardiacml.io.open_record` and cut by :func:`cardiacml.ecg.pipeline.kachuee_beats` (the same
      code as training's MIT-BIH builder and ``cardiacml predict``).

    Parameters
    ----------
    path : path-like
    fs : float, optional
        Sampling rate (Hz) of a raw signal without one in the file; 125 for beats.
    lead : str or int, optional
        Lead to use (name, case-insensitive, or index); default MLII / II, else a channel named
        ECG / EKG, else the first that is not EEG, EOG, SpO2, pressure... (:func:`cardiacml.io.records.default_lead`).
    use_annotations : bool
        Use the file's beat annotations (WFDB ``.atr``, EDF+ beat symbols) when present.
    units : {"mV", "uV", "V", "counts/N"}, optional
        Unit of a raw signal's values (``"counts/N"``: raw ADC counts, N per mV; not for WFDB / EDF files, whose
        headers give the gain); default: from the file, else guessed from the amplitude.

    Returns
    -------
    dict
        ``X`` (n, 1, 187) float32 and, where known, ``time_s`` (R-peak times, s),
        ``label`` (labels found in the file), ``source`` (a description), ``notes``.
    """
    from ..io import open_record, wfdb_base
    from ..utils import as_path

    p = as_path(path, "read_beats: path")
    if wfdb_base(p) is None:
        if not p.is_file():
            raise MissingDataError(f"{p}: no such file (expected beats (.csv/.npy), a raw recording "
                                   "(.csv/.tsv/.txt/.npy/.npz/.edf/.bdf) or a WFDB record with a .hea header)")
        if looks_like_beats(p):
            return read_cut_beats(p, fs)
        check_raw_npy(p, fs)
    record = open_record(p, fs=fs, units=units)
    if fs is not None and abs(float(fs) - record.fs) > 1e-6 * record.fs:
        raise DataFormatError(f"{p}: fs={float(fs):g} Hz given, but the file says {record.fs:g} Hz")
    lead = resolve_lead(record, lead)
    from ..ecg.pipeline import kachuee_beats

    d = kachuee_beats(record, lead, use_annotations, strict_checks=True)
    out = {"X": d["X"][:, None, :], "time_s": d["time_s"], "source": d["source"], "skipped": d["skipped"],
           "notes": list(getattr(record, "notes", []))}
    if "label" in d:
        out["label"] = d["label"]
    return out


def check_raw_npy(path, fs) -> None:
    """A ``.npy`` that is not Kaggle beats is a raw signal, which needs its sampling rate: say so, with its shape."""
    p = Path(path)
    if fs is None and p.suffix.lower() == ".npy" and p.is_file() and not looks_like_beats(p):
        from ..io.formats import load_npy

        shape = load_npy(p, mmap=True).shape
        raise DataFormatError(f"{p}: shape {shape} is neither beats ({N_SAMPLES} samples at {FS:g} Hz, shape "
                              f"(n, {N_SAMPLES})) nor a raw signal with a known sampling rate: for a raw signal "
                              "give fs= (--fs, Hz)")


def read_cut_beats(p: Path, fs: float | None) -> dict:
    """Kaggle-format beats (187 samples at 125 Hz, values in [0, 1]) from a .csv or .npy."""
    if fs is not None:  # "125" as open_record takes it ("360" was a ValueError from the message's {fs:g})
        from ..io.units import check_fs

        rate = check_fs(fs, p, "")
        if rate != FS:
            raise DataFormatError(f"{p}: holds already-cut beats ({N_SAMPLES} samples), which are sampled at {FS:g} "
                                  f"Hz; got fs={rate:g} Hz. Give the raw recording instead and cardiacml resamples it.")
    label = None
    if p.suffix == ".npy":
        from ..io.formats import load_npy

        arr = np.array(load_npy(p, mmap=False))
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
    if arr.dtype.kind not in "fiu":
        raise DataFormatError(f"{p}: beats must be numbers, got dtype {arr.dtype}")
    _check_finite(arr, str(p))
    if label is not None:  # 1.5 was read as class 1, NaN and -1 as a reference matching no class
        bad = ~np.isfinite(label) | (label != np.round(label)) | (label < 0)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataFormatError(f"{p}, row {r + 1}: label {label[r]:g} (column {N_SAMPLES + 1}) is not a class index "
                                  "(a whole number from 0)")
    if arr.min() < -0.5 or arr.max() > 1.5:
        raise DataFormatError(f"{p}: beat values should lie in [0, 1] (min-max normalised as in the Kaggle data); "
                              f"found range [{arr.min():.3g}, {arr.max():.3g}]")
    out = {"X": arr.astype(np.float32)[:, None, :], "source": str(p)}
    if label is not None:
        out["label"] = label.astype(np.int64)
    return out


def read_ecg12(path: str | os.PathLike, fs: float | None = None, *, units: str | None = None, beat="auto",
               leads=None, return_info: bool = False, version: int | None = None):
    """A 12-lead ECG for Tasks 3/4, (n, 12, 500) float32 mV at 1 kHz (see :mod:`cardiacml.inference.ecg12`).

    Model-format arrays (pECGData (500, 10) / (n, 500, 10), 12-lead (12, 500) / (n, 12, 500))
    are used as they are; longer arrays (``fs`` needed) and recordings (WFDB, CSV, EDF/BDF,
    ``.npz``) are resampled to 1 kHz and cut to one 500 ms beat window starting just before
    a detected QRS onset (``beat``: "auto", an index or "all").

    Returns ``X``, or ``(X, info)`` with ``return_info`` (``info["windows"]`` says which window
    was used).
    """
    from .ecg12 import load_ecg12

    from ..contracts.ecg12 import WINDOW_VERSION

    X, info = load_ecg12(path, fs=fs, units=units, beat=beat, leads=leads,
                         version=WINDOW_VERSION if version is None else version)
    return (X, info) if return_info else X
