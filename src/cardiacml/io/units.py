"""Units and amplitudes of raw ECG signals, shared by every file format.

Units are given (``units="mV"|"uV"|"V"``, or ``"counts/N"`` for raw ADC counts, N per mV), taken from the file
(EDF physical dimension, a CSV header such as ``II (uV)``), or, when neither, guessed from the amplitude. In every
case the amplitude is checked: the robust amplitude ``A`` = 99th percentile of
``|x - median(x)|`` of the most active lead (a typical ECG has a QRS peak-to-peak of
0.3-5 mV, so ``A`` is ~0.1-5 mV) must lie within ``PLAUSIBLE_MV`` (:mod:`cardiacml.io.amplitude`:
:func:`~cardiacml.io.amplitude.plausible_unit`, the robust amplitude and the windows it is read on); values in the thousands labelled mV are refused with a hint that they are probably µV. A WFDB
header's units are checked by the same criterion, and warned of rather than refused (see
:class:`~cardiacml.io.records.WfdbRecord`: a WFDB record takes no ``units`` to override them).

:class:`ScaledRecord` wraps any (samples, leads) array or memory map with per-lead scale
factors; :func:`finish_record` is the last step of every non-WFDB reader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataFormatError, UsageError
from .amplitude import (PLAUSIBLE_MV, UNIT_TO_MV, counts_per_mv, plausible_unit, robust_amplitude,  # noqa: F401
                        sample_rows, unit_scale)
from .records import NOT_ECG, Record, parse_leads  # noqa: F401 (parse_leads: imported from here too)

#: Header names recognised as a time column (lower case, units in brackets removed).
TIME_NAMES = ("time", "t", "times", "timestamp", "seconds", "second", "sec", "s", "ms", "msec", "milliseconds",
              "time_s", "time_ms", "t_s", "t_ms", "elapsed time", "elapsed_time", "time (s)", "time (ms)",
              "datetime", "date_time", "date time", "date-time")
_UNIT_RE = re.compile(r"^(?P<name>.*?)[\s_]*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")

# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------
#: Highest sampling rate accepted (Hz): ECG amplifiers record at up to some 16 kHz.
MAX_FS = 50_000.0


def check_fs(fs, path: Path, how: str) -> float:
    """``fs`` as a positive float of Hz (``"360"`` too); None, True (bool is an int: it read as 1 Hz), a complex or
    anything else that is no rate is a one-line :class:`DataFormatError` naming ``path`` (``how``: how to give it)."""
    if fs is None:
        raise DataFormatError(f"{path}: the sampling rate is unknown: {how}")
    try:
        if isinstance(fs, (bool, np.bool_)) or np.iscomplexobj(fs):
            raise TypeError
        fs = float(fs)
    except (TypeError, ValueError):
        raise DataFormatError(f"{path}: sampling rate must be a number of Hz, got {fs!r}") from None
    if not np.isfinite(fs) or fs <= 0:
        raise DataFormatError(f"{path}: sampling rate must be a positive number of Hz, got {fs!r}")
    if fs > MAX_FS:
        raise DataFormatError(f"{path}: sampling rate {fs:g} Hz is above {MAX_FS:g} Hz; is it in Hz?")
    return fs


def resolve_units(amp_raw: float, units: str | None, path: Path, *, source: str = "given",
                  check: bool = True) -> tuple[float, str]:
    """Scale factor to mV and a note, from the amplitude in file units and the unit (or None).

    Parameters
    ----------
    amp_raw : float
        Robust amplitude (:func:`robust_amplitude`, largest over leads) in file units.
    units : str or None
        The unit given by the user or the file (``"counts/N"``: raw ADC counts, N per mV); None -> guessed from
        ``amp_raw``.
    source : str
        Where ``units`` came from, for messages ("given", "from the EDF header"...).
    check : bool
        Refuse amplitudes implausible for an ECG in that unit.

    Raises
    ------
    DataFormatError
        Unknown unit, implausible amplitude, or a unit that cannot be guessed.
    UsageError
        ``check`` is not a bool (``check_units="no"``, a non-empty string, was true).
    """
    if not isinstance(check, (bool, np.bool_)):
        raise UsageError(f"{path}: check_units must be True or False, got {type(check).__name__} {check!r:.40}")
    lo, hi = PLAUSIBLE_MV
    if units is None or str(units).strip() == "":
        if amp_raw == 0 or not np.isfinite(amp_raw):
            raise DataFormatError(f"{path}: the signal is flat (every value equal); not an ECG")
        name = plausible_unit(amp_raw)
        if name is not None:
            return UNIT_TO_MV[name.lower()], (f"units not given: assumed {name} (robust amplitude {amp_raw:.4g} in "
                                              f"file units; pass units='mV'|'uV'|'V' / --units to override)")
        raise DataFormatError(f"{path}: cannot tell the units: robust amplitude (99th percentile of |x - median|) is "
                              f"{amp_raw:.4g}, implausible for an ECG in mV, uV or V; pass units= / --units")
    scale = unit_scale(units, str(path))
    gain = counts_per_mv(units)
    note = f"units {units} ({source})" if gain is None else f"units: {gain:g} counts per mV ({source})"
    amp = amp_raw * scale
    if check and amp_raw != 0 and not lo <= amp <= hi:
        name = plausible_unit(amp_raw)
        hint = f"; the values look like {name}: pass units='{name}' (--units {name})" if name else ""
        if gain is not None:  # the gain is the question, not the unit
            hint = f"; check N of counts/N, the recorder's ADC counts per mV ({amp_raw:.4g} counts here)"
        raise DataFormatError(
            f"{path}: amplitudes look wrong for units {units!r} ({source}): robust amplitude (99th percentile of "
            f"|x - median|) = {amp:.4g} mV, while an ECG's QRS peak-to-peak is about 0.3-5 mV (accepted "
            f"{lo:g}-{hi:g} mV){hint}")
    return scale, note


class ScaledRecord(Record):
    """A record whose samples are ``raw[start:stop, channel] * scale[channel]`` (raw: array or memmap).

    ``unusable`` maps a channel index to why it cannot be read (no finite value at all): the other leads read as
    usual, reading that one raises :class:`DataFormatError` with the reason. A lead with gaps (some NaN, infinite or
    missing values) reads them as a flat line (:meth:`Record.read`).
    """

    def __init__(self, raw, fs: float, leads: Sequence[str], scale, path: Path, notes=(), annotations=None,
                 unusable: dict | None = None):
        self._raw = raw
        self.fs, self.path = float(fs), Path(path)
        self.n_samples = int(raw.shape[0])
        self.leads = tuple(str(x) for x in leads)
        self._scale = np.broadcast_to(np.asarray(scale, np.float64), (raw.shape[1],)).copy()
        self.notes = list(notes)
        self._ann = annotations
        self.unusable = dict(unusable or {})

    def _read(self, start, stop, channels):
        for c in channels:
            if c in self.unusable:
                raise DataFormatError(f"{self.path}: lead {self.leads[c]!r} cannot be used: {self.unusable[c]}; clean "
                                      f"or interpolate it first ({self._usable_leads()})")
        return np.asarray(self._raw[start:stop, channels], np.float64) * self._scale[channels][None, :]

    def _usable_leads(self) -> str:
        ok = [n for i, n in enumerate(self.leads) if i not in self.unusable]
        return f"the usable leads: {ok}; a beat model takes one of them with --lead" if ok else "no lead is usable"

    def annotations(self):
        return self._ann


def finish_record(raw, fs, leads, path, units, notes, *, check_units=True, unit_per_lead=None, annotations=None,
                  missing: dict | None = None) -> ScaledRecord:
    """Units (given, per lead from the file, or guessed) + amplitude check -> ScaledRecord.

    NaN, infinite or missing values (``missing``: channel -> where, from the reader) are gaps: they read as a flat
    line at the lead's median (:meth:`cardiacml.io.records.Record.read`, a lead off to the beat pipeline), and a note
    says where and how many. A lead with no value at all is unusable (a note says which; refused only when read);
    the file is refused when no lead is usable. An in-memory ``raw`` is checked whole; a memory map at the sampled
    rows (:func:`sample_rows`) only (a gap elsewhere is noted when first read).
    """
    missing = dict(missing or {})
    samp = sample_rows(lambda a, b: raw[a:b], raw.shape[0], fs)
    whole = isinstance(raw, np.ndarray) and not isinstance(raw, np.memmap)
    finite = np.isfinite(raw).all(axis=0) if whole else np.isfinite(samp).all(axis=0)
    unusable, gaps = {}, {}
    for col in sorted(set(np.flatnonzero(~finite).tolist()) | set(missing)):
        bad = ~np.isfinite(np.asarray(raw[:, col], np.float64))
        rows = np.flatnonzero(bad)
        why = missing.get(col) or f"NaN or infinite value at sample {int(rows[0])} ({len(rows)} in that lead)"
        if bad.all():
            unusable[col] = why + ("" if col in missing else ": no value in that lead")
        elif len(rows):
            gaps[col] = why
    if len(unusable) == len(leads):
        col = min(unusable)
        raise DataFormatError(f"{path}: lead {leads[col]!r}: {unusable[col]}; nothing to read"
                              + (" (every lead has such values)" if len(leads) > 1 else ""))
    if unusable:
        notes = list(notes) + [f"lead {leads[c]!r} unusable: {why}" for c, why in sorted(unusable.items())]
    amps = robust_amplitude(samp)
    amps[list(unusable)] = np.nan
    if unit_per_lead is not None and units is None:
        scale, parts = np.ones(len(leads)), []
        for u in sorted(set(unit_per_lead), key=str):
            idx = [i for i, v in enumerate(unit_per_lead) if v == u and i not in unusable]
            if not idx:
                continue
            s, note = resolve_units(float(np.max(amps[idx])), u, path, source="from the file", check=check_units)
            scale[idx] = s
            parts.append(note + f" for {[leads[i] for i in idx]}" if len(set(unit_per_lead)) > 1 else note)
        notes = list(notes) + parts
    else:  # one unit for the file: guessed from (and checked on) its ECG leads, not a channel named as something else
        ecg = [i for i, n in enumerate(leads) if not NOT_ECG.match(str(n).strip()) and i not in unusable]
        scale, note = resolve_units(float(np.nanmax(amps[ecg] if ecg else amps)), units, path, check=check_units)
        left_out = [leads[i] for i in range(len(leads)) if ecg and i not in ecg and i not in unusable]
        if units is None and np.array_equal(samp[np.isfinite(samp)], np.round(samp[np.isfinite(samp)])):
            note += ("; every value is a whole number: if they are raw ADC counts, give the recorder's gain as "
                     "units='counts/N' / --units counts/N, N counts per mV")
        notes = list(notes) + [note + (f"; {left_out} named as no ECG lead: left out of the amplitude" if left_out else "")]
    rec = ScaledRecord(raw, fs, leads, scale, path, notes, annotations, unusable)
    for c, why in gaps.items():  # the gaps read as a flat line (Record.read), said here with their count
        rec.note_gaps(c, why + ":")
    return rec


def split_unit(name: str) -> tuple[str, str | None]:
    """``"II (mV)"`` -> ("II", "mV"); ``"V1_uV"`` -> ("V1", "uV"); ``"II"`` -> ("II", None)."""
    name = str(name).strip()
    m = _UNIT_RE.match(name)
    if m and m.group("unit").strip().lower().replace("μ", "µ") in UNIT_TO_MV | {"s": 0, "ms": 0, "sec": 0}:
        return m.group("name").strip(), m.group("unit").strip()
    m = re.match(r"^(.*?)[\s_]+(mV|uV|µV|μV|V)$", name, flags=re.IGNORECASE)
    if m and m.group(1):
        return m.group(1).strip(), m.group(2)
    return name, None


def time_unit(name: str | None, t: np.ndarray, path: Path) -> tuple[float, str]:
    """Sampling rate from a time column; the unit from its name, else from the step (< 0.1 -> s, else ms)."""
    t = np.asarray(t, np.float64)
    if not np.isfinite(t).all():  # inf made the least-squares step NaN (a traceback); nan compared as no step at all
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise DataFormatError(f"{path}: the time column holds {str(t[i])!r} at row {i + 1}, not a time; every row "
                              "needs its time")
    dt = np.diff(t)
    if len(dt) < 2:
        raise DataFormatError(f"{path}: too few samples to read a sampling rate from the time column")
    step = float(np.median(dt))
    if not step > 0 or np.any(dt <= 0):
        i = int(np.flatnonzero(dt <= 0)[0]) if np.any(dt <= 0) else 0
        if dt[i] < 0:  # a time before the row above: not a matter of digits (equal times are)
            raise DataFormatError(f"{path}: the time column must increase strictly (row {i + 2} is before row {i + 1}: "
                                  "rows out of order or times jittered by over half a step; sort the rows or resample "
                                  "the signal first)")
        raise DataFormatError(f"{path}: the time column must increase strictly (row {i + 2} is not after row {i + 1}; "
                              "written with too few digits?)")
    # the least-squares step over every row (robust to times written with few digits, and to a jittered clock), and
    # uniformity judged against that grid through the rows' median offset: a grid drawn through the first and last
    # rows refused a jitter of 0.3 step whenever those two leant apart (and its rate was off by as much: 360.06 Hz)
    k = np.arange(len(t), dtype=np.float64) - 0.5 * (len(t) - 1)
    step = float(k @ (t - t.mean()) / (k @ k))
    res = t - step * k
    dev = np.abs(res - np.median(res))
    if dev.max() > 0.5 * step:
        med = float(np.median(dt))
        jump = dt > 1.5 * med
        if jump.any() and not np.any(np.abs(dt[~jump] - med) > 0.5 * med):
            # uniform but for gaps (a recorder or a wireless link that dropped samples): the whole span's step, and
            # which row is furthest from its grid, would name neither the gap nor the rate
            i = int(np.flatnonzero(jump)[0])
            raise DataFormatError(f"{path}: the time column is not uniformly sampled: it jumps by {dt[i]:.6g} between "
                                  f"rows {i + 1} and {i + 2} ({t[i]:.6g} -> {t[i + 1]:.6g}; step {med:.6g} elsewhere"
                                  + (f", {int(jump.sum())} such gaps" if jump.sum() > 1 else "") + "): samples are "
                                  "missing; write a row with its time and empty cells for each missing sample (read as "
                                  "a lead off) or cut the file there")
        i = int(np.argmax(dev))
        raise DataFormatError(f"{path}: the time column is not uniformly sampled (row {i + 1} is {dev[i]:.6g} away "
                              f"from a uniform grid of step {step:.6g}); resample the signal first")
    low = (name or "").strip().lower()
    if re.search(r"(^|[^a-z])(ms|msec|millisec)", low):
        unit = "ms"
    elif re.search(r"(^|[^a-z])(s|sec|secs|seconds?)([^a-z]|$)", low):
        unit = "s"
    else:
        unit = "s" if step < 0.1 else "ms"
    fs = (1.0 if unit == "s" else 1000.0) / step
    if abs(fs - round(fs)) < 1e-4 * fs:
        fs = float(round(fs))
    note = (f"time column {name!r}" if name else "time column") + \
        f" in {'seconds' if unit == 's' else 'milliseconds'} -> fs = {fs:.6g} Hz"
    t0 = float(t[0]) / (1.0 if unit == "s" else 1000.0)
    if abs(t0) * fs >= 0.5:  # beat times count from the first row, not from this clock
        note += f"; it starts at {t0:.6g} s: beat times are counted from the first row (add {t0:.6g} s for the file's time)"
    return fs, note


