"""Units and amplitude of a raw ECG signal: unit names to mV, the robust amplitude, the windows it is measured on, and
the one plausibility criterion of every unit guess and check. The floor of :mod:`cardiacml.io`: every reader (the
WFDB one in :mod:`cardiacml.io.records`, the others through :mod:`cardiacml.io.units`) takes these from here."""

from __future__ import annotations

import re
import warnings

import numpy as np

from ..errors import DataFormatError

#: Multipliers from a unit name (lower case) to millivolts.
UNIT_TO_MV = {"mv": 1.0, "millivolt": 1.0, "uv": 1e-3, "µv": 1e-3, "microvolt": 1e-3, "v": 1e3, "volt": 1e3, "nv": 1e-6}


#: A unit of raw ADC counts with its gain: ``"counts/200"`` is 200 counts per mV (the form ``--units`` takes it in).
_COUNTS = re.compile(r"^counts?\b\s*(?:/\s*(?P<gain>.*))?$", re.IGNORECASE)
#: What a unit may be, for messages.
UNITS_HELP = "mV, uV, V, or counts/N (raw ADC counts, N per mV: the recorder's gain)"


def counts_per_mv(unit, where: str = "") -> float | None:
    """N of a unit given as raw ADC counts, ``"counts/N"`` (N counts per mV); None for any other unit.

    Raises
    ------
    DataFormatError
        ``"counts"`` without a gain, or an N that is not a positive finite number (0, -200, nan, inf, text).
    """
    m = _COUNTS.match(unit.strip()) if isinstance(unit, str) else None
    if m is None:
        return None
    gain = m.group("gain")
    try:
        n = float(gain)
    except (TypeError, ValueError):
        n = float("nan")
    if not (np.isfinite(n) and n > 0):
        why = "no gain" if gain is None else f"got N = {gain.strip()!r}"
        raise DataFormatError(f"{where + ': ' if where else ''}units {unit!r}: raw ADC counts are given as counts/N, N "
                              f"a positive number of counts per mV (the recorder's gain, e.g. counts/200); {why}")
    return n


def unit_scale(unit: str | None, where: str = "", *, counts: bool = True) -> float:
    """Factor converting values in ``unit`` to mV (``None`` or empty means mV); ``"counts/N"`` (raw ADC counts, N per
    mV: :func:`counts_per_mv`) is 1/N unless ``counts`` is False (a file's own unit: a WFDB header's is physical)."""
    if unit is None or str(unit).strip() == "":
        return 1.0
    n = counts_per_mv(unit, where) if counts else None
    if n is not None:
        return 1.0 / n
    key = str(unit).strip().lower().replace("μ", "µ")
    if key not in UNIT_TO_MV:
        raise DataFormatError(f"{where + ': ' if where else ''}unknown unit {unit!r}; use one of {UNITS_HELP}")
    return UNIT_TO_MV[key]


#: Range (mV) of the robust amplitude (99th percentile of |x - median|, most active lead) accepted as an ECG.
PLAUSIBLE_MV = (0.01, 50.0)
#: Length (s) of each window :func:`sample_rows` reads.
_SAMPLE_WINDOW_S = 20.0


def robust_amplitude(x: np.ndarray) -> np.ndarray:
    """Per-lead robust amplitude: the 99th percentile of ``|x - median(x)|``, NaNs ignored.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_leads)

    Returns
    -------
    ndarray, shape (n_leads,), in the units of ``x``.
    """
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():  # an all-NaN lead gives NaN, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(x, axis=0)
        return np.nanpercentile(np.abs(x - med), 99, axis=0)


def sample_rows(read, n_samples: int, fs: float, n_windows: int = 6) -> np.ndarray:
    """Up to ``n_windows`` windows of 20 s spread over the record (the whole record when short). Where every lead is
    constant in all of them (a lead off or a flat line over most of a long recording, the ECG in between), the first
    ``n_windows`` windows of the record in which a lead is not: the units are guessed from the ECG, and a file is
    called flat only when it is."""
    win = int(_SAMPLE_WINDOW_S * fs)
    if n_samples <= win * n_windows:
        return np.asarray(read(0, n_samples), np.float64)
    starts = np.linspace(0, n_samples - win, n_windows).astype(int)
    samp = np.concatenate([np.asarray(read(s, s + win), np.float64) for s in starts])
    if np.any(np.nan_to_num(robust_amplitude(samp))):
        return samp
    windows = (np.asarray(read(s, min(n_samples, s + win)), np.float64) for s in range(0, n_samples, win))
    active = [w for _, w in zip(range(n_windows), (w for w in windows if np.any(np.nan_to_num(robust_amplitude(w)))))]
    return np.concatenate(active) if active else samp


def plausible_unit(amp_raw: float) -> str | None:
    """The first of mV, uV and V in which a robust amplitude is plausible for an ECG, else None.

    The one criterion behind every unit guess and amplitude check: ``amp_raw`` times the unit's factor to mV must
    lie within :data:`PLAUSIBLE_MV`.

    Parameters
    ----------
    amp_raw : float
        Robust amplitude (:func:`robust_amplitude`) in the file's units.

    Returns
    -------
    str or None
        ``"mV"``, ``"uV"`` or ``"V"``; None when the amplitude fits none of them (or is not finite).
    """
    lo, hi = PLAUSIBLE_MV
    return next((name for name in ("mV", "uV", "V") if lo <= amp_raw * UNIT_TO_MV[name.lower()] <= hi), None)
