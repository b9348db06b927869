"""``cardiacml demo``: the whole pipeline on the embedded defaults, end to end."""

from __future__ import annotations

import time
from pathlib import Path

#: Settings of the demo's runs: (n_sim or max_train, epochs) for quick and full demos. Each heart of Tasks 3-4 gives
#: 3 training windows (clean + 2 augmented, :data:`cardiacml.tasks.heart.TRAIN_COPIES`), so 8 epochs see about 80 % as many
#: windows as 30 did with one window: the demo keeps its 10-minute budget; the shipped models train longer (their cards say).
DEMO = {
    "quick": {"n_sim": 400, "heart_epochs": 20, "heart_lr": 1e-2, "heart_width": 32, "beat_train": 4000, "beat_epochs": 2},
    "full": {"n_sim": 2000, "heart_epochs": 8, "heart_lr": 5e-3, "heart_width": 64, "beat_train": 20000, "beat_epochs": 4},
}


#: The run folders the demo writes in its --out folder.
RUN_FOLDERS = ("task3-tcn", "task4-tcn", "task2-beatnet")


def run_demo(out: str | Path = "demo_out", quick: bool = False, log=print, threads: int | None = None) -> dict:
    """Simulate hearts, train and evaluate Tasks 3-4 (and Task 2 on raw MIT-BIH when found), write reports.

    Prints a summary table at the end (task, model, split, headline metric, report path).
    Returns {task: RunRecord}.
    """
    from .errors import MissingDataError
    from .training.run import train_run
    from .utils import resolve_threads
    from .viz.figures import caption_figure
    from .viz.heart import animate_vm_comparison
    from .report import write_report

    out = Path(out)
    from .utils import check_output_folder

    for name in RUN_FOLDERS:  # all of them before minutes of work (a refused task4 folder came after task3's training)
        check_output_folder(out / name)
    s = DEMO["quick" if quick else "full"]
    threads = resolve_threads(threads)
    log(f"demo: {'quick' if quick else 'full'} settings, {threads} PyTorch thread(s)")
    runs, rows = {}, []
    t0 = time.time()
    for task in ("task3", "task4"):
        log(f"== {task}: {s['n_sim']} simulated hearts, tcn, {s['heart_epochs']} epochs")
        run = out / f"{task}-tcn"
        rec = train_run(task, "tcn", n_sim=s["n_sim"], out=run, log=log, epochs=s["heart_epochs"], batch_size=32,
                        lr=s["heart_lr"], patience=10, threads=threads, hparams={"width": s["heart_width"]})
        if task == "task4":
            import numpy as np

            with np.load(run / "examples.npz") as ex:
                gif = animate_vm_comparison(ex["y_true"][0], ex["y_pred"][0], run / "figures" / "vm_true_vs_predicted.gif",
                                            step_ms=20)
                caption_figure(gif, "Vm of the first test heart over time, true (left) and predicted (right) on the real "
                                    "mesh, one colour scale (-90..40 mV); one frame every 20 ms.")
            from .utils import add_to_output

            add_to_output(run, gif)  # the run folder was saved before it: a second demo replaces it without refusing
        runs[task] = rec
        rows.append((task, rec, write_report(run)))
    try:
        log(f"== task2: MIT-BIH beats (random beat split), beatnet, {s['beat_train']} training beats, {s['beat_epochs']} epochs")
        run = out / "task2-beatnet"
        rec = train_run("task2", "beatnet", protocol="random", max_train=s["beat_train"], out=run, log=log,
                        epochs=s["beat_epochs"], batch_size=128, lr=3e-3, threads=threads)
        runs["task2"] = rec
        rows.append(("task2", rec, write_report(run)))
    except MissingDataError as exc:
        log(f"== task2 skipped: {exc}")
    log(f"\ndemo finished in {time.time() - t0:.0f} s ({threads} thread(s)). Results on held-out data:")
    log(f"{'task':<7}{'model':<9}{'split':<12}{'result':<60}report")
    for task, rec, report in rows:
        log(f"{task:<7}{rec.model:<9}{rec.data['protocol']:<12}{_headline(rec):<60}{report}")
    log("These are short demo runs (see each report's training settings); README lists full-length results.")
    return runs


def _headline(rec) -> str:
    m = rec.metrics["test"]
    if rec.kind == "classification":
        return f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} (n={m['n']})"
    if rec.kind == "regression":
        return f"activation MAE {m['mae_ms']:.2f} ms (mean baseline {m['constant_baseline_mae_ms']:.2f} ms, n={m['n']})"
    return f"Vm RMSE {m['rmse_mv']:.2f} mV, r {m['pearson_r_mean']:.3f} (n={m['n']})"
