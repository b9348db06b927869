"""Command-line interface: ``cardiacml --help``. Heavy imports happen inside commands."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(help="cardiacml: machine learning for cardiac electrophysiology (ECG beats, activation maps, Vm).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Get, build, check and cache datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


class Task(str, Enum):
    task1 = "task1"
    task2 = "task2"
    task3 = "task3"
    task4 = "task4"


class Dataset(str, Enum):
    intracardiac = "intracardiac"
    heartbeat = "heartbeat"


def _run_folder(run: Path) -> Path:
    """The run folder of a run folder or of a model.pt inside one."""
    return run if run.is_dir() else run.parent


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _run(fn):
    from .errors import CardiacMLError

    try:
        return fn()
    except (CardiacMLError, ValueError, KeyError, ImportError, RuntimeError) as exc:
        _fail(exc)


# ---------------------------------------------------------------- data
@data_app.command("build-beats")
def build_beats_cmd(
    mitdb: Optional[Path] = typer.Option(None, help="Raw MIT-BIH folder (RECORDS, .hea/.dat/.atr). Default: ../shared/data/mitdb or $CARDIACML_MITDB."),
    out: Path = typer.Option(Path("mitbih_beats.npz"), help="Output .npz with X (n, 187), y, classes and record ids."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv-dir", help="Also write Kaggle-format mitbih_train.csv / mitbih_test.csv (random stratified 80/20) here."),
    jobs: int = typer.Option(2, help="Worker processes."),
    seed: int = typer.Option(0, help="Seed of the random split written with --csv-dir."),
):
    """Rebuild the Kaggle-style beat dataset from raw MIT-BIH records (Kachuee 2018 method, AAMI classes)."""

    def go():
        import numpy as np

        from .data.heartbeat import write_heartbeat_csv
        from .data.mitbih import DS1, DS2, KAGGLE_COUNTS, build_beats, save_beats, split_random
        from .training.tasks import find_mitdb

        src = find_mitdb(mitdb)
        beats = build_beats(src, n_jobs=jobs)
        save_beats(beats, out)
        counts = beats.class_counts()
        typer.echo(f"{len(beats)} beats from {len(set(beats.groups))} records in {src} -> {out}")
        typer.echo(f"{'class':<6}{'rebuilt':>10}{'Kaggle':>10}{'diff':>8}")
        for c, k in KAGGLE_COUNTS.items():
            typer.echo(f"{c:<6}{counts[c]:>10}{k:>10}{counts[c] - k:>+8}")
        typer.echo(f"{'total':<6}{len(beats):>10}{sum(KAGGLE_COUNTS.values()):>10}{len(beats) - sum(KAGGLE_COUNTS.values()):>+8}")
        g = beats.groups.astype(str)
        typer.echo(f"inter-patient: DS1 {int(np.isin(g, DS1).sum())} beats, DS2 {int(np.isin(g, DS2).sum())} beats")
        if csv_dir:
            tr, te = split_random(beats, 0.2, seed)
            write_heartbeat_csv(tr, Path(csv_dir) / "mitbih_train.csv")
            write_heartbeat_csv(te, Path(csv_dir) / "mitbih_test.csv")
            typer.echo(f"wrote Kaggle-format CSVs to {csv_dir}")

    _run(go)


@data_app.command("download")
def download_cmd(
    dataset: Dataset = typer.Argument(..., help="intracardiac (21 .tgz parts, ~5.2 GB) or heartbeat (Kaggle zip)."),
    dest: Path = typer.Option(..., help="Destination folder."),
    base_url: Optional[str] = typer.Option(None, help="Mirror to fetch the same file names from (BASE_URL/NAME)."),
    manifest: Optional[Path] = typer.Option(None, help="JSON list of {url, filename, sha256?, size?, extract?} to use instead."),
    keep_archives: bool = typer.Option(True, help="Keep archives after extraction."),
    retries: int = typer.Option(3, help="Reconnections per file before giving up (resumes each time)."),
):
    """Download a dataset: resumable, size/sha256-checked, archives extracted. Re-run to resume."""

    def go():
        from .data.download import builtin_manifest, download_dataset, load_manifest, rebase_manifest

        files = load_manifest(manifest) if manifest else builtin_manifest(dataset.value)
        if base_url:
            files = rebase_manifest(files, base_url)
        paths = download_dataset(files, dest, keep_archives=keep_archives, retries=retries)
        typer.echo(f"{len(paths)} file(s) ready in {dest}")

    _run(go)


@data_app.command("cache")
def cache_cmd(
    data_dir: Path = typer.Argument(..., help="Intracardiac dataset folder (data_hearts_dd_0p2* folders)."),
    out: Optional[Path] = typer.Option(None, help="Cache folder (default DATA_DIR/.cardiacml_cache)."),
    lenient: bool = typer.Option(False, help="Skip unpaired files instead of failing."),
):
    """Consolidate an intracardiac dataset into memory-mapped arrays (ecg, vm, act) + an index."""

    def go():
        from .data.intracardiac import build_cache

        ds = build_cache(data_dir, out or data_dir / ".cardiacml_cache", strict=not lenient)
        typer.echo(f"{ds}; never-activated sites: {ds.info['never_activated_sites']}")

    _run(go)


@data_app.command("check")
def check_cmd(path: Path = typer.Argument(..., help="A Kaggle heartbeat CSV, or an intracardiac dataset folder.")):
    """Validate a dataset file or folder and print a summary (shapes, classes, problems)."""

    def go():
        if path.is_dir():
            from .data.intracardiac import discover_simulations, load_simulation

            sims = discover_simulations(path)
            for s in sims:
                load_simulation(s)
            typer.echo(f"{path}: {len(sims)} valid simulation pairs")
        else:
            from .data.heartbeat import MITBIH_CLASSES, PTB_CLASSES, load_heartbeat_csv

            classes = PTB_CLASSES if "ptb" in path.name.lower() else MITBIH_CLASSES
            b = load_heartbeat_csv(path, classes, cache=False)
            typer.echo(f"{path}: {len(b)} beats x 187 samples, classes {b.class_counts()}")

    _run(go)


# ---------------------------------------------------------------- simulate
@app.command()
def simulate(
    n: int = typer.Option(2000, "--n", help="Number of simulated hearts (in all shards together)."),
    out: Path = typer.Option(Path("sim_out"), help="Output folder (a data_hearts_dd_0p2_sim_s{seed} folder is created in it)."),
    seed: int = typer.Option(0, help="Random seed; simulation i depends only on (seed, i)."),
    jobs: int = typer.Option(2, help="Worker processes."),
    shard: Optional[str] = typer.Option(None, help="i/K: write only indices [i*n//K, (i+1)*n//K) and simulations_shard{i}of{K}.csv."),
    cv_min: float = typer.Option(0.4, help="Lowest along-fibre conduction velocity (m/s); cross-fibre and Purkinje scale with it."),
    cv_max: float = typer.Option(0.6, help="Highest along-fibre conduction velocity (m/s)."),
    noise_mv: float = typer.Option(0.0, help="Gaussian noise added to electrode potentials (mV)."),
    wander_mv: float = typer.Option(0.0, help="Baseline wander amplitude on the electrodes (mV, 0.1-0.5 Hz)."),
    compare_real: bool = typer.Option(False, "--compare-real", help="Afterwards, print the real-vs-simulated statistics of up to 100 hearts and draw plots into <folder>/compare_real/."),
):
    """Simulate hearts (eikonal activation, Mitchell-Schaeffer APs, BEM torso ECG) in the real dataset's format.

    Re-running the same command resumes an interrupted run (complete files are kept).
    """

    def go():
        import time

        from .simulate import SimulatorConfig, simulate_dataset

        cfg = SimulatorConfig(cv_range=(cv_min, cv_max), noise_mv=noise_mv, wander_mv=wander_mv)
        t = time.time()
        folder = simulate_dataset(n, out, seed=seed, jobs=jobs, cfg=cfg, shard=shard)
        dt = time.time() - t
        from .simulate.simulator import parse_shard

        i, k = parse_shard(shard)
        m = (i + 1) * n // k - i * n // k
        part = f" (shard {i}/{k} of {n})" if k > 1 else ""
        typer.echo(f"{m} simulations{part} in {dt:.1f} s ({m / dt:.0f}/s, {jobs} job(s)) -> {folder}")
        if compare_real:
            from .simulate.compare import compare_folder

            text, _ = compare_folder(folder, folder / "compare_real", n=100)
            typer.echo(text)
            typer.echo(f"plots and per-heart statistics in {folder / 'compare_real'}")

    try:
        _run(go)
    except KeyboardInterrupt:  # simulate_dataset has stopped the workers and said how to resume
        raise typer.Exit(130)


# ---------------------------------------------------------------- models
@app.command()
def models():
    """List the registered models."""
    from .models import get_spec, list_models

    for name in list_models():
        s = get_spec(name)
        typer.echo(f"{name:<14}{s.kind:<16}{s.description}")


def _parse_hparams(items: List[str]) -> dict:
    out = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--hparam expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@app.command()
def train(
    task: Task = typer.Argument(..., help="task1 (normal/abnormal), task2 (N/S/V/F/Q), task3 (activation map), task4 (Vm)."),
    model: Optional[str] = typer.Option(None, help="Registry name (`cardiacml models`). Default: beatnet (tasks 1-2), tcn (tasks 3-4)."),
    data_dir: Optional[Path] = typer.Option(None, help="Kaggle CSV folder (tasks 1-2) or intracardiac data/cache (tasks 3-4). Default: embedded data."),
    mitdb: Optional[Path] = typer.Option(None, help="Raw MIT-BIH records (tasks 1-2 fallback and inter-patient protocol)."),
    protocol: str = typer.Option("auto", help="tasks 1-2: random | interpatient; tasks 3-4: stimulus | random; auto picks."),
    epochs: int = typer.Option(20, help="Maximum epochs (early stopping on validation)."),
    batch_size: int = typer.Option(128),
    lr: float = typer.Option(3e-3, help="Peak learning rate (one-cycle schedule)."),
    weight_decay: float = typer.Option(1e-4),
    patience: int = typer.Option(6, help="Epochs without validation improvement before stopping."),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    class_weighting: str = typer.Option("sqrt", help="Class-imbalance handling: none | sqrt | inverse."),
    augment: bool = typer.Option(True, help="Amplitude-scaling / noise augmentation."),
    max_train: Optional[int] = typer.Option(None, help="Use at most this many training examples (quick runs)."),
    n_sim: int = typer.Option(2000, help="Simulations of the embedded default (tasks 3-4, no --data-dir)."),
    hparam: List[str] = typer.Option([], help="Model option KEY=VALUE (repeatable), e.g. width=48."),
    threads: Optional[int] = typer.Option(None, help="CPU threads for PyTorch."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default runs/TASK-MODEL)."),
):
    """Train a model, evaluate it on the held-out split and save the run (checkpoint, metrics, figures)."""

    def go():
        from .training.loop import TrainConfig, fit
        from .training.tasks import load_task

        name = model or ("beatnet" if task.value in ("task1", "task2") else "tcn")
        data_args = {"data_dir": str(data_dir) if data_dir else None, "mitdb": str(mitdb) if mitdb else None,
                     "protocol": protocol, "seed": seed, "n_sim": n_sim}
        data = load_task(task.value, max_train=max_train, **data_args)
        cfg = TrainConfig(task=task.value, model=name, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                          patience=patience, seed=seed, device=device, class_weighting=class_weighting, augment=augment,
                          hparams=_parse_hparams(hparam), threads=threads)
        run_dir = out or Path("runs") / f"{task.value}-{name}"
        typer.echo(f"data: {data.source}")
        _, ckpt = fit(data, cfg, run_dir, log=typer.echo, data_args=data_args)
        from .viz.figures import save_run_figures

        save_run_figures(run_dir, ckpt, data)
        typer.echo(_summary(ckpt["metrics"]["test"], ckpt["kind"]) + f"  [{data.protocol} split]")
        typer.echo(f"run saved to {run_dir} (model.pt, metrics.json, figures/); next: cardiacml report {run_dir}")

    _run(go)


def _summary(m: dict, kind: str) -> str:
    if kind == "classification":
        return f"test: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  (n={m['n']})"
    if kind == "regression":
        return (f"test: MAE {m['mae_ms']:.2f} ms (constant-mean baseline {m['constant_baseline_mae_ms']:.2f} ms, "
                f"target std {m['target_std_ms']:.2f} ms)  (n={m['n']})")
    return (f"test: RMSE {m['rmse_mv']:.2f} mV  relative error {m['relative_error']:.3f}  mean per-site r "
            f"{m['pearson_r_mean']:.3f}  activation MAE from Vm {m['activation_mae_ms_from_vm']:.2f} ms  (n={m['n']})")


@app.command()
def evaluate(
    run: Path = typer.Argument(..., help="Run folder or model.pt."),
    data_dir: Optional[Path] = typer.Option(None, help="Evaluate on other data (default: the run's own test split)."),
    protocol: Optional[str] = typer.Option(None, help="Override the split protocol (e.g. interpatient)."),
    out: Optional[Path] = typer.Option(None, help="Where to write metrics JSON and figures (default RUN/eval)."),
):
    """Evaluate a trained model: metrics JSON (accuracy, macro-F1, per class / MAE per site, region...) and figures."""

    def go():
        from .training.loop import evaluate_task, load_checkpoint
        from .training.tasks import load_task
        from .viz.figures import save_eval_figures

        model, ckpt = load_checkpoint(run)
        args = dict(ckpt.get("data_args") or {"task": ckpt["task"]})
        if data_dir:
            args["data_dir"] = str(data_dir)
        if protocol:
            args["protocol"] = protocol
        data = load_task(args.pop("task"), **args)
        metrics, pred = evaluate_task(model, data)
        dest = out or _run_folder(run) / "eval"
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "metrics.json").write_text(json.dumps({"data": data.source, "protocol": data.protocol, **metrics}, indent=1))
        save_eval_figures(dest, metrics, ckpt["kind"], data, pred)
        typer.echo(_summary(metrics, ckpt["kind"]) + f"  [{data.protocol} split of {data.source}]")
        typer.echo(f"metrics and figures in {dest}")

    _run(go)


@app.command()
def predict(
    model: Path = typer.Argument(..., help="Run folder, model.pt, or an exported .onnx (runs on onnxruntime alone)."),
    input: Path = typer.Argument(..., help="Beats: Kaggle CSV, .npy (n, 187) or WFDB record; tasks 3-4: pECGData .npy or (n, 12, 500) .npy."),
    out: Path = typer.Option(Path("predictions.csv"), help="Output CSV (beats, task 3) or .npy (task 4 Vm; CSV of activation too)."),
    fs: Optional[float] = typer.Option(None, help="Sampling rate of CSV/npy beats (must be 125 Hz)."),
    lead: Optional[str] = typer.Option(None, help="Lead of a WFDB record (default MLII, else II, else the first)."),
    annotations: bool = typer.Option(True, help="Use .atr R-peak annotations when present (else XQRS detection)."),
):
    """Predict on your own ECG: per-beat class and probabilities, or activation times / Vm per site."""

    def go():
        from .inference.predict import predict_file

        summary = predict_file(model, input, out, fs=fs, lead=lead, use_annotations=annotations)
        typer.echo(summary)

    _run(go)


@app.command()
def export(
    run: Path = typer.Argument(..., help="Run folder or model.pt."),
    out: Optional[Path] = typer.Option(None, help="Output .onnx (default RUN/model.onnx)."),
):
    """Export a model to ONNX (dynamic batch) and check parity against PyTorch."""

    def go():
        from .inference.onnx_export import export_onnx

        dest = out or _run_folder(run) / "model.onnx"
        rep = export_onnx(run, dest)
        typer.echo(f"{rep['path']}: max |torch - onnxruntime| = {rep['max_abs_diff']:.2e} "
                   f"({'OK' if rep['parity_ok'] else 'MISMATCH'}, atol {rep['atol']:g})")
        if not rep["parity_ok"]:
            raise typer.Exit(1)

    _run(go)


@app.command()
def report(
    run: Path = typer.Argument(..., help="Run folder made by `cardiacml train`."),
    out: Optional[Path] = typer.Option(None, help="HTML file (default RUN/report.html)."),
):
    """Write one self-contained HTML report of a run: config, data, metrics, figures and a model card."""

    def go():
        from .viz.report import write_report

        path = write_report(run, out)
        typer.echo(f"report: {path}")

    _run(go)


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), help="Folder for the demo's runs and reports."),
    quick: bool = typer.Option(False, help="Smaller data and fewer epochs (about a minute)."),
):
    """End-to-end demo on the embedded defaults: simulate hearts, train Tasks 3-4 (and Task 2 when raw MIT-BIH records are found), reports."""

    def go():
        from .demo import run_demo

        run_demo(out, quick=quick, log=typer.echo)

    _run(go)


@app.command()
def version():
    """Print the version."""
    from . import __version__

    typer.echo(__version__)


def main():  # entry point
    app()


if __name__ == "__main__":
    main()
