"""Signal-quality check over the 48 MIT-BIH records: all windows of a chunk at once vs one call per window.

Both judge the same 10-s windows of the band-passed lead (MLII, else the first) with the reference R peaks, by
Orphanidou's rule (:mod:`cardiacml.ecg.quality`): ``record_quality`` (windows of a 5-minute chunk judged together)
against a loop of ``window_quality`` calls, the way it ran up to 0.3.1. Prints both times, their ratio, and whether
every verdict agrees.

    python benchmarks/bench_quality.py [MITDB_DIR]
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

from cardiacml.datasets.mitbih import list_records
from cardiacml.ecg.filters import clean_ecg
from cardiacml.ecg.quality import record_quality, window_bounds, window_quality
from cardiacml.io import open_record
from cardiacml.tasks.sources import find_mitdb


def per_window(x: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    """Low-quality flag per beat from one window_quality call per window (record_quality's windows)."""
    low = np.zeros(len(peaks), bool)
    for a, b in window_bounds(len(x), fs):
        lo, hi = np.searchsorted(peaks, [a, b])
        if hi > lo and not window_quality(x[a:b], fs, peaks[lo:hi] - a)[0]:
            low[lo:hi] = True
    return low


def main() -> None:
    mitdb = Path(sys.argv[1]) if len(sys.argv) > 1 else find_mitdb()
    t_once = t_loop = 0.0
    agree = flagged = n_beats = 0
    names = list_records(mitdb)
    for name in names:
        rec = open_record(mitdb / name)
        x = clean_ecg(rec.read(0, rec.n_samples, rec.lead_index(None)), rec.fs)
        peaks = np.asarray(rec.annotations()[0], np.int64)
        t = time.perf_counter()
        a = record_quality(lambda i, j: x[i:j], rec.n_samples, rec.fs, peaks, filtered=True)["low_quality"]
        t_once += time.perf_counter() - t
        t = time.perf_counter()
        b = per_window(x, rec.fs, peaks)
        t_loop += time.perf_counter() - t
        agree += int(np.array_equal(a, b))
        flagged += int(a.sum())
        n_beats += len(peaks)
    print(f"{len(names)} MIT-BIH records, {n_beats:,} beats, {flagged:,} flagged; machine {platform.machine()}, "
          f"python {platform.python_version()}")
    print(f"windows of a chunk at once {t_once:.2f} s, one call per window {t_loop:.2f} s: "
          f"{t_loop / max(t_once, 1e-9):.2f}x; verdicts agree on {agree} of {len(names)} records")


if __name__ == "__main__":
    main()
