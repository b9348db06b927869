"""Neighbour medians: numpy's median against the sorting network of ``cardiacml.ecg.median`` on real beats.

Data: MIT-BIH record 208 (../shared/data/mitdb; 2,955 beats, many PVCs), MLII band-passed, reference R peaks. Two
cases, each timed both ways in the same run (best of 7), with the results compared for equality:

- the AF detector's neighbour QRS (:func:`cardiacml.ecg.rhythm._qrs_corr`: [R - 50, R + 80] ms, 8 neighbours);
- the rhythm contract's local templates (:func:`cardiacml.ecg.pipeline._local_templates`: whole windows, 16
  neighbours).

    python benchmarks/bench_medians.py
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import wfdb

from cardiacml.contracts import rhythm as C
from cardiacml.ecg import rhythm as R
from cardiacml.ecg.filters import clean_ecg
from cardiacml.ecg.median import median_of
from cardiacml.io import open_record
from cardiacml.io.symbols import BEAT_SYMBOLS
from cardiacml.tasks.sources import find_mitdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import best_of  # noqa: E402  (the benchmarks' timing helper)


def best(fn, repeat=7):
    """Best of ``repeat`` timed calls, after one untimed warm-up call."""
    fn()
    return best_of(fn, repeat)


def main():
    rec = open_record(find_mitdb() / "208")
    x = clean_ecg(np.asarray(rec.read(0, rec.n_samples, lead=0), np.float64), rec.fs).astype(np.float32)
    ann = wfdb.rdann(str(find_mitdb() / "208"), "atr")
    peaks = ann.sample[np.isin(ann.symbol, list(BEAT_SYMBOLS))].astype(np.int64)
    fs = rec.fs
    print(f"record 208: {len(peaks)} beats; machine {platform.machine()}, python {platform.python_version()}")
    for name, (pre, post), k in (("AF detector neighbour QRS", (0.05, 0.08), R.QRS_NEIGHBOURS),
                                 ("rhythm-contract local templates", (C.PRE_S, C.POST_S), C.TEMPLATE_K)):
        a, b = int(round(pre * fs)), int(round(post * fs))
        p = peaks[(peaks - a >= 0) & (peaks + b <= len(x))]
        W = x[(p - a)[:, None] + np.arange(a + b)[None, :]]
        offs = np.r_[np.arange(-k, 0), np.arange(1, k + 1)]
        nb = np.clip(np.arange(len(W))[:, None] + offs[None, :], 0, len(W) - 1)
        ref = np.median(W[nb], axis=1)
        net = median_of([W[j] for j in nb.T])
        t_np = best(lambda: np.median(W[nb], axis=1))
        t_net = best(lambda: median_of([W[j] for j in nb.T]))
        print(f"{name} ({2 * k} neighbours, {W.shape[1]} samples): np.median {1000 * t_np:.1f} ms, "
              f"sorting network {1000 * t_net:.1f} ms: {t_np / t_net:.2f}x; equal: {np.array_equal(ref, net)}")


if __name__ == "__main__":
    main()
