"""Tasks 3 and 4: 12-lead ECG (12 x 500 at 1 kHz) -> activation times at 75 sites / Vm at 75 sites x 500 ms.

Data: the LLNL intracardiac dataset (``--data-dir``), or the built-in simulator's default set.
Protocols: ``stimulus`` (test hearts paced from primary stimulus sites unseen in training; needs
simulator metadata) or ``random``.
"""

from __future__ import annotations

import numpy as np

from ..contracts.ecg12 import ECG12
from .registry import TaskData, TaskSpec, register_task

LIMITS = {
    "stimulus": "Held out by primary stimulus site, on simulator data: performance on the real LLNL dataset or on "
                "patients is not measured here.",
    "random": "Random split of simulations: hearts that share stimulus sites with training hearts are in the test set.",
}


def _heart_loader(task: str):
    def load(*, data_dir=None, protocol="auto", seed=0, val_fraction=0.1, max_train=None, n_sim=None, lazy=False):
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
        Y = ds.act if task == "task3" else ds.vm
        sites = load_geometry().site_names
        if lazy:  # memory-mapped rows, read batch by batch (large datasets, DataLoader workers)
            from ..datasets.lazy import LazyRows

            parts = [LazyRows(ds.ecg, tr), LazyRows(Y, tr), LazyRows(ds.ecg, va), LazyRows(Y, va),
                     LazyRows(ds.ecg, te), LazyRows(Y, te)]
        else:
            parts = [np.asarray(ds.ecg[tr]), np.asarray(Y[tr]), np.asarray(ds.ecg[va]), np.asarray(Y[va]),
                     np.asarray(ds.ecg[te]), np.asarray(Y[te])]
        contract = (ECG12.with_targets("activation time (ms) at 75 sites", "ms", sites) if task == "task3"
                    else ECG12.with_targets("Vm (mV) at 75 sites x 500 ms", "mV", sites))
        return TaskData(task, *parts, contract, source, protocol, {"test_names": [ds.names[i] for i in te]})

    return load


def activation_summary(m: dict) -> str:
    return (f"test: MAE {m['mae_ms']:.2f} ms (constant-mean baseline {m['constant_baseline_mae_ms']:.2f} ms, "
            f"target std {m['target_std_ms']:.2f} ms)  (n={m['n']})")


def vm_summary(m: dict) -> str:
    return (f"test: RMSE {m['rmse_mv']:.2f} mV  relative error {m['relative_error']:.3f}  mean per-site r "
            f"{m['pearson_r_mean']:.3f}  activation MAE from Vm {m['activation_mae_ms_from_vm']:.2f} ms "
            f"({m['activation_missed']} site(s) never activated in the prediction)  (n={m['n']})")


def _act_metrics(y, pred, data):
    from .metrics import activation_metrics

    return activation_metrics(y, pred, list(data.contract.target_names), baseline=np.nanmean(data.y_train, 0))


def _vm_metrics(y, pred, data):
    from .metrics import vm_metrics

    return vm_metrics(y, pred, list(data.contract.target_names))


COMMON = dict(contract_kind="ecg12", default_model="tcn", protocols=("stimulus", "random"), limits=LIMITS,
              augmentation="scale")

register_task(TaskSpec(
    name="task3", title="activation map: 12-lead ECG -> activation time at 75 sites (ms)", kind="regression",
    loader=_heart_loader("task3"), model_output="vector", loss="masked_l1", score_key="mae_ms", higher_is_better=False,
    history_keys=("mae_ms",), metrics=_act_metrics, summary=activation_summary, figures="activation",
    intended_use="Research: estimate activation times at 75 heart sites from a 12-lead ECG, on simulated hearts.",
    **COMMON))
register_task(TaskSpec(
    name="task4", title="transmembrane potential: 12-lead ECG -> Vm at 75 sites x 500 ms (mV)", kind="sequence",
    loader=_heart_loader("task4"), model_output="sequence", loss="mse_tv", score_key="rmse_mv", higher_is_better=False,
    history_keys=("rmse_mv", "pearson_r_mean"), metrics=_vm_metrics, summary=vm_summary, figures="vm",
    intended_use="Research: estimate transmembrane potentials at 75 sites over 500 ms from a 12-lead ECG, on simulated "
                 "hearts.", **COMMON))
