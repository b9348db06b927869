"""Assemble the data of each task: sources, protocols (splits) and normalisation.

Task 1 (binary, normal vs abnormal) and Task 2 (N/S/V/F/Q) use beats of 187 samples at 125 Hz;
Task 3 (activation times, 75 sites) and Task 4 (Vm, 75 x 500) use the 12-lead ECG (12 x 500).

Where the real datasets are absent, each task falls back on an embedded default
that cardiacml builds itself: MIT-BIH beats rebuilt from raw records
(``../shared/data/mitdb`` or ``--mitdb``) for Tasks 1-2, and simulator output for
Tasks 3-4.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.heartbeat import MITBIH_CLASSES, N_SAMPLES, PTB_CLASSES, BeatSet
from ..errors import MissingDataError
from ..utils import default_cache_dir

TASKS = ("task1", "task2", "task3", "task4")
KIND = {"task1": "classification", "task2": "classification", "task3": "regression", "task4": "sequence"}


@dataclass
class TaskData:
    """Arrays of one task, split. X: (n, leads, times) float32; y: labels, (n, 75) or (n, 75, 500)."""

    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    contract: dict
    source: str
    protocol: str
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KIND[self.task]


def find_mitdb(mitdb: str | os.PathLike | None = None) -> Path:
    """Raw MIT-BIH folder: ``mitdb``, $CARDIACML_MITDB, or ../shared/data/mitdb near the working dir."""
    cands = [mitdb, os.environ.get("CARDIACML_MITDB")]
    here = Path.cwd()
    cands += [p / "shared" / "data" / "mitdb" for p in [here, *here.parents][:4]]
    for c in cands:
        if c and (Path(c) / "RECORDS").is_file():
            return Path(c)
    raise MissingDataError(
        "no MIT-BIH records found: pass --mitdb DIR (a folder with RECORDS and .hea/.dat/.atr files), "
        "set CARDIACML_MITDB, or give --data-dir with the Kaggle CSVs"
    )


def rebuilt_beats(mitdb: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None) -> BeatSet:
    """Beats rebuilt from raw MIT-BIH records, cached as one .npz after the first build."""
    from ..data.mitbih import build_beats, load_beats, save_beats

    src = find_mitdb(mitdb)
    cache = Path(cache_dir or default_cache_dir()) / "mitbih_beats.npz"
    if cache.is_file():
        return load_beats(cache)
    beats = build_beats(src, n_jobs=min(2, os.cpu_count() or 1))
    save_beats(beats, cache)
    return beats


def _val_split(X, y, frac: float, seed: int, stratify: bool):
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    tr, va = train_test_split(idx, test_size=frac, random_state=seed, stratify=y if stratify else None)
    return np.sort(tr), np.sort(va)


def _beats_task(task: str, data_dir, mitdb, protocol: str, seed: int, val_fraction: float, max_train: int | None) -> TaskData:
    from ..data import heartbeat as hb
    from ..data.mitbih import split_interpatient, split_random

    source = None
    if data_dir is not None:
        try:
            if task == "task2":
                if protocol == "interpatient":
                    raise MissingDataError("the Kaggle CSVs carry no record ids: the inter-patient protocol needs raw MIT-BIH records (--mitdb)")
                train, test = hb.load_mitbih(data_dir)
                source, protocol = f"Kaggle MIT-BIH CSVs in {data_dir}", "kaggle"
            else:
                beats = hb.load_ptbdb(data_dir)
                train, test = split_random(beats, 0.2, seed)
                source, protocol = f"Kaggle PTB CSVs in {data_dir}", "random"
        except MissingDataError:
            if protocol == "interpatient" or task == "task1":
                pass
            else:
                raise
    if source is None:
        beats = rebuilt_beats(mitdb)
        if task == "task1":
            beats = BeatSet(beats.X, (beats.y > 0).astype(np.int64), PTB_CLASSES, beats.groups)
        if protocol == "interpatient":
            train, test = split_interpatient(beats)
        else:
            protocol = "random"
            train, test = split_random(beats, 0.2, seed)
        what = "normal (N) vs abnormal (S/V/F/Q) MIT-BIH beats" if task == "task1" else "MIT-BIH beats"
        source = f"{what} rebuilt from raw records ({find_mitdb(mitdb)})"
    classes = PTB_CLASSES if task == "task1" else MITBIH_CLASSES
    tr, va = _val_split(train.X, train.y, val_fraction, seed, stratify=True)
    if max_train and len(tr) > max_train:
        rng = np.random.default_rng(seed)
        tr = np.sort(rng.choice(tr, max_train, replace=False))
    X = train.X[:, None, :]
    contract = {"kind": "beat", "fs_hz": 125.0, "n_samples": N_SAMPLES, "n_leads": 1,
                "normalisation": "beat starts at its R peak; 10 s window min-max scaled to [0, 1]; zero-padded",
                "classes": list(classes)}
    return TaskData(task, X[tr], train.y[tr], X[va], train.y[va], test.X[:, None, :], test.y, contract, source, protocol,
                    {"test_groups": None if test.groups is None else np.asarray(test.groups)})


def default_intracardiac_dir(n: int = 2000, seed: int = 0) -> Path:
    """Embedded default for Tasks 3-4: ``n`` simulator runs, generated once into the cache."""
    from ..simulate import simulate_dataset
    from ..simulate.simulator import SIM_VERSION

    root = default_cache_dir() / f"simulated_v{SIM_VERSION}_n{n}_s{seed}"
    done = root / ".complete"
    if not done.is_file():
        simulate_dataset(n, root, seed=seed, jobs=min(2, os.cpu_count() or 1))
        done.write_text("ok\n")
    return root


def _heart_task(task: str, data_dir, seed: int, val_fraction: float, max_train: int | None, n_sim: int, protocol: str) -> TaskData:
    from sklearn.model_selection import GroupShuffleSplit

    from ..data.geometry import load_geometry
    from ..data.intracardiac import LEADS, open_dataset

    if data_dir is None:
        data_dir = default_intracardiac_dir(n_sim, seed=0)
        source = f"built-in simulator, {n_sim} simulations (seed 0) in {data_dir}"
    else:
        source = f"intracardiac data in {data_dir}"
    ds = open_dataset(data_dir)
    n = len(ds)
    idx = np.arange(n)
    if protocol in ("auto", "stimulus") and ds.meta is not None and "stim_group" in ds.meta:
        groups = ds.meta["stim_group"].to_numpy()
        tr, te = next(GroupShuffleSplit(1, test_size=0.2, random_state=seed).split(idx, groups=groups))
        gtr = groups[tr]
        sub_tr, sub_va = next(GroupShuffleSplit(1, test_size=val_fraction, random_state=seed).split(tr, groups=gtr))
        tr, va = tr[sub_tr], tr[sub_va]
        protocol = "stimulus"  # held out by primary stimulus site
    else:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n)
        n_te = max(1, int(round(0.2 * n)))
        n_va = max(1, int(round(val_fraction * (n - n_te))))
        te, va, tr = perm[:n_te], perm[n_te:n_te + n_va], perm[n_te + n_va:]
        protocol = "random"
    tr, va, te = np.sort(tr), np.sort(va), np.sort(te)
    if max_train and len(tr) > max_train:
        tr = np.sort(np.random.default_rng(seed).choice(tr, max_train, replace=False))
    Y = ds.act if task == "task3" else ds.vm
    geo = load_geometry()
    contract = {"kind": "ecg12", "fs_hz": 1000.0, "n_samples": 500, "n_leads": 12, "leads": list(LEADS),
                "target": "activation time (ms) at 75 sites" if task == "task3" else "Vm (mV) at 75 sites x 500 ms",
                "site_names": list(geo.site_names)}
    return TaskData(task, np.asarray(ds.ecg[tr]), np.asarray(Y[tr]), np.asarray(ds.ecg[va]), np.asarray(Y[va]),
                    np.asarray(ds.ecg[te]), np.asarray(Y[te]), contract, source, protocol,
                    {"test_names": [ds.names[i] for i in te]})


def _cap_eval(data: TaskData, max_eval: int | None, seed: int) -> TaskData:
    """Random subsets of at most ``max_eval`` validation and test examples (quick runs)."""
    if not max_eval:
        return data
    rng = np.random.default_rng(seed + 1)
    for split in ("val", "test"):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        if len(y) > max_eval:
            idx = np.sort(rng.choice(len(y), max_eval, replace=False))
            setattr(data, f"X_{split}", X[idx])
            setattr(data, f"y_{split}", y[idx])
            if split == "test":
                data.extra = {k: (v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx] if isinstance(v, list) else v)
                              for k, v in data.extra.items()}
    return data


def load_task(task: str, data_dir=None, *, mitdb=None, protocol: str = "auto", seed: int = 0,
              val_fraction: float = 0.1, max_train: int | None = None, n_sim: int = 2000,
              max_eval: int | None = None) -> TaskData:
    """Load and split the data of a task.

    Parameters
    ----------
    task : {"task1", "task2", "task3", "task4"}
    data_dir : path-like, optional
        Kaggle CSV folder (Tasks 1-2) or intracardiac dataset / cache (Tasks 3-4).
        When absent, the embedded default is used (see module docstring).
    protocol : str
        Tasks 1-2: ``"random"`` (stratified 80/20 beat split; the Kaggle split when the
        Kaggle CSVs are used) or ``"interpatient"`` (de Chazal DS1 -> DS2, raw records).
        Tasks 3-4: ``"stimulus"`` (test hearts have unseen primary stimulus sites,
        needs simulator metadata) or ``"random"``. ``"auto"`` picks the first possible.
    max_train, max_eval : int, optional
        Random subsets of the training / validation and test data, for quick runs.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")
    if task in ("task1", "task2"):
        if protocol not in ("auto", "random", "interpatient", "kaggle"):
            raise ValueError(f"protocol {protocol!r} is not one of random, interpatient for {task}")
        return _cap_eval(_beats_task(task, data_dir, mitdb, protocol, seed, val_fraction, max_train), max_eval, seed)
    if protocol not in ("auto", "random", "stimulus"):
        raise ValueError(f"protocol {protocol!r} is not one of stimulus, random for {task}")
    return _cap_eval(_heart_task(task, data_dir, seed, val_fraction, max_train, n_sim, protocol), max_eval, seed)
