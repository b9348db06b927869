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


@lru_cache(maxsize=32)
def _clean_sos(fs: float, mains_hz: tuple):
    """Band-pass and mains notches as one cascade of second-order sections (what :func:`clean_ecg` applies)."""
    return np.vstack([_bandpass_sos(fs)] + [_notch_sos(fs, float(f0)) for f0 in mains_hz if f0 < 0.48 * fs])


def clean_ecg(x: np.ndarray, fs: float, mains_hz: tuple = (50.0, 60.0), axis: int = -1) -> np.ndarray:
    """Band-pass 0.5-40 Hz (baseline wander, EMG) and notch the mains frequencies below Nyquist.

    Parameters
    ----------
    x : ndarray, shape (n,) or any shape with time along ``axis``
        One lead (or several) in mV.
    fs : float
        Sampling rate in Hz (>= :data:`MIN_FS`).
    mains_hz : tuple of float
        Mains frequencies to notch (50 and 60 Hz: the recorder's country is unknown).
        Frequencies above the 40 Hz low-pass are already attenuated; the notch adds depth.

    axis : int
        Time axis (the filters run along it; every other axis is filtered independently).

    Returns
    -------
    ndarray, same shape as ``x``, float64, in mV.
    """
    from scipy.signal import sosfiltfilt

    x = np.asarray(x, np.float64)
    if fs < MIN_FS:
        raise DataFormatError(f"sampling rate {fs:g} Hz is below the {MIN_FS:g} Hz minimum for QRS detection")
    n = x.shape[axis] if x.ndim else 0
    if n < 16:
        return x - (x.mean(axis=axis, keepdims=True) if n else 0.0)
    pad = min(n - 1, int(3 * fs))
    # one forward-backward pass of the whole cascade: the same response as filtering band-pass and notches one after
    # the other (measured on MIT-BIH 208: at most 6e-7 mV apart, at the record's ends; 4e-13 mV inside) in 0.4x the time
    return sosfiltfilt(_clean_sos(float(fs), tuple(float(f) for f in mains_hz)), x, padlen=pad, axis=axis)


def clean_isoelectric(x: np.ndarray, fs: float, mains_hz: tuple = (50.0, 60.0), axis: int = -1,
                      tail_s: float = 1.0) -> np.ndarray:
    """:func:`clean_ecg`'s filters for a signal that is isoelectric (zero) before and after it, e.g. a simulated strip.

    Zero-state forward then backward passes (after ``tail_s`` of zeros appended, so the high-pass tail has room) give
    the same zero-phase response as :func:`clean_ecg` without its padding and initial-condition work: about 30x
    faster on batches of strips (measured: 0.15 s against 4.9 s for 200 x 12 x 4,300 samples).
    """
    from scipy.signal import sosfilt

    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    n = x.shape[-1]
    y = np.concatenate([x, np.zeros(x.shape[:-1] + (int(tail_s * fs),))], axis=-1)
    for sos in [_bandpass_sos(float(fs))] + [_notch_sos(float(fs), float(f0)) for f0 in mains_hz if f0 < 0.48 * fs]:
        y = sosfilt(sos, y, axis=-1)
        y = sosfilt(sos, y[..., ::-1], axis=-1)[..., ::-1]
    return np.moveaxis(np.ascontiguousarray(y[..., :n]), -1, axis)


#: Largest term of the rate ratio's fraction (resample_poly's filter grows with it).
_MAX_RATIO_TERM = 10_000


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Polyphase resampling (scipy ``resample_poly``) from ``fs_in`` to ``fs_out`` Hz along ``axis``.

    The rate ratio is exact where both rates are written with few digits (360 -> 125 Hz is 25/72, 2048 -> 125 Hz
    125/2048: an approximate ratio there made 125-Hz beats drift 135 ms an hour behind the R peaks mapped with the
    exact one), else approximated by a fraction with terms <= 10,000. Equal rates (to 1e-9) return the input as
    float64. The one resampler of cardiacml: beats, 12-lead windows and the augmentation of training records all use
    it.
    """
    from scipy.signal import resample_poly

    fs_in, fs_out = float(fs_in), float(fs_out)
    if not (np.isfinite(fs_in) and np.isfinite(fs_out) and fs_in > 0 and fs_out > 0):
        raise ValueError(f"resample: rates must be finite and > 0 (got {fs_in:g} -> {fs_out:g} Hz)")
    if abs(fs_in - fs_out) <= 1e-9 * fs_out:
        return np.asarray(x, np.float64)
    frac = Fraction(repr(fs_out)) / Fraction(repr(fs_in))
    if max(frac.numerator, frac.denominator) > _MAX_RATIO_TERM:  # both terms bounded (up-sampling: the numerator)
        ratio = fs_out / fs_in
        frac = Fraction(ratio).limit_denominator(max(1, int(_MAX_RATIO_TERM / max(1.0, ratio))))
    if frac.numerator < 1 or max(frac.numerator, frac.denominator) > _MAX_RATIO_TERM:
        raise ValueError(f"resample: cannot resample {fs_in:g} Hz to {fs_out:g} Hz (ratio out of range)")
    return resample_poly(np.asarray(x, np.float64), frac.numerator, frac.denominator, axis=axis)
