"""Kaggle "ECG Heartbeat Categorization Dataset" CSV files (MIT-BIH and PTB beats).

Each row: 187 samples of one beat at 125 Hz, normalised to [0, 1] and zero-padded,
followed by the integer class label (188 comma-separated values, no header).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingDataError, every_process
from ..utils import atomic_path, default_cache_dir, file_checksum
from ..contracts.base import FLOAT32_MAX
from ..contracts.beat import KAGGLE_BEAT, MITBIH_CLASSES, N_SAMPLES, PTB_CLASSES

FILES = {
    "mitbih_train": ("mitbih_train.csv", MITBIH_CLASSES),
    "mitbih_test": ("mitbih_test.csv", MITBIH_CLASSES),
    "ptbdb_normal": ("ptbdb_normal.csv", PTB_CLASSES),
    "ptbdb_abnormal": ("ptbdb_abnormal.csv", PTB_CLASSES),
}
CACHE_VERSION = 3  # 3: beat values checked against the contract range when parsed (older caches were not)



@dataclass
class BeatSet:
    """Beats and labels.

    Attributes
    ----------
    X : ndarray, shape (n_beats, 187), float32
        Beats sampled at 125 Hz, values in [0, 1].
    y : ndarray, shape (n_beats,), int64
        Class index.
    classes : tuple of str
        Class names; ``classes[y[i]]`` is the label of beat i.
    groups : ndarray of str, shape (n_beats,), optional
        Record (patient) id of each beat when known, for inter-patient splits.
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        """One line (a notebook shows the value of a cell's last line), not the beats whole."""
        y = np.asarray(self.y)
        ok = y.ndim == 1 and y.dtype.kind in "iu" and (not len(y) or 0 <= y.min() <= y.max() < len(self.classes))
        counts = ", ".join(f"{c} {n}" for c, n in self.class_counts().items()) if ok else ", ".join(self.classes)
        groups = "" if self.groups is None else f", {len(np.unique(self.groups))} records"
        shape = np.shape(self.X)[1:]
        return f"BeatSet({len(y)} beats of {shape[0] if len(shape) == 1 else shape} samples: {counts}{groups})"

    def class_counts(self) -> dict:
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def subset(self, idx) -> "BeatSet":
        return BeatSet(self.X[idx], self.y[idx], self.classes, None if self.groups is None else self.groups[idx])


def _open_text(path: Path):
    """Open a CSV as text; gzip-compressed files (``.gz`` or gzip magic bytes) are read transparently."""
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path, "r")


def _parse_csv(path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    try:
        with _open_text(path) as fh:  # the first row with values: pandas skips blank lines, so does this check
            first = next((ln for ln in fh if ln.strip()), "")
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a readable text CSV ({exc.__class__.__name__}: {exc}); "
                              "expected 188 comma-separated numbers per row (plain or gzip-compressed)") from exc
    if not first.strip():
        raise DataFormatError(f"{path}: file is empty")
    ncol = first.count(",") + 1
    if ncol != N_SAMPLES + 1:
        raise DataFormatError(f"{path}, row 1: expected {N_SAMPLES + 1} comma-separated values (187 samples + label), found {ncol}")
    try:
        with _open_text(path) as fh:
            df = pd.read_csv(fh, header=None, dtype=np.float64, engine="c")  # no names=: a long row is an error
    except pd.errors.ParserError as exc:  # (with names=, pandas moved a long row's extra value onto a row of its own)
        import re

        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise DataFormatError(f"{path}, row {m.group(2)}: {m.group(3)} comma-separated values, expected "
                                  f"{N_SAMPLES + 1} (187 samples + label)") from None
        raise DataFormatError(f"{path}: cannot parse as a {N_SAMPLES + 1}-column numeric CSV: {exc}") from exc
    except (ValueError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise DataFormatError(f"{path}: cannot parse as a {N_SAMPLES + 1}-column numeric CSV: {exc}") from exc
    arr = df.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (np.abs(arr) > FLOAT32_MAX)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "label" if col == N_SAMPLES else f"sample {col}"
        why = "missing or not a finite number" if not np.isfinite(arr[row, col]) else \
            f"{arr[row, col]:.3g}, beyond float32's range (±3.4e38)"
        raise DataFormatError(
            f"{path}, row {row + 1}: {what} is {why} "
            f"({int(bad.any(axis=1).sum())} bad rows in all; a short row also shows up here)"
        )
    lo, hi = KAGGLE_BEAT.value_range  # what predict accepts: a model trained beyond it refused its own training data
    out = (arr[:, :N_SAMPLES] < lo) | (arr[:, :N_SAMPLES] > hi)
    if out.any():
        row, col = np.argwhere(out)[0]
        raise DataFormatError(f"{path}, row {row + 1}: sample {col} is {arr[row, col]:.3g}, outside [{lo:g}, {hi:g}]: "
                              f"Kaggle beats are min-max normalised to [0, 1] ({int(out.any(axis=1).sum())} such rows)")
    labels = arr[:, -1]
    if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= n_classes:
        row = int(np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= n_classes))[0])
        raise DataFormatError(f"{path}, row {row + 1}: label {float(labels[row]):g} is not an integer in 0..{n_classes - 1}")
    return arr[:, :N_SAMPLES].astype(np.float32), labels.astype(np.int64)


def _cache_key(path: Path) -> str:
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{CACHE_VERSION}"
    return hashlib.sha1(ident.encode()).hexdigest()[:16]


def load_heartbeat_csv(
    path: str | os.PathLike,
    classes: tuple = MITBIH_CLASSES,
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    mmap: bool = False,
) -> BeatSet:
    """Load one Kaggle-format heartbeat CSV, validating it and caching it as .npy.

    Parameters
    ----------
    path : path-like
        CSV with 188 columns: 187 samples then the label.
    classes : tuple of str
        Class names (labels must lie in ``0..len(classes)-1``).
    cache : bool
        Keep a parsed copy (``X.npy``, ``y.npy``) keyed on the file's path, size and
        modification time; later loads read it instead of parsing the CSV.
    cache_dir : path-like, optional
        Where to keep the cache (default :func:`cardiacml.utils.default_cache_dir`).
    mmap : bool
        Memory-map the cached arrays instead of reading them into memory.

    Raises
    ------
    MissingDataError
        The file does not exist.
    DataFormatError
        Wrong column count, non-numeric or NaN values, or out-of-range labels;
        the message names the file and the 1-based row.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such file. Download it with `cardiacml data download heartbeat --dest DIR`.")
    if not cache:
        X, y = _parse_csv(path, len(classes))
        return BeatSet(X, y, tuple(classes))
    cdir = Path(cache_dir or default_cache_dir() / "heartbeat") / f"{path.stem}-{_cache_key(path)}"
    cached = _read_cache(cdir, len(classes), mmap)
    if cached is not None:
        return BeatSet(*cached, tuple(classes))
    X, y = _parse_csv(path, len(classes))
    with atomic_path(cdir) as tmp:
        tmp.mkdir(parents=True)
        np.save(tmp / "X.npy", X)
        np.save(tmp / "y.npy", y)
        sums = {f: file_checksum(tmp / f) for f in ("X.npy", "y.npy")}
        (tmp / "meta.json").write_text(json.dumps({"source": str(path.resolve()), "rows": int(len(y)), "crc32": sums}))
    return BeatSet(X, y, tuple(classes))


def _read_cache(cdir: Path, n_classes: int, mmap: bool):
    """(X, y) from a cache folder, or None when absent; a damaged cache is reported, removed and rebuilt."""
    import shutil
    import warnings

    meta_file = cdir / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        for f, crc in meta["crc32"].items():
            got = file_checksum(cdir / f)
            if got != crc:
                raise ValueError(f"{f} has changed bytes (crc32 {got}, recorded {crc})")
        mode = "r" if mmap else None
        X = np.load(cdir / "X.npy", mmap_mode=mode, allow_pickle=False)
        y = np.load(cdir / "y.npy", mmap_mode=mode, allow_pickle=False)
        if X.shape != (len(y), N_SAMPLES) or len(y) != meta["rows"] or not y.size or int(y.max()) >= n_classes:
            raise ValueError(f"arrays of shape {X.shape} / {y.shape} do not match the {meta['rows']} rows recorded")
        return X, y
    except Exception as exc:  # any damage (truncated, emptied, edited, unreadable): rebuild, say so
        warnings.warn(f"cache {cdir} is damaged ({exc}); rebuilding it from the CSV", stacklevel=3)
        shutil.rmtree(cdir, ignore_errors=True)
        return None


def find_heartbeat_file(name: str, data_dir: str | os.PathLike) -> Path:
    """Path of a Kaggle file (``mitbih_train``...) inside ``data_dir`` (searched recursively)."""
    fname = FILES[name][0]
    data_dir = Path(data_dir)
    direct = data_dir / fname
    if direct.is_file():
        return direct
    hits = sorted(data_dir.rglob(fname)) if data_dir.is_dir() else []
    if not hits:
        raise every_process(MissingDataError(  # the folder named (--data-dir): alike on every process
            f"{fname} not found under {data_dir}. Get the Kaggle 'ECG Heartbeat Categorization Dataset' "
            "with `cardiacml data download heartbeat --dest DIR`, or rebuild MIT-BIH beats from raw records "
            "with `cardiacml data build-beats`."
        ))
    return hits[0]


def load_mitbih(data_dir: str | os.PathLike, **kw) -> tuple[BeatSet, BeatSet]:
    """Kaggle MIT-BIH train and test sets (Kaggle's random 80/20 beat split) from ``data_dir``."""
    train = load_heartbeat_csv(find_heartbeat_file("mitbih_train", data_dir), MITBIH_CLASSES, **kw)
    return train, load_mitbih_test(data_dir, **kw)


def load_mitbih_test(data_dir: str | os.PathLike, **kw) -> BeatSet:
    """The Kaggle MIT-BIH test set (``mitbih_test.csv``) from ``data_dir``, alone: ``mitbih_train.csv`` is not read."""
    return load_heartbeat_csv(find_heartbeat_file("mitbih_test", data_dir), MITBIH_CLASSES, **kw)


def load_ptbdb(data_dir: str | os.PathLike, **kw) -> BeatSet:
    """Kaggle PTB normal + abnormal beats concatenated (labels 0 = normal, 1 = abnormal)."""
    a = load_heartbeat_csv(find_heartbeat_file("ptbdb_normal", data_dir), PTB_CLASSES, **kw)
    b = load_heartbeat_csv(find_heartbeat_file("ptbdb_abnormal", data_dir), PTB_CLASSES, **kw)
    return BeatSet(np.concatenate([a.X, b.X]), np.concatenate([a.y, b.y]), PTB_CLASSES)


def write_heartbeat_csv(beats: BeatSet, path: str | os.PathLike) -> Path:
    """Write beats in the exact Kaggle format (188 values per row, ``%.18e``)."""
    path = Path(path)
    arr = np.concatenate([beats.X.astype(np.float64), beats.y[:, None].astype(np.float64)], axis=1)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, arr, delimiter=",", fmt="%.18e")
    return path
