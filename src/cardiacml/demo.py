"""``cardiacml demo``: the whole pipeline on the embedded defaults, end to end."""

from __future__ import annotations

import time
from pathlib import Path


def run_demo(out: str | Path = "demo_out", quick: bool = False, log=print) -> dict:
    """Simulate hearts, train and evaluate Tasks 3-4 (and Task 2 on raw MIT-BIH when found), write reports.

    Returns {task: run folder}.
    """
    from .errors import MissingDataError
    from .training.loop import TrainConfig, fit
    from .training.tasks import load_task
    from .viz.figures import save_run_figures
    from .viz.heart import animate_vm
    from .viz.report import write_report

    out = Path(out)
    n_sim, epochs = (300, 3) if quick else (2000, 12)
    runs = {}
    t0 = time.time()
    for task in ("task3", "task4"):
        args = {"data_dir": None, "mitdb": None, "protocol": "auto", "seed": 0, "n_sim": n_sim}
        data = load_task(task, **args)
        log(f"== {task} on {data.source}")
        cfg = TrainConfig(task=task, model="tcn", epochs=epochs, batch_size=32, lr=2e-3, patience=4, threads=None)
        run = out / f"{task}-tcn"
        model, ckpt = fit(data, cfg, run, log=log, data_args=args)
        save_run_figures(run, ckpt, data)
        if task == "task4":
            from .training.loop import predict_array

            pred = predict_array(model, data.X_test[:1], kind="sequence")[0]
            animate_vm(data.y_test[0], run / "figures" / "vm_true.gif", step_ms=20, window_size=(320, 320))
            animate_vm(pred, run / "figures" / "vm_predicted.gif", step_ms=20, window_size=(320, 320))
        log(f"   report: {write_report(run)}")
        runs[task] = run
    try:
        args = {"data_dir": None, "mitdb": None, "protocol": "random", "seed": 0}
        data = load_task("task2", max_train=4000 if quick else 20000, **args)
        log(f"== task2 on {data.source}")
        cfg = TrainConfig(task="task2", model="beatnet", epochs=2 if quick else 4, batch_size=128, lr=3e-3)
        run = out / "task2-beatnet"
        _, ckpt = fit(data, cfg, run, log=log, data_args=args)
        save_run_figures(run, ckpt, data)
        log(f"   report: {write_report(run)}")
        runs["task2"] = run
    except MissingDataError as exc:
        log(f"== task2 skipped: {exc}")
    log(f"demo finished in {time.time() - t0:.0f} s; open the report.html files under {out}")
    return runs
