"""12-lead ECG input of Tasks 3-4 from any file: formats and array layouts (the processing is :mod:`cardiacml.ecg.twelve_lead`).

The models of Tasks 3-4 take one beat as (12, 500): leads I, II, III, aVR, aVL, aVF,
V1..V6 (:data:`cardiacml.datasets.intracardiac.LEADS`) at 1 kHz, starting at the onset of
ventricular activation. :func:`load_ecg12` turns a user's file into that:

* arrays already in model format, pECGData electrodes (500, 10) / (n, 500, 10) and 12-lead
  beats (12, 500) / (n, 12, 500) / (500, 12) at 1 kHz, are taken as simulator beats from
  activation onset: a window-version-2 model (the shipped ones) gets them through the training
  input path (:func:`cardiacml.ecg.twelve_lead.simulated_windows`), a version-1 model as they are;
* longer 12-lead arrays (12, T) / (T, 12) / (n, 12, T), 10-electrode arrays (T, 10) /
  (n, T, 10) (RA, LA, LL, RL, V1..V6) at any ``fs``, and recordings (WFDB, CSV, EDF/BDF,
  ``.npz``, through :func:`cardiacml.io.open_record`) with lead names are
  resampled to 1 kHz and cut around one detected QRS complex.

The beat window (QRS onset, 5 ms lead, baseline) is explained in :mod:`cardiacml.ecg.twelve_lead`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..contracts.ecg12 import ELECTRODES, LEADS, N_TIMES, WINDOW_VERSION, leads_from_electrodes
from ..ecg.filters import MIN_FS
from ..ecg.twelve_lead import FS_MODEL, PRE_MS, beat_window, simulated_windows, to_twelve_leads
from ..errors import DataFormatError, MissingDataError

#: At most this many seconds of a long recording are searched for beats (from ``start_s``).
MAX_SECONDS = 120.0


def _is_model_ready(arr: np.ndarray, fs) -> bool:
    return fs is None or abs(float(fs) - FS_MODEL) < 1e-9


def load_ecg12(path: str | os.PathLike, *, fs: float | None = None, units: str | None = None, beat="auto",
               pre_ms: float = PRE_MS, leads=None, start_s: float = 0.0, max_seconds: float = MAX_SECONDS,
               version: int = WINDOW_VERSION) -> tuple[np.ndarray, dict]:
    """A user's 12-lead ECG file -> model input (n, 12, 500) float32 and a description.

    Parameters
    ----------
    path : path-like
        ``.npy`` array (see the module docstring for the layouts), or a recording that
        :func:`cardiacml.io.open_record` reads (WFDB, CSV/TSV/TXT, EDF/BDF, ``.npz``)
        with lead names I, II, (III, aVR, aVL, aVF,) V1..V6 or electrodes RA, LA, LL, RL, V1..V6.
    fs : float, optional
        Sampling rate (Hz) when the file has none (``.npy``, CSV without time column).
        A model-format array (500 samples) is taken at 1 kHz when ``fs`` is None.
    units : {"mV", "uV", "V", "counts/N"}, optional
        Unit of the values (``"counts/N"``: raw ADC counts, N per mV); default: from the file, else guessed from
        the amplitude; model-format arrays default to mV.
    beat : "auto", int or "all"
        Beat to cut from a recording (see :func:`beat_window`).
    pre_ms : float
        Window start before the detected QRS onset (ms).
    leads : str or sequence, optional
        Lead names for a file without them (CSV without header, ``.npy`` with another order); refused for a WFDB
        record, whose header names its leads.
    start_s, max_seconds : float
        Part of a long recording searched for beats.
    version : int
        Beat-window version of the model (its contract's; :func:`cardiacml.contracts.ecg12.window_version`). Version 2
        puts simulator-format beats (pECGData, 500 ms from activation onset) through the same path as training
        (:func:`cardiacml.ecg.twelve_lead.simulated_windows`); version 1 uses them as they are.

    Returns
    -------
    X : ndarray, shape (n, 12, 500), float32 (version 2: amplitude-normalised; version 1: mV)
    info : dict
        ``source``, ``input`` (layout read), ``fs_in``, ``derived`` (leads computed),
        ``windows`` (one dict per row of ``X``, see :func:`beat_window`; None for arrays
        used as they are), ``notes``.
    """
    from ..io.formats import load_npy
    from ..io.units import check_fs, parse_leads, resolve_units, robust_amplitude
    from ..io import ArrayRecord, open_record, unit_scale, wfdb_base

    from ..utils import as_path

    p = as_path(path, "12-lead ECG path")
    if wfdb_base(p) is None and p.is_dir():
        raise DataFormatError(f"{p} is a folder: give one 12-lead recording in it (a WFDB record name, or a .npy, "
                              ".npz, .csv, .edf file)")
    if wfdb_base(p) is None and not p.is_file():
        raise MissingDataError(f"{p}: no such file")
    info: dict = {"source": str(p), "notes": [], "derived": []}
    names = parse_leads(leads, p)
    if p.suffix.lower() == ".npy":
        arr = np.asarray(load_npy(p, mmap=False))
        if arr.dtype.kind not in "fiu":
            raise DataFormatError(f"{p}: dtype {arr.dtype}; an ECG must be numeric")
        ready = _is_model_ready(arr, fs)
        if not np.all(np.isfinite(arr)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DataFormatError(f"{p}: NaN or infinite value at index {idx}; clean or interpolate the signal first")
        scale = unit_scale(units, str(p)) if units else 1.0
        beats = ready and arr.ndim in (2, 3) and (arr.shape[-2:] in ((N_TIMES, 10), (12, N_TIMES))
                                                  or arr.shape == (N_TIMES, 12))
        if beats and beat not in (None, "auto", "all"):  # beat K of an array of model-format beats (was ignored: all n)
            n_b = len(arr) if arr.ndim == 3 else 1
            from ..ecg.twelve_lead import beat_index

            k = beat_index(beat, str(p))
            if not 0 <= k < n_b:
                raise DataFormatError(f"{p}: beat {k} out of range: the array holds {n_b} model-format beat(s) "
                                      f"(shape {arr.shape})")
            arr = arr[k:k + 1] if arr.ndim == 3 else arr
        if beats and names:  # leads named for a model-format array (another order): put in LEADS order (were ignored)
            lead_axis = -2 if arr.shape[-2:] == (12, N_TIMES) else -1
            if len(names) != arr.shape[lead_axis]:
                raise DataFormatError(f"{p}: {len(names)} lead name(s) {names} for the {arr.shape[lead_axis]} leads of "
                                      f"shape {arr.shape}")
            items = arr if arr.ndim == 3 else arr[None]
            conv = [to_twelve_leads(b.T if lead_axis == -2 else b, names, str(p)) for b in items]
            arr, info["derived"] = np.stack([x.T for x, _ in conv]), conv[0][1]
        if ready and arr.shape[-2:] == (N_TIMES, 10) and arr.ndim in (2, 3):
            X = leads_from_electrodes(arr * scale)
            X = X if X.ndim == 3 else X[None]
            if version >= 2:
                return _simulator_beats(X, info, "pECGData electrodes (500, 10) at 1 kHz")
            info.update(input="pECGData electrodes (500, 10) at 1 kHz, used as they are", fs_in=FS_MODEL, windows=None)
            return X.astype(np.float32), info
        if ready and ((arr.ndim in (2, 3) and arr.shape[-2:] == (12, N_TIMES)) or arr.shape == (N_TIMES, 12)):
            X = arr.T if arr.shape == (N_TIMES, 12) else arr
            X = (X if X.ndim == 3 else X[None]).astype(np.float64) * scale
            if version >= 2:
                return _simulator_beats(X, info, "12-lead beat (12, 500) at 1 kHz")
            info.update(input="12-lead beat (12, 500) at 1 kHz, used as it is", fs_in=FS_MODEL, windows=None)
            return X.astype(np.float32), info
        # a longer recording (or another fs): one record per item
        if arr.ndim == 2:
            items = [arr]
        elif arr.ndim == 3:
            items = list(arr)
        else:
            raise DataFormatError(f"{p}: a 12-lead ECG array must be (500, 10), (12, 500), (n, 12, T), (12, T), "
                                  f"(T, 12) or (T, 10), got shape {arr.shape}")
        if fs is None:
            raise DataFormatError(f"{p}: shape {arr.shape} is not a 12-lead model input (pECGData (500, 10) or "
                                  "(12, 500) at 1 kHz); for a longer 12-lead recording give its sampling rate fs= "
                                  "(--fs, Hz)")
        fs = check_fs(fs, p, "")
        Xs, wins = [], []
        for i, a in enumerate(items):
            where = f"{p}" + (f" item {i}" if arr.ndim == 3 else "")
            n_lead = names and len(names)
            if n_lead and a.shape[0] == n_lead and a.shape[1] != n_lead:
                a = a.T
            elif not n_lead:
                if a.shape[0] in (10, 12) and a.shape[1] not in (10, 12):
                    a = a.T
                if a.shape[1] not in (10, 12):
                    raise DataFormatError(f"{where}: a 12-lead ECG needs 12 leads or 10 electrodes on one axis, got "
                                          f"shape {a.shape}")
            lead_names = names or (list(LEADS) if a.shape[1] == 12 else list(ELECTRODES))
            if i == 0:
                info["notes"].append(f"array read as {a.shape[1]} {'leads' if len(lead_names) == 12 else 'channels'} "
                                     f"{lead_names} x {a.shape[0]} samples at {float(fs):g} Hz")
            rec = ArrayRecord(a, fs, lead_names, path=where)
            amp = float(np.max(robust_amplitude(a[: int(60 * float(fs))])))
            s, note = resolve_units(amp, units, Path(where))
            if i == 0:
                info["notes"].append(note)
            X, w, derived = _from_record(rec, s, beat, pre_ms, start_s, max_seconds, where, info["notes"] if i == 0 else None,
                                         version=version)
            Xs.append(X)
            wins += [dict(d, item=i) for d in w]
            info["derived"] = derived
        info.update(input=f"array {arr.shape} at {float(fs):g} Hz", fs_in=float(fs), windows=wins)
        return np.concatenate(Xs).astype(np.float32), info
    # a WFDB record gives its own rate, units and lead names: open_record refuses fs / units / leads for it, as the beat
    # path does (leads= was dropped for it, silently)
    rec = open_record(p, fs=fs, units=units, leads=names)
    read_notes = list(getattr(rec, "notes", []))
    gap_notes = {note for _, note in rec.noted_gaps().values()}  # "read as a flat line": not here (_from_record)
    info["notes"] += [n for n in read_notes if n not in gap_notes]
    X, wins, derived = _from_record(rec, 1.0, beat, pre_ms, start_s, max_seconds, str(p), info["notes"], version=version)
    # notes the record adds as it is read (a WFDB header's units that disagree with the amplitudes) reach them too;
    # the read is fill_gaps=False, so it notes no gap
    info["notes"] += list(getattr(rec, "notes", []))[len(read_notes):]
    info.update(input=f"{type(rec).__name__} {list(rec.leads)} at {rec.fs:g} Hz, {rec.duration_s:.1f} s",
                fs_in=rec.fs, windows=wins, derived=derived)
    return X, info


def _simulator_beats(X: np.ndarray, info: dict, what: str) -> tuple[np.ndarray, dict]:
    """Simulator-format beats (n, 12, 500) mV from activation onset -> version-2 windows, as training made them."""
    W, off, d = simulated_windows(X, augment=False)
    info.update(input=f"{what}: simulator-format beat(s) from activation onset, through the training input path",
                fs_in=FS_MODEL,
                windows=[{"window_version": 2, "start_ms_after_beat_start": int(o), "start_s": round(int(o) / 1000.0, 4),
                          "amplitude_scale_mv": round(float(s), 4)} for o, s in zip(off, d["scale_mv"])])
    return W, info


#: A lead whose peak-to-peak over the span read is under this (mV) is flat (an electrode off): noted.
FLAT_LEAD_MV = 0.01


#: A limb-lead relation (Einthoven, Goldberger) whose residual is over this fraction of the largest limb lead is noted.
#: The 19 real recordings of shared/data and PTB's s0010_re are under 0.01; one limb lead inverted is 0.3-2.
LIMB_RESIDUAL = 0.2


def _limb_consistency(x12: np.ndarray, fs: float) -> list[str]:
    """A note when the limb leads of a (T, 12) ECG break Einthoven's (II = I + III) or Goldberger's relations: a lead
    inverted, swapped or mislabelled, which the model would take as it is (one inverted lead II moved an activation
    map by up to 395 ms, unsaid)."""
    g = dict(zip(LEADS, (x12 - np.median(x12, axis=0)).T))
    rel = {"II = I + III": g["II"] - g["I"] - g["III"], "aVR = -(I + II)/2": g["aVR"] + (g["I"] + g["II"]) / 2,
           "aVL = I - II/2": g["aVL"] - g["I"] + g["II"] / 2, "aVF = II - I/2": g["aVF"] - g["II"] + g["I"] / 2}
    size = max(float(np.std(g[n])) for n in LEADS[:6])
    bad = {k: float(np.std(r)) / size for k, r in rel.items() if float(np.std(r)) > LIMB_RESIDUAL * size}
    if not bad:
        return []
    return [f"limb leads inconsistent over the {len(x12) / fs:.1f} s read: {', '.join(bad)} "
            f"{'does' if len(bad) == 1 else 'do'} not hold (residual {', '.join(f'{v:.0%}' for v in bad.values())} of "
            "the largest limb lead; under 1 % in a sound recording): a limb lead inverted, swapped or mislabelled? The "
            "prediction uses them as they are"]


def _from_record(rec, scale, beat, pre_ms, start_s, max_seconds, where, notes=None, version=WINDOW_VERSION):
    notes = [] if notes is None else notes
    if rec.fs < MIN_FS:
        raise DataFormatError(f"{where}: sampling rate {rec.fs:g} Hz is below {MIN_FS:g} Hz; the QRS complex, which the "
                              "500-ms window starts from, cannot be resolved")
    a = int(round(start_s * rec.fs))
    if not 0 <= a < rec.n_samples:
        raise DataFormatError(f"{where}: start_s={start_s} is outside the record ({rec.duration_s:.2f} s)")
    b = min(rec.n_samples, a + int(round(max_seconds * rec.fs)))
    if b < rec.n_samples:  # beats after it are not looked at: say so (--beat all / K counted only these)
        notes.append(f"the first {max_seconds:g} s read from {start_s:g} s ({rec.duration_s:.1f} s in the recording); "
                     "later beats are not looked at (start_s= to move the window)")
    x = rec.read(a, b, fill_gaps=False) * scale  # a gap is refused by name (beat_window), not read as a lead off
    for c, (gap, _) in sorted(rec.noted_gaps().items()):  # the reader's gap note said "read as a flat line": say where
        notes.append(f"lead {rec.leads[c]!r}: {gap}: " + (f"outside the {a / rec.fs:g}-{b / rec.fs:g} s read, not used"
                     if np.isfinite(x[:, c]).all() else "not one of the leads used"))
    names = list(rec.leads)
    if len(names) in (10, 12) and all(re.fullmatch(r"lead\d+", str(n)) for n in names):
        names = list(LEADS if len(names) == 12 else ELECTRODES)
        notes.append(f"no lead names: the {len(names)} columns taken as {names}")
    x12, derived = to_twelve_leads(x, names, where)
    flat = [LEADS[j] for j in np.flatnonzero(np.ptp(x12, axis=0) < FLAT_LEAD_MV)] if len(x12) else []
    if "II" in flat:  # the R peaks are found on lead II: "no QRS complex found in lead II" did not say it was flat
        raise DataFormatError(f"{where}: lead II is flat over the {len(x12) / rec.fs:.1f} s read (peak-to-peak under "
                              f"{FLAT_LEAD_MV * 1000:g} uV: an electrode off?), and the QRS complexes are found on lead "
                              "II; a file without lead II but with I and III has it derived (II = I + III)")
    if flat:  # an electrode not connected: the model is given a lead without a signal, said rather than hidden
        notes.append(f"lead(s) {flat} flat over the {len(x12) / rec.fs:.1f} s read (peak-to-peak under "
                     f"{FLAT_LEAD_MV * 1000:g} uV: an electrode off?): the prediction uses them as they are")
    if not any(n in flat for n in LEADS[:6]):
        notes += _limb_consistency(x12, rec.fs)
    X, wins = beat_window(x12, rec.fs, beat=beat, pre_ms=pre_ms, where=where, t0_s=a / rec.fs, version=version)
    return X, wins, derived
