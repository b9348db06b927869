"""Sample-wise median of a power-of-two number of same-shaped arrays, by a pruned sorting network.

Both beat-template medians of the package use it: the rhythm contract's local template of each beat
(:func:`cardiacml.ecg.pipeline._local_templates`, 2 x ``TEMPLATE_K`` neighbours) and the AF detector's neighbour QRS
(:func:`cardiacml.ecg.rhythm._qrs_corr`, 2 x ``QRS_NEIGHBOURS``). Written here rather than taken from numpy because
``np.median`` over a gathered (beats, n, W) copy partitions along a strided axis: the network's ~20-50 elementwise
``np.minimum`` / ``np.maximum`` calls on contiguous (beats, W) arrays give the same values 5x (16 neighbours, whole
windows) and 13x (8 neighbours, QRS) faster on record 208 (``benchmarks/bench_medians.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def _median_network(n: int) -> tuple:
    """Comparators of Batcher's odd-even merge sort of ``n`` (a power of 2) wires, pruned to those that
    decide the two middle outputs (~50 comparators for n = 16)."""
    pairs, p = [], 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    need, keep = {n // 2 - 1, n // 2}, []
    for i, j in reversed(pairs):
        if i in need or j in need:
            keep.append((i, j))
            need |= {i, j}
    return tuple(keep[::-1])


def median_of(arrays: list[np.ndarray]) -> np.ndarray:
    """Elementwise median of ``arrays`` (n of them, n a power of 2, all one shape): the mean of the two middle values,
    as ``np.median(np.stack(arrays), axis=0)`` gives. The list's arrays are overwritten (pass fresh copies, e.g.
    fancy-indexed rows)."""
    v = list(arrays)
    n = len(v)
    if n < 2 or n & (n - 1):
        raise ValueError(f"median_of needs a power of 2 (>= 2) arrays, got {n}")
    for i, j in _median_network(n):
        lo = np.minimum(v[i], v[j])
        np.maximum(v[i], v[j], out=v[j])
        v[i] = lo
    return 0.5 * (v[n // 2 - 1] + v[n // 2])
