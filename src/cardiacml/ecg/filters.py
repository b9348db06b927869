"""Signal conditioning shared by training and prediction: baseline-wander and mains filtering, resampling.

All filters are scipy second-order-section Butterworth / IIR notch filters applied
forward-backward (zero phase), so R peaks do not move. Their impulse responses decay
within a few seconds, which is what lets the streaming pipeline filter a long record
chunk by chunk with an overlap margin and get the same samples as a whole-record pass
(see :data:`SETTLE_S`).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..errors import DataFormatError

#: High-pass corner removing baseline wander (Hz).
HIGHPASS_HZ = 0.5
#: Low-pass corner removing EMG / high-frequency noise (Hz); capped below Nyquist.
LOWPASS_HZ = 40.0
#: Overlap (s) after which the forward-backward filters have settled to < 1e-6 of a step.
SETTLE_S = 12.0
#: Lowest sampling rate accepted (Hz).
MIN_FS = 100.0


@lru_cache(maxsize=32)
def _bandpass_sos(fs: float):
    from scipy.signal import butter

    hi = min(LOWPASS_HZ, 0.45 * fs)
    return butter(2, [HIGHPASS_HZ, hi], btype="bandpass", fs=fs, output="sos")


@lru_cache(maxsize=32)
def _notch_sos(fs: float, f0: float):
    from scipy.signal import iirnotch, tf2sos

    b, a = iirnotch(f0, 30.0, fs=fs)
    return tf2sos(b, a)


def clean_ecg(x: np.ndarray, fs: float, mains_hz: tuple = (50.0, 60.0)) -> np.ndarray:
    """Band-pass 0.5-40 Hz (baseline wander, EMG) and notch the mains frequencies below Nyquist.

    Parameters
    ----------
    x : ndarray, shape (n,)
        One lead in mV.
    fs : float
        Sampling rate in Hz (>= :data:`MIN_FS`).
    mains_hz : tuple of float
        Mains frequencies to notch (50 and 60 Hz: the recorder's country is unknown).
        Frequencies above the 40 Hz low-pass are already attenuated; the notch adds depth.

    Returns
    -------
    ndarray, shape (n,), float64, in mV.
    """
    from scipy.signal import sosfiltfilt

    x = np.asarray(x, np.float64)
    if fs < MIN_FS:
        raise DataFormatError(f"sampling rate {fs:g} Hz is below the {MIN_FS:g} Hz minimum for QRS detection")
    if len(x) < 16:
        return x - (x.mean() if len(x) else 0.0)
    pad = min(len(x) - 1, int(3 * fs))
    y = sosfiltfilt(_bandpass_sos(float(fs)), x, padlen=pad)
    for f0 in mains_hz:
        if f0 < 0.48 * fs:
            y = sosfiltfilt(_notch_sos(float(fs), float(f0)), y, padlen=pad)
    return y


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Polyphase resampling (scipy ``resample_poly``) from ``fs_in`` to ``fs_out`` Hz along ``axis``.

    The rate ratio is approximated by a fraction with denominator <= 1000 (e.g. 360 -> 125 Hz is exactly
    25/72). Equal rates (to 1e-9) return the input as float64. The one resampler of cardiacml: beats,
    12-lead windows and the augmentation of training records all use it.
    """
    from scipy.signal import resample_poly

    if abs(float(fs_in) - float(fs_out)) <= 1e-9 * float(fs_out):
        return np.asarray(x, np.float64)
    frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return resample_poly(np.asarray(x, np.float64), frac.numerator, frac.denominator, axis=axis)
