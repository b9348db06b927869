"""The 12-lead contract of Tasks 3-4 (LLNL intracardiac dataset): 12 standard leads, 500 ms at 1 kHz, mV.

The dataset stores electrode potentials (pECGData, 500 x 10: RA, LA, LL, RL, V1..V6); models take the 12
standard leads :data:`LEADS` computed from them by :func:`leads_from_electrodes` (Wilson's terminal).
A real recording is brought to this contract by :mod:`cardiacml.ecg.twelve_lead` (1 kHz, a 500 ms
window from just before the QRS onset, baseline removed).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataFormatError
from .base import SignalContract

#: Sampling rate (Hz) and samples (ms) of a 12-lead beat window.
FS = 1000.0
N_TIMES = 500
#: Recording sites of the heart (targets).
N_SITES = 75
#: Electrodes of pECGData, in column order.
ELECTRODES = ("RA", "LA", "LL", "RL", "V1", "V2", "V3", "V4", "V5", "V6")
#: The 12 standard leads, in model input order.
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

#: Version of the beat window models take (see :mod:`cardiacml.ecg.twelve_lead`): 2 from cardiacml 0.3; a
#: checkpoint whose contract names none was trained on version 1 (cardiacml 0.2).
WINDOW_VERSION = 2

#: Input contract of Tasks 3-4: 12 standard leads, a 500 ms window at 1 kHz from 5 ms before the global QRS onset,
#: band-passed and divided by its amplitude scale, the same for simulated hearts and recordings (window version 2).
ECG12 = SignalContract(
    kind="ecg12", n_leads=12, n_samples=N_TIMES, fs_hz=FS, units="normalised", value_range=(-1e3, 1e3), leads=LEADS,
    target="activation time (ms) at 75 sites", target_units="ms",
    normalisation="12 standard leads (Wilson terminal); 0.5-40 Hz band-pass + 50/60 Hz notches; 500 ms from 5 ms before "
                  "the 12-lead QRS onset of the median beat; PR level subtracted; divided by the median QRS peak-to-peak "
                  "over the leads (cardiacml.ecg.twelve_lead, window version 2)",
    extra={"window_version": WINDOW_VERSION},
)


def window_version(contract) -> int:
    """The beat-window version a 12-lead model's contract was trained on (1 when it names none: cardiacml 0.2)."""
    extra = getattr(contract, "extra", None) or {}
    return int(extra.get("window_version", 1))


def leads_from_electrodes(pecg: np.ndarray) -> np.ndarray:
    """Standard 12 leads from the 10 electrode potentials.

    Parameters
    ----------
    pecg : ndarray, shape (..., T, 10)
        Electrode potentials RA, LA, LL, RL, V1..V6 over time (pECGData layout).

    Returns
    -------
    ndarray, shape (..., 12, T), float32
        Leads I, II, III, aVR, aVL, aVF, V1..V6 (see :data:`LEADS`), with Wilson's
        terminal W = (RA+LA+LL)/3, augmented leads 1.5*(X-W) and Vi - W.
    """
    e = np.asarray(pecg, np.float64)
    if e.shape[-1] != 10:
        raise DataFormatError(f"expected 10 electrodes in the last axis (RA, LA, LL, RL, V1..V6), got shape {e.shape}")
    ra, la, ll = e[..., 0], e[..., 1], e[..., 2]
    w = (ra + la + ll) / 3.0
    leads = [la - ra, ll - ra, ll - la, 1.5 * (ra - w), 1.5 * (la - w), 1.5 * (ll - w)]
    leads += [e[..., 4 + i] - w for i in range(6)]
    return np.stack(leads, axis=-2).astype(np.float32)
