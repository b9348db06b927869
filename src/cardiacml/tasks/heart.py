"""Tasks 3 and 4: 12-lead ECG (12 x 500 at 1 kHz) -> activation times at 75 sites / Vm at 75 sites x 500 ms.

Data: the LLNL intracardiac dataset (``--data-dir``), or the built-in simulator's default set.
Protocols: ``stimulus`` (test hearts paced from primary stimulus sites unseen in training; needs
simulator metadata) or ``random``.

Inputs go through the one 12-lead input path (:func:`cardiacml.ecg.twelve_lead.simulated_windows`, the steps
``cardiacml predict`` applies to a recording): every heart gives a clean window (validation, test, and one training
copy) and :data:`TRAIN_COPIES` more with recorder effects and onset-detection error for training. Targets move with
the window: activation times are counted from the window's start, Vm is read from it (:class:`ShiftedRows`).
The windows are computed once per dataset and kept beside its cache (:func:`input_windows`).
"""

from __future__ import annotations

import numpy as np

from pathlib import Path

from ..contracts.ecg12 import ECG12, WINDOW_VERSION
from ..datasets.intracardiac import ACTIVATION_DEFINITION, VM_ACTIVATION_DEFINITION
from .registry import TaskData, TaskSpec, register_task

#: Augmented windows of every heart besides its clean one (recorder effects and onset error; training copies).
TRAIN_COPIES = 2
AUGMENT_VERSION = 2  # 1: recorder effects; 2: + atrial activity (P waves / fibrillatory waves), heart rate 50-133/min
#: Hearts per work item when the windows are built (the draws of a chunk depend only on (seed, its first heart)).
_CHUNK = 200

LIMITS = {
    "stimulus": "Held out by primary stimulus site, on simulator data: performance on the real LLNL dataset or on "
                "patients is not measured here.",
    "random": "Random split of simulations: hearts that share stimulus sites with training hearts are in the test set.",
}


def _heart_loader(task: str):
    def load(*, data_dir=None, protocol="auto", seed=0, val_fraction=0.1, max_train=None, n_sim=None, lazy=False,
             window_version=None, test_only=False):
        # test_only (evaluation): the test hearts are cut from the same dataset; the training and validation inputs
        # stay memory-mapped, unread (the training targets are read: Task 3 reports a constant-mean baseline)
        from sklearn.model_selection import GroupShuffleSplit

        from ..datasets.geometry import load_geometry
        from ..datasets.intracardiac import open_dataset
        from .sources import DEFAULT_N_SIM, default_intracardiac_dir

        if data_dir is not None and n_sim is not None:
            from ..errors import UsageError

            raise UsageError(f"--n-sim sizes the built-in simulated data; it does not apply with --data-dir {data_dir}")
        if data_dir is None:
            n_sim = n_sim or DEFAULT_N_SIM
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
            sub_tr, sub_va = next(GroupShuffleSplit(1, test_size=val_fraction, random_state=seed).split(tr, groups=groups[tr]))
            tr, va = tr[sub_tr], tr[sub_va]
            protocol = "stimulus"
        else:
            if protocol == "stimulus":
                from ..errors import DataFormatError

                raise DataFormatError(f"{data_dir}: the stimulus protocol needs simulator metadata (simulations.csv with "
                                      "stim_group); use --protocol random")
            perm = np.random.default_rng(seed).permutation(n)
            n_te = max(1, int(round(0.2 * n)))
            n_va = max(1, int(round(val_fraction * (n - n_te))))
            te, va, tr = perm[:n_te], perm[n_te:n_te + n_va], perm[n_te + n_va:]
            protocol = "random"
        tr, va, te = np.sort(tr), np.sort(va), np.sort(te)
        if max_train and len(tr) > max_train:
            tr = np.sort(np.random.default_rng(seed).choice(tr, max_train, replace=False))
        from ..datasets.lazy import LazyRows, ShiftedRows

        sites = load_geometry().site_names
        if (window_version or WINDOW_VERSION) == 1:  # a cardiacml 0.2 model: the raw simulated windows it was trained on
            Y = ds.act if task == "task3" else ds.vm
            parts = []
            for rows in (tr, va, te):
                unread = lazy or (test_only and rows is not te)
                parts += [LazyRows(ds.ecg, rows), LazyRows(Y, rows)] if unread else [np.asarray(ds.ecg[rows]),
                                                                                     np.asarray(Y[rows])]
            from ..contracts import SignalContract

            c1 = SignalContract(kind="ecg12", n_leads=12, n_samples=500, fs_hz=1000.0, units="mV", value_range=(-1e4, 1e4),
                                leads=ECG12.leads, target="", target_units="ms")
            contract = (c1.with_targets("activation time (ms) at 75 sites", "ms", sites) if task == "task3"
                        else c1.with_targets("Vm (mV) at 75 sites x 500 ms", "mV", sites))
            return TaskData(task, *parts, contract, source + "; raw simulated windows (window version 1)", protocol,
                            {"test_names": [ds.names[i] for i in te]})
        if window_version not in (None, WINDOW_VERSION):
            from ..errors import UsageError

            raise UsageError(f"window version {window_version!r}: this cardiacml builds versions 1 and {WINDOW_VERSION}")
        win = input_windows(ds)
        X, off = win["X"], win["offset"]
        per = 1 + TRAIN_COPIES
        rows_tr = (tr[:, None] * per + np.arange(per)[None, :]).ravel()  # clean + augmented copies of training hearts
        heart_tr = np.repeat(tr, per)
        parts = []
        for rows, hearts in ((rows_tr, heart_tr), (va * per, va), (te * per, te)):
            unread = lazy or (test_only and hearts is not te)
            x = LazyRows(X, rows) if unread else np.asarray(X[rows])
            if task == "task3":
                y = (np.asarray(ds.act)[hearts] - off[rows][:, None]).astype(np.float32)
            else:
                y = ShiftedRows(ds.vm, hearts, off[rows])
                y = y if unread else np.asarray(y)
            parts += [x, y]
        contract = (ECG12.with_targets("activation time (ms) at 75 sites", "ms", sites) if task == "task3"
                    else ECG12.with_targets("Vm (mV) at 75 sites x 500 ms", "mV", sites))
        source += (f"; 12-lead windows v{WINDOW_VERSION} (the predict path) of each heart: 1 clean + {TRAIN_COPIES} with "
                   f"atrial activity and recorder effects for training (augmentation v{AUGMENT_VERSION})")
        extra = {"test_names": [ds.names[i] for i in te], "test_window_offset_ms": off[te * per],
                 # the unfamiliarity threshold is calibrated on validation hearts both clean and with recorder effects
                 "X_calibration": LazyRows(X, (va[:, None] * per + np.arange(per)[None, :]).ravel())}
        if ds.meta is not None and "conduction" in ds.meta:  # simulator v4: metrics per conduction kind too
            extra["test_conduction"] = ds.meta["conduction"].astype(str).to_numpy()[te]
        return TaskData(task, *parts, contract, source, protocol, extra)

    return load


def input_windows(ds, copies: int = TRAIN_COPIES, seed: int = 0, jobs: int | None = None) -> dict:
    """Model inputs of every heart of an intracardiac dataset through the 12-lead input path, cached beside it.

    Row ``i * (1 + copies)`` is heart ``i``'s clean window, the next ``copies`` rows its windows with recorder
    effects. Returns ``X`` (n (1 + copies), 12, 500) float32 (memory-mapped) and ``offset`` (same rows, ms: window
    start minus the simulation's time 0). Built once (about 15 ms a window on one core, ``jobs`` processes) into
    ``DATASET_CACHE/windows_v{version}_a{augmentation version}_c{copies}_s{seed}/``, atomically; the dataset's cache is rebuilt whole when
    its data change, and this folder with it.
    """
    from ..utils import atomic_path, clean_stale_temps, cpu_cores, progress

    folder = Path(ds.path) / f"windows_v{WINDOW_VERSION}_a{AUGMENT_VERSION}_c{copies}_s{seed}"
    if not (folder / "X.npy").is_file():
        from numpy.lib.format import open_memmap

        n = len(ds)
        per = 1 + copies
        clean_stale_temps(folder.parent, folder.name)
        starts = list(range(0, n, _CHUNK))
        jobs = jobs or min(2, cpu_cores())
        with atomic_path(folder) as tmp:
            tmp.mkdir(parents=True)
            X = open_memmap(tmp / "X.npy", mode="w+", dtype=np.float32, shape=(n * per, 12, 500))
            off = np.zeros(n * per, np.int64)
            work = [(str(ds.path), a, min(n, a + _CHUNK), copies, seed) for a in starts]
            bar = progress(total=n, desc="12-lead input windows", unit="heart")
            if jobs > 1 and len(work) > 1:
                from concurrent.futures import ProcessPoolExecutor, as_completed

                from ..utils import worker_context

                # an executor, not a multiprocessing.Pool: a worker that dies raises here instead of hanging the build
                with ProcessPoolExecutor(jobs, mp_context=worker_context()) as ex:
                    for fut in as_completed([ex.submit(_windows_chunk, w) for w in work]):
                        a, xb, ob = fut.result()
                        X[a * per:a * per + len(xb)], off[a * per:a * per + len(ob)] = xb, ob
                        bar.update(len(xb) // per)
            else:
                for w in work:
                    a, xb, ob = _windows_chunk(w)
                    X[a * per:a * per + len(xb)], off[a * per:a * per + len(ob)] = xb, ob
                    bar.update(len(xb) // per)
            bar.close()
            X.flush()
            del X
            np.save(tmp / "offset.npy", off)
    return {"X": np.load(folder / "X.npy", mmap_mode="r", allow_pickle=False),
            "offset": np.load(folder / "offset.npy", allow_pickle=False)}


def _windows_chunk(args):
    """Windows of hearts a..b: clean, then ``copies`` augmented; draws depend only on (seed, a)."""
    from ..datasets.intracardiac import IntracardiacData
    from ..ecg.twelve_lead import simulated_windows

    path, a, b, copies, seed = args
    ecg = np.asarray(IntracardiacData(path, verify=False).ecg[a:b], np.float64)
    per = 1 + copies
    X = np.zeros((b - a, per, 12, 500), np.float32)
    off = np.zeros((b - a, per), np.int64)
    X[:, 0], off[:, 0], _ = simulated_windows(ecg, augment=False)
    rng = np.random.default_rng([seed, a])
    for k in range(copies):
        X[:, 1 + k], off[:, 1 + k], _ = simulated_windows(ecg, rng, augment=True)
    return a, X.reshape(-1, 12, 500), off.ravel()


def _groups(m: dict, key: str, fmt: str) -> str:
    g = m.get("by_conduction")
    return ("; by conduction: " + ", ".join(f"{k} {v[key]:{fmt}} (n={v['n']})" for k, v in g.items())) if g else ""


def activation_summary(m: dict) -> str:
    return (f"test: MAE {m['mae_ms']:.2f} ms (constant-mean baseline {m['constant_baseline_mae_ms']:.2f} ms, "
            f"target std {m['target_std_ms']:.2f} ms)  (n={m['n']})" + _groups(m, "mae_ms", ".2f"))


def vm_summary(m: dict) -> str:
    return (f"test: RMSE {m['rmse_mv']:.2f} mV  relative error {m['relative_error']:.3f}  mean per-site r "
            f"{m['pearson_r_mean']:.3f}  activation MAE from Vm {m['activation_mae_ms_from_vm']:.2f} ms "
            f"({m['activation_missed']} site(s) never activated in the prediction)  (n={m['n']})"
            + _groups(m, "rmse_mv", ".2f"))


def _by_conduction(m: dict, y, pred, data, fn, keys) -> dict:
    """Add ``by_conduction``: the headline metrics on each conduction kind of the test hearts (simulator v4), so the
    normal hearts (comparable with simulator v3) and the wider physiology are reported apart."""
    kinds = (getattr(data, "extra", None) or {}).get("test_conduction")
    if kinds is None or len(kinds) != len(y):
        return m
    m["by_conduction"] = {}
    for k in sorted(set(kinds)):
        sel = kinds == k
        sub = fn(y[sel], pred[sel])
        m["by_conduction"][str(k)] = {"n": int(sel.sum()), **{key: sub[key] for key in keys}}
    return m


def _act_metrics(y, pred, data):
    from .metrics import activation_metrics

    names = list(data.contract.target_names)
    m = activation_metrics(y, pred, names, baseline=np.nanmean(data.y_train, 0))
    return _by_conduction(m, y, pred, data, lambda a, b: activation_metrics(a, b, names), ("mae_ms",))


def _vm_metrics(y, pred, data):
    from .metrics import vm_metrics

    names = list(data.contract.target_names)
    m = vm_metrics(y, pred, names)
    return _by_conduction(m, y, pred, data, lambda a, b: vm_metrics(np.asarray(a), b, names),
                          ("rmse_mv", "activation_mae_ms_from_vm"))


COMMON = dict(contract_kind="ecg12", default_model="tcn", protocols=("stimulus", "random"), limits=LIMITS,
              augmentation="scale")

register_task(TaskSpec(
    name="task3", title="activation map: 12-lead ECG -> activation time at 75 sites (ms)", kind="regression",
    loader=_heart_loader("task3"), model_output="vector", loss="masked_l1", score_key="mae_ms", higher_is_better=False,
    history_keys=("mae_ms",), metrics=_act_metrics, summary=activation_summary, figures="activation",
    intended_use="Research: estimate activation times at 75 heart sites from a 12-lead ECG, on simulated hearts. "
                 + ACTIVATION_DEFINITION + ".",
    **COMMON))
register_task(TaskSpec(
    name="task4", title="transmembrane potential: 12-lead ECG -> Vm at 75 sites x 500 ms (mV)", kind="sequence",
    loader=_heart_loader("task4"), model_output="sequence", loss="mse_tv", score_key="rmse_mv", higher_is_better=False,
    history_keys=("rmse_mv", "pearson_r_mean"), metrics=_vm_metrics, summary=vm_summary, figures="vm",
    intended_use="Research: estimate transmembrane potentials at 75 sites over 500 ms from a 12-lead ECG, on simulated "
                 "hearts. " + VM_ACTIVATION_DEFINITION + ".", **COMMON))
