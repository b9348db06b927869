"""What real recorders do to an ECG, as augmentations of arrays sampled at 1 kHz (time along the last axis).

:func:`atrial_waves` adds what the ventricular simulator lacks and every real recording has: P waves before each
QRS (or, in a minority of strips, fibrillatory waves instead).

A model trained on clean simulated ECGs meets, in use, recordings of other gains, electrode positions, noise,
baseline wander, mains interference, recorder band-passes and sampling rates. :func:`recorder_effects` draws
those per example, so that training sees what prediction will see; the ranges are those of real 12-lead
recordings (limb-lead QRS 0.5-3 mV; diagnostic 0.05-150 Hz and monitoring 0.5-40 Hz band-passes; 250-1000 Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecorderRanges:
    """Ranges drawn by :func:`recorder_effects` (uniform unless said otherwise).

    Amplitudes in mV, frequencies in Hz.
    """

    log_gain_sd: float = 0.45  # overall gain: log-normal, clipped to gain_clip
    gain_clip: tuple = (0.3, 3.0)
    lead_gain: tuple = (0.8, 1.25)  # each lead's own gain (cable, skin contact)
    precordial_mix: tuple = (0.0, 0.3)  # each V lead drifts this far towards a neighbour (electrode placement)
    white_mv: tuple = (0.003, 0.04)  # broadband (muscle / amplifier) noise
    wander_mv: tuple = (0.0, 0.5)  # baseline wander at 0.05-0.5 Hz (respiration, electrode motion)
    mains_mv: tuple = (0.0, 0.08)  # 50 or 60 Hz interference
    bandpass: tuple = ((0.05, 150.0), (0.5, 40.0), (0.5, 100.0), None)  # recorder filters; None: as recorded
    rates: tuple = (1000.0, 500.0, 500.0, 250.0)  # recorder sampling rates (drawn with equal weight)


def _apply_bandpass(x: np.ndarray, band, fs: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    lo, hi = band
    sos = butter(1, [lo, min(hi, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")  # an analogue front end: causal
    return sosfilt(sos, x, axis=-1)


def _round_trip(x: np.ndarray, rate: float, fs: float) -> np.ndarray:
    """Sampled at ``rate`` then brought back to ``fs`` (the anti-alias and interpolation losses of a slower recorder)."""
    from .filters import resample

    if abs(rate - fs) < 1e-9:
        return x
    y = resample(resample(x, fs, rate, axis=-1), rate, fs, axis=-1)
    n = x.shape[-1]
    if y.shape[-1] < n:
        y = np.concatenate([y, np.repeat(y[..., -1:], n - y.shape[-1], axis=-1)], axis=-1)
    return y[..., :n]


def recorder_effects(x: np.ndarray, rng: np.random.Generator, fs: float = 1000.0, ranges: RecorderRanges = RecorderRanges(),
                     precordial: slice | None = slice(6, 12)) -> tuple[np.ndarray, list[dict]]:
    """Draw and apply recorder effects to each example of ``x``.

    Parameters
    ----------
    x : ndarray, shape (n, leads, T), mV at ``fs``
    rng : numpy Generator
    precordial : slice, optional
        The precordial leads (V1..V6 in the 12-lead order), mixed with their neighbours.

    Returns
    -------
    x : ndarray, same shape, float64
    drawn : list of dict, one per example (what was applied)
    """
    x = np.array(x, np.float64)
    n, L, T = x.shape
    r = ranges
    gain = np.clip(np.exp(rng.normal(0.0, r.log_gain_sd, n)), *r.gain_clip)
    lead_gain = rng.uniform(*r.lead_gain, size=(n, L))
    x *= (gain[:, None] * lead_gain)[..., None]
    if precordial is not None:
        v = x[:, precordial].copy()
        a = rng.uniform(*r.precordial_mix, size=(n, v.shape[1]))
        side = rng.integers(0, 2, size=(n, v.shape[1])) * 2 - 1
        nb = np.clip(np.arange(v.shape[1])[None, :] + side, 0, v.shape[1] - 1)
        x[:, precordial] = (1 - a)[..., None] * v + a[..., None] * np.take_along_axis(v, nb[..., None], axis=1)
    t = np.arange(T) / fs
    white = rng.uniform(*r.white_mv, size=n)
    x += white[:, None, None] * rng.standard_normal(x.shape)
    wander = rng.uniform(*r.wander_mv, size=n)
    f_w = rng.uniform(0.05, 0.5, size=(n, L, 1))
    x += wander[:, None, None] * rng.uniform(0.3, 1.0, size=(n, L, 1)) * np.sin(2 * np.pi * f_w * t + rng.uniform(0, 6.3, (n, L, 1)))
    mains = rng.uniform(*r.mains_mv, size=n)
    f_m = rng.choice([50.0, 60.0], size=n)
    x += (mains[:, None, None] * rng.uniform(0.2, 1.0, size=(n, L, 1))
          * np.sin(2 * np.pi * f_m[:, None, None] * t + rng.uniform(0, 6.3, (n, L, 1))))
    band = rng.integers(0, len(r.bandpass), size=n)
    rate = rng.integers(0, len(r.rates), size=n)
    for b in np.unique(band):
        if r.bandpass[b] is not None:
            sel = band == b
            x[sel] = _apply_bandpass(x[sel], r.bandpass[b], fs)
    for k in np.unique(rate):
        sel = rate == k
        x[sel] = _round_trip(x[sel], r.rates[k], fs)
    drawn = [{"gain": float(gain[i]), "white_mv": float(white[i]), "wander_mv": float(wander[i]), "mains_mv": float(mains[i]),
              "bandpass": r.bandpass[band[i]], "rate_hz": r.rates[rate[i]]} for i in range(n)]
    return x, drawn


# 12-lead projection of a P-wave vector: frontal-plane angles of the limb leads (Einthoven / Goldberger hexaxial
# system, degrees, 0 = leftward, +90 = inferior) and horizontal-plane angles of V1..V6 (0 = leftward, +90 = anterior)
_FRONTAL = np.deg2rad([0.0, 60.0, 120.0, -150.0, -30.0, 90.0])
_HORIZONTAL = np.deg2rad([115.0, 95.0, 75.0, 60.0, 30.0, 0.0])


@dataclass(frozen=True)
class AtrialRanges:
    """Ranges drawn by :func:`atrial_waves` (uniform). Times in ms, amplitudes in mV.

    Normal P wave (e.g. Surawicz & Knilans, "Chou's electrocardiography"): 80-120 ms, up to 0.25 mV in lead II,
    frontal axis 0-75 deg, upright in I, II, aVF and V3-V6, small or biphasic in V1; PR interval 120-200 ms.
    """

    duration: tuple = (80.0, 120.0)
    amplitude: tuple = (0.05, 0.25)
    frontal_axis_deg: tuple = (0.0, 75.0)
    horizontal_axis_deg: tuple = (-10.0, 45.0)
    pr: tuple = (120.0, 210.0)
    fibrillation_share: float = 0.1  # strips with fibrillatory waves (4-9 Hz, 0.02-0.1 mV) and no P wave
    fibrillation_mv: tuple = (0.02, 0.1)


def atrial_waves(x: np.ndarray, beat_starts: np.ndarray, rng: np.random.Generator, fs: float = 1000.0,
                 ranges: AtrialRanges = AtrialRanges()) -> tuple[np.ndarray, list[dict]]:
    """Add atrial activity to 12-lead strips of simulated ventricular beats.

    Parameters
    ----------
    x : ndarray, shape (n, 12, T), mV at ``fs`` (leads in :data:`cardiacml.contracts.ecg12.LEADS` order)
    beat_starts : ndarray of int, shape (n, k)
        Sample of each beat's ventricular activation onset.
    rng : numpy Generator

    Returns
    -------
    x : ndarray, same shape, float64 - with a P wave ``pr`` ms before every beat (a smooth sin^2 hump along one
        dipole direction per strip, projected on the leads), or fibrillatory waves throughout
    drawn : list of dict, one per strip
    """
    x = np.array(x, np.float64)
    n, L, T = x.shape
    r = ranges
    drawn = []
    t = np.arange(T) / fs
    for i in range(n):
        if rng.random() < r.fibrillation_share:
            amp = rng.uniform(*r.fibrillation_mv)
            f = rng.uniform(4.0, 9.0)
            wob = np.cumsum(rng.normal(0, 0.02, T))  # wandering phase: fibrillation is not a pure tone
            lead_w = rng.uniform(0.3, 1.0, L) * rng.choice([-1, 1], L)
            x[i] += amp * lead_w[:, None] * np.sin(2 * np.pi * f * t + wob)[None, :]
            drawn.append({"atrial": "fibrillation", "f_hz": round(float(f), 2), "mv": round(float(amp), 3)})
            continue
        dur = rng.uniform(*r.duration)
        amp = rng.uniform(*r.amplitude)
        af, ah = np.deg2rad(rng.uniform(*r.frontal_axis_deg)), np.deg2rad(rng.uniform(*r.horizontal_axis_deg))
        proj = np.concatenate([np.cos(_FRONTAL - af), np.cos(_HORIZONTAL - ah)]) * amp
        m = int(round(dur * fs / 1000.0))
        shape = np.sin(np.pi * np.arange(m) / m) ** 2
        pr = rng.uniform(*r.pr)
        for s0 in beat_starts[i]:
            a = int(s0 - round(pr * fs / 1000.0))
            lo, hi = max(a, 0), min(a + m, T)
            if hi > lo:
                x[i, :, lo:hi] += proj[:, None] * shape[None, lo - a:hi - a]
        drawn.append({"atrial": "P", "duration_ms": round(float(dur), 1), "mv": round(float(amp), 3),
                      "pr_ms": round(float(pr), 1)})
    return x, drawn
