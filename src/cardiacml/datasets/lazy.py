"""Row views of memory-mapped arrays: a split of a large dataset without loading it into RAM."""

from __future__ import annotations

import numpy as np


class LazyRows:
    """Rows ``index`` of ``array`` (typically a ``np.memmap``), read only when asked for.

    Supports ``len``, ``shape``, ``dtype``, integer / slice / integer-array indexing (rows are
    read in sorted order, then returned in the order asked for) and ``np.asarray`` (reads all).
    """

    def __init__(self, array, index):
        self.array = array
        self.index = np.asarray(index, np.int64)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple:
        return (len(self.index), *self.array.shape[1:])

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, rest = key[0], key[1:]
            return self[rows][(slice(None),) + rest] if not np.isscalar(rows) else self[rows][rest]
        if isinstance(key, (int, np.integer)):
            return np.asarray(self.array[self.index[key]])
        rows = self.index[key]
        if np.ndim(rows) == 0:
            return np.asarray(self.array[int(rows)])
        order = np.argsort(rows, kind="stable")
        out = np.asarray(self.array[rows[order]])
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        return out[inv]

    def __array__(self, dtype=None, copy=None):
        out = self[np.arange(len(self))]
        return out.astype(dtype) if dtype is not None else out

    def copy(self):
        return np.asarray(self).copy()


class ShiftedRows(LazyRows):
    """Rows ``index`` of a time series array (n, channels, T), each moved in time by its own ``shift`` (samples).

    Row ``i`` reads ``array[index[i], :, t + shift[i]]`` for ``t`` in ``0..T-1``, holding the first / last sample
    beyond the ends. Training uses it for Vm targets that follow a window cut ``shift`` ms after the simulation's
    time 0, without storing a moved copy of every (75 x 500) target.
    """

    def __init__(self, array, index, shift):
        super().__init__(array, index)
        self.shift = np.asarray(shift, np.int64)
        if self.shift.shape != self.index.shape:
            raise ValueError("one shift per row is needed")

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, rest = key[0], key[1:]
            return self[rows][(slice(None),) + rest] if not np.isscalar(rows) else self[rows][rest]
        scalar = isinstance(key, (int, np.integer))
        sel = np.arange(len(self.index))[key]
        sel = np.atleast_1d(sel)
        out = LazyRows.__getitem__(self, sel)
        T = out.shape[-1]
        t = np.clip(np.arange(T)[None, :] + self.shift[sel][:, None], 0, T - 1)
        out = np.take_along_axis(out, t[:, None, :], axis=-1)
        return out[0] if scalar else out


def chunked_mean_std(X, axis=(0, 2), chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``X`` (n, c, t) over examples and time, per channel, reading ``chunk`` rows at a time.

    Returns arrays of shape (c, 1) (float64 accumulation, so large datasets lose no precision).
    """
    n = len(X)
    s = s2 = None
    count = 0
    for i in range(0, n, chunk):
        b = np.asarray(X[i:i + chunk], np.float64)
        bs, bs2 = b.sum(axis=(0, 2)), (b ** 2).sum(axis=(0, 2))
        s = bs if s is None else s + bs
        s2 = bs2 if s2 is None else s2 + bs2
        count += b.shape[0] * b.shape[2]
    mean = s / count
    std = np.sqrt(np.maximum(s2 / count - mean ** 2, 0.0))
    return mean[:, None], std[:, None]
