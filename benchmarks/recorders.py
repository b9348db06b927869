"""The recorder conditions of ``bench_beats_recorders.py`` (and ``af_episodes.py --signal``): an MIT-BIH record as
another recorder would capture it (another rate, gain, polarity, noise, the other lead), one lead, its beat
annotations moved with the resampling."""

import numpy as np

from cardiacml.ecg.filters import resample
from cardiacml.io import ArrayRecord


def variant(rec, cond, rng):
    """``rec`` as the condition ``cond`` (a name of ``bench_beats_recorders.py``'s conditions) gives it; ``rng`` draws
    the noise."""
    if cond.startswith("annotations") or cond == "detected-360Hz":
        return rec
    li = rec.lead_index(None)
    if "V1" in cond:
        li = 1 - li
    x = rec.read(lead=li)
    s, sym = rec.annotations()
    rates = {"128Hz": 128.0, "200Hz": 200.0, "250Hz": 250.0, "500Hz": 500.0}
    fs = rates[next(k for k in rates if k in cond)]
    y = resample(x, rec.fs, fs)
    t = np.arange(len(y)) / fs
    if "noisy" in cond:
        y = 0.4 * y + 0.03 * rng.standard_normal(len(y)) + 0.3 * np.sin(2 * np.pi * 0.3 * t) + 0.05 * np.sin(2 * np.pi * 50 * t)
    if "inverted" in cond:
        y = -2.5 * y
    return ArrayRecord(y, fs, [rec.leads[li]], path=f"{rec.path}[{cond}]",
                       annotations=(np.round(np.asarray(s) * fs / rec.fs).astype(np.int64), sym))
