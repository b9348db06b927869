"""Command-line interface: ``cardiacml --help``. Heavy imports happen inside commands.

Every command is a thin caller of the Python API (:mod:`cardiacml.training.run`,
:mod:`cardiacml.inference.predict`, ...). A :class:`cardiacml.errors.CardiacMLError` (a problem with
the user's input, options, files or environment) becomes one red line and exit code 2; an
interruption exit code 130 with a line that says how to resume. Any other exception is a bug in
cardiacml: its traceback is shown with a line asking for a report (exit code 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from .common import _fail, _run  # noqa: F401 (_fail: tests call it from here)
from .groups import cache_app, data_app, nb_app

HELP = """cardiacml: machine learning for cardiac electrophysiology.

\b
Start here:
  cardiacml demo --quick              the whole pipeline on built-in data (about 3 min on 2 cores)
  cardiacml predict beats-all RECORD  classify every beat of your own recording
  cardiacml train beats               train on MIT-BIH records, test on unseen patients (DS1 -> DS2)
  cardiacml report RUN                one HTML page: model card, metrics, figures
  cardiacml tasks / cardiacml models  what can be trained, with which models

Downloaded and built data is cached in ~/.cache/cardiacml ($CARDIACML_CACHE to move it):
`cardiacml cache info` shows its size, `cardiacml cache clear` empties it.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None)
def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"cardiacml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")):
    pass


class _TrainCommand(typer.core.TyperCommand):
    """`train --help` ends with the tasks and their default models, read from the registries when help is shown."""

    def format_epilog(self, ctx, formatter):
        from ..catalog import model_catalog, tasks_served
        from ..tasks import get_task

        served = {}
        for e in model_catalog():
            for t in tasks_served(e):
                served.setdefault(t, []).append(e["name"])
        rows = [(t, f"{get_task(t).title}; default model {get_task(t).default_model}; protocols "
                    f"{', '.join(get_task(t).protocols)}; models {', '.join(served.get(t, []))}") for t in _task_names()]
        with formatter.section("Tasks (from the task registry)"):
            formatter.write_dl(rows)


THREADS_HELP = ("CPU threads for PyTorch (and onnxruntime, for an .onnx model). Default: the cores other processes leave idle (1-minute load average), "
                "at least 1; or $CARDIACML_THREADS. More than the CPU cores this process may run on: cut to them.")


def _task_names() -> list[str]:
    from ..tasks import list_tasks

    return list_tasks()


# ---------------------------------------------------------------- newcomer commands first
@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), help="Folder for the demo's runs and reports."),
    quick: bool = typer.Option(False, help="Smaller data and fewer epochs (about 3 minutes on 2 cores instead of about 10)."),
    threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
):
    """Start here: the whole pipeline on the embedded defaults (simulated hearts, Tasks 3-4; MIT-BIH beats, Task 2), with reports and a summary table."""

    def go():
        from ..demo import run_demo

        run_demo(out, quick=quick, log=typer.echo, threads=threads)

    _run(go)


@app.command()
def predict(
    model: str = typer.Argument(..., help="Run folder, model.pt, exported .onnx (runs on onnxruntime alone), or a pretrained name (`cardiacml models`)."),
    input: Path = typer.Argument(..., help="A raw recording (WFDB record, CSV with lead names / time column, .npy/.npz, EDF/EDF+/BDF) or Kaggle-format beats (CSV, .npy (n, 187)); for Tasks 3-4 a 12-lead or 10-electrode recording at any rate, or pECGData / (12, 500) arrays."),
    out: Optional[str] = typer.Option(None, help="Output CSV (beats, Task 3) or .npy (Task 4 Vm; a CSV of activation times beside it); a folder (existing, or ending in /): the default name inside it. Default: named after the input, in the current folder: INPUT.beats.csv, INPUT.heart-act.csv, INPUT.heart-vm.csv (+ .npy)."),
    fs: Optional[float] = typer.Option(None, help="Sampling rate (Hz) of a raw signal that has none in the file (.npy, CSV without a time column); already-cut beats must be 125 Hz."),
    lead: Optional[str] = typer.Option(None, help="Lead to use (name, case-insensitive, or 0-based index among the channels read: an EDF's non-voltage or other-rate channels, listed as skipped, are not counted; the console names the lead used); default MLII or II (also ECG II, Lead II), else a channel named ECG / EKG, else the first that is not EEG, EOG, EMG, respiration, SpO2 or blood pressure."),
    units: Optional[str] = typer.Option(None, help="Unit of the signal values: mV, uV, V, or counts/N for raw ADC counts with N counts per mV (the recorder's gain: counts/200 for an int16 file at 200 counts per mV; not for WFDB or EDF, whose headers give it); default: from the file header, else guessed from the amplitude. Amplitudes implausible for the unit (after the gain) are refused."),
    beat: str = typer.Option("auto", help="Tasks 3-4: beat to cut from a 12-lead recording: auto (a typical beat near the middle), a 0-based index, or all. The CSV names each row's beat: its index (beat), R peak (r_peak_s) and the 500 ms window's start (window_start_s, 5 ms before the QRS onset); item: the recording of an (n, 12, T) array."),
    annotations: bool = typer.Option(True, help="Use the record's .atr beat annotations when present (else detect R peaks)."),
    html: Optional[str] = typer.Option(None, help="Also write an interactive page (offline HTML): the recording with every beat coloured by class, or the predicted activation map and Vm movie on the 3-D heart; a folder: OUT's name with .html inside it."),
    adapt_minutes: Optional[float] = typer.Option(None, help="Beat models: adapt the model to this patient on the labelled beats of the first N minutes (the record's reference annotations, or --adapt-labels) before classifying; the AAMI patient-specific protocol uses 5."),
    adapt_labels: Optional[Path] = typer.Option(None, help="CSV of beats you labelled (columns time_s, label with N/S/V/F/Q) for --adapt-minutes (default 5 min when only this is given)."),
    threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
):
    """Predict on your own ECG: every beat's class and probabilities, or activation times / Vm at 75 heart sites."""

    def go():
        from ..inference.predict import predict_file
        from ..utils import resolve_threads

        n_threads = resolve_threads(threads)  # refused below 1, cut to the cores; onnxruntime takes it too
        if not str(model).lower().endswith(".onnx"):  # an .onnx model runs on onnxruntime alone: never import torch for it
            import torch

            torch.set_num_threads(n_threads)
        from ..errors import UsageError

        if beat not in ("auto", "all") and not beat.strip().isdigit():
            raise UsageError(f"--beat expects auto, all or a 0-based beat index, got {beat!r}")
        typer.echo(predict_file(model, input, out, fs=fs, lead=lead, use_annotations=annotations, units=units,
                                beat=beat if beat in ("auto", "all") else int(beat), html=html,
                                adapt_minutes=adapt_minutes, adapt_labels=adapt_labels, threads=n_threads))

    _run(go)


def _parse_hparams(items: List[str]) -> dict:
    from ..errors import UsageError

    out = {}
    for it in items:
        if "=" not in it:
            raise UsageError(f"--hparam expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@app.command(cls=_TrainCommand)
def train(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="A task of `cardiacml tasks` (listed at the end of this help)."),
    model: Optional[str] = typer.Option(None, help="Registry name (`cardiacml models`). Default: the task's default model (listed at the end of this help)."),
    data_dir: Optional[Path] = typer.Option(None, help="Kaggle CSV folder (tasks 1-2) or intracardiac data/cache (tasks 3-4). Default: the embedded data."),
    mitdb: Optional[Path] = typer.Option(None, help="Raw MIT-BIH records (default $CARDIACML_MITDB, else ../shared/data/mitdb): beats rebuilt from them, and the inter-patient protocol."),
    protocol: str = typer.Option("auto", help="Split. beats: interpatient | all | random; task1: random | mitbih (MIT-BIH stand-in when no PTB files); task2: random | interpatient | kaggle; tasks 3-4: stimulus | random. auto: beats interpatient; task1 random on the PTB CSVs; task2 kaggle with --data-dir, else random; tasks 3-4 stimulus where the data name the stimulus sites, else random."),
    epochs: int = typer.Option(20, help="Maximum epochs (early stopping on the validation score)."),
    batch_size: int = typer.Option(128, help="Examples per optimisation step."),
    lr: float = typer.Option(3e-3, help="Peak learning rate (one-cycle schedule, AdamW)."),
    weight_decay: float = typer.Option(1e-4, help="AdamW weight decay."),
    patience: int = typer.Option(6, help="Epochs without validation improvement before stopping."),
    seed: int = typer.Option(0, help="Seed of the split, initialisation, batches and augmentation: the same seed gives the same run."),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    class_weighting: str = typer.Option("sqrt", help="Class-imbalance handling: none | sqrt | inverse (anything else is an error)."),
    augment: bool = typer.Option(True, help="Amplitude-scaling / noise augmentation."),
    max_train: Optional[int] = typer.Option(None, help="Use at most this many training items, for quick runs: beats (task1, task2, beats), or hearts (task3, task4: each heart gives several ECG windows, so the training set counts more)."),
    max_eval: Optional[int] = typer.Option(None, help="Use at most this many validation and test examples (quick runs)."),
    n_sim: Optional[int] = typer.Option(None, help="Simulations of the embedded default (tasks 3-4, no --data-dir; default 2000)."),
    hparam: List[str] = typer.Option([], help="Model option KEY=VALUE (repeatable), e.g. width=48."),
    threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
    workers: int = typer.Option(0, help="DataLoader processes reading batches (helps with --lazy data on disk)."),
    lazy: bool = typer.Option(False, help="Tasks 3-4: keep the dataset memory-mapped and stream batches from disk instead of loading it into RAM."),
    nproc: int = typer.Option(1, help="Train with N processes on this machine (distributed data parallel through torchrun; gloo on CPU, NCCL on CUDA): at most one per CPU core (one per GPU on CUDA) and per example of a batch. The same as `torchrun --nproc_per_node N -m cardiacml.cli train ...`."),
    amp: str = typer.Option("auto", help="Mixed precision on CUDA: auto (bf16 where supported) | bf16 | fp16 | off. Never used on CPU."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default runs/TASK-MODEL); replaced whole when the run finishes."),
    resume: bool = typer.Option(False, help="Continue an interrupted run from OUT.partial/last.pt (settings are read from it)."),
):
    """Train a model, evaluate it on the held-out split and save the run (checkpoint, metrics, figures)."""
    import os
    import sys

    if nproc != 1 and "WORLD_SIZE" not in os.environ:  # before any process starts or any data is read
        from ..training.distributed import check_processes

        _run(lambda: check_processes(nproc, device, None if resume else batch_size))
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        from ..training.run import launch_distributed

        args = sys.argv[1:]
        for i, a in enumerate(list(args)):
            if a.startswith("--nproc="):
                args.remove(a)
            elif a == "--nproc":
                del args[i:i + 2]
                break
        raise typer.Exit(launch_distributed(nproc, args))

    def go():
        from ..tasks import get_task
        from ..training.run import train_run

        spec = get_task(task)
        config = dict(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience,
                      device=device, class_weighting=class_weighting, augment=augment, hparams=_parse_hparams(hparam),
                      threads=threads, workers=workers, amp=amp)
        if resume:  # the run's own settings are used: only the options given can disagree with them (the note)
            def given(k):  # by name: typer may carry its own copy of click's ParameterSource
                source = ctx.get_parameter_source("hparam" if k == "hparams" else k)
                return source is not None and source.name != "DEFAULT"

            config = {k: v for k, v in config.items() if given(k)}
        rec = train_run(task, model, data_dir=data_dir, mitdb=mitdb, protocol=protocol, seed=seed, max_train=max_train,
                        max_eval=max_eval, n_sim=n_sim, lazy=lazy, out=out, resume=resume, log=typer.echo, **config)
        if int(os.environ.get("RANK", "0")) != 0:
            return
        typer.echo(spec.summary(rec.metrics["test"]) + f"  [{rec.data['protocol']} split]")
        if rec.data.get("note"):
            typer.echo(f"note: {rec.data['note']}")
        typer.echo(f"run saved to {rec.run_dir} (model.pt, metrics.json, figures/); next: cardiacml report {rec.run_dir}")

    _run(go)


@app.command()
def evaluate(
    run: str = typer.Argument(..., help="Run folder, model.pt, or a pretrained name."),
    data_dir: Optional[Path] = typer.Option(None, help="Evaluate on other data (default: the run's own test split); only what its test split needs is read (Kaggle MIT-BIH: mitbih_test.csv)."),
    mitdb: Optional[Path] = typer.Option(None, help="Beat models: the raw MIT-BIH folder (RECORDS, .hea/.dat/.atr) their test beats are rebuilt from. Default: the run's, $CARDIACML_MITDB or ../shared/data/mitdb."),
    protocol: Optional[str] = typer.Option(None, help="Override the split protocol (e.g. interpatient)."),
    out: Optional[Path] = typer.Option(None, help="Where to write metrics JSON and figures (default RUN/eval; ./eval-NAME for a pretrained model); never a training run's folder."),
    max_eval: Optional[int] = typer.Option(None, help="Score a random subset of at most this many test examples. Default: all of them; the run's own test split keeps the run's --max-eval cap, --data-dir and --protocol do not."),
    threads: Optional[int] = typer.Option(None, help=THREADS_HELP),
):
    """Evaluate a trained model: metrics JSON (accuracy, macro-F1, per class / MAE per site, region...) and figures."""

    def go():
        import torch

        from ..training.run import evaluate_run
        from ..utils import resolve_threads

        torch.set_num_threads(resolve_threads(threads))
        _, dest = evaluate_run(run, data_dir=data_dir, mitdb=mitdb, protocol=protocol, out=out, log=typer.echo,
                               max_eval=max_eval)
        typer.echo(f"metrics and figures in {dest}")

    _run(go)


@app.command()
def report(
    # str, not Path: Path("./beats-ds1") is "beats-ds1", the pretrained name, though ./ means the folder of that name
    run: str = typer.Argument(..., help="Run folder made by `cardiacml train` (or its model.pt), or a pretrained name (`cardiacml models`)."),
    out: Optional[str] = typer.Option(None, help="HTML file (default RUN/report.html; ./NAME-report.html for a pretrained model); a folder (existing, or ending in /): that name inside it."),
):
    """Write one self-contained HTML report of a run: model card, data, metrics, figures, configuration."""

    def go():
        from ..inference.predict import _names_folder
        from ..pretrained import is_pretrained
        from ..report import write_report

        dest = out
        if dest is not None and _names_folder(dest):
            name = f"{run}-report.html" if is_pretrained(str(run)) else "report.html"
            dest = Path(dest) / name
        typer.echo(f"report: {write_report(run, dest)}")

    _run(go)


@app.command()
def export(
    run: str = typer.Argument(..., help="Run folder, model.pt, or a pretrained name."),
    out: Optional[str] = typer.Option(None, help="Output .onnx (default RUN/model.onnx; ./NAME.onnx for a pretrained model); a folder (existing, or ending in /): that name inside it."),
):
    """Export a model to ONNX (dynamic batch, contract in the metadata) and check parity against PyTorch."""

    def go():
        from ..inference.onnx_export import export_onnx
        from ..inference.predict import _names_folder
        from ..pretrained import is_shipped
        from ..training.checkpoint import resolve_checkpoint

        ck = resolve_checkpoint(run)  # a shipped model (by name or path): ./NAME.onnx, never into the package
        default = Path(f"{ck.stem}.onnx") if is_shipped(ck) else ck.parent / "model.onnx"
        dest = Path(out) if out else default
        if out and _names_folder(out):
            dest = Path(out) / default.name
        rep = export_onnx(run, dest)
        typer.echo(f"{rep['path']}: max |torch - onnxruntime| = {rep['max_abs_diff']:.2e} "
                   f"(OK, tolerance {rep['atol']:.2g})")  # a failed parity check raises and writes nothing

    _run(go)


# ---------------------------------------------------------------- simulate
@app.command()
def simulate(
    n: int = typer.Option(2000, "--n", help="Number of simulated hearts (in all shards together)."),
    out: Path = typer.Option(Path("sim_out"), help="Output folder (a data_hearts_dd_0p2_sim_s{seed} folder is created in it)."),
    seed: int = typer.Option(0, help="Random seed; simulation i depends only on (seed, i)."),
    jobs: int = typer.Option(2, help="Worker processes."),
    shard: Optional[str] = typer.Option(None, help="i/K: write only indices [i*n//K, (i+1)*n//K) and simulations_shard{i}of{K}.csv."),
    cv_min: float = typer.Option(0.3, help="Lowest along-fibre conduction velocity (m/s); cross-fibre and Purkinje scale with it."),
    cv_max: float = typer.Option(0.6, help="Highest along-fibre conduction velocity (m/s)."),
    noise_mv: float = typer.Option(0.0, help="Gaussian noise added to electrode potentials (mV)."),
    wander_mv: float = typer.Option(0.0, help="Baseline wander amplitude on the electrodes (mV, 0.1-0.5 Hz)."),
    compare_real: bool = typer.Option(False, "--compare-real", help="Afterwards, print the real-vs-simulated statistics of up to 100 hearts and draw plots into <folder>/compare_real/."),
    conduction_disease: bool = typer.Option(True, "--conduction-disease/--normal-only", help="Include hearts with bundle branch block, fascicular block, scar and hypertrophy (45 %, the 'conduction' column of simulations.csv says which), or normal conduction only."),
):
    """Simulate hearts (eikonal activation, Mitchell-Schaeffer APs, BEM torso ECG) in the real dataset's format.

    Re-running the same command resumes an interrupted run (complete files are kept).
    """

    def go():
        import time

        from ..simulate import SimulatorConfig, simulate_dataset

        extra = {} if conduction_disease else {"conduction_shares": ()}
        cfg = SimulatorConfig(cv_range=(cv_min, cv_max), noise_mv=noise_mv, wander_mv=wander_mv, **extra)
        from ..simulate.simulator import parse_shard

        i, k = parse_shard(shard)
        lo, hi = i * n // k, (i + 1) * n // k
        where = Path(out) / f"data_hearts_dd_0p2_sim_s{seed}"

        from ..simulate.simulator import complete_pairs

        kept = len(complete_pairs(where, seed, range(lo, hi))) if where.is_dir() else 0  # what simulate_dataset keeps
        t = time.time()
        folder = simulate_dataset(n, out, seed=seed, jobs=jobs, cfg=cfg, shard=shard)
        dt = time.time() - t
        m = hi - lo
        part = f" (shard {i}/{k} of {n})" if k > 1 else ""
        done = m - kept
        rate = ("" if not done or dt <= 0 else f", {done / dt:.0f}/s" if done / dt >= 10 else f", {done / dt:.2g}/s")
        again = f"; {kept} kept from an earlier run" if kept else ""
        typer.echo(f"{m} simulations{part}: {done} simulated in {dt:.1f} s ({jobs} job(s){rate}){again} -> {folder}")
        if compare_real:
            from ..simulate.compare import compare_folder

            text, _ = compare_folder(folder, folder / "compare_real", n=100)
            typer.echo(text)
            typer.echo(f"plots and per-heart statistics in {folder / 'compare_real'}")

    _run(go)  # Ctrl-C: simulate_dataset stops its workers and says how to resume; exit code 130


# ---------------------------------------------------------------- listings
@app.command()
def tasks():
    """List the tasks: input contract, protocols, default model, metric."""
    from ..tasks import get_task

    for name in _task_names():
        s = get_task(name)
        typer.echo(f"{name:<8}{s.title}")
        typer.echo(f"{'':<8}input {s.contract_kind}; protocols {', '.join(s.protocols)}; default model {s.default_model}; "
                   f"early stopping on {s.score_key} ({'higher' if s.higher_is_better else 'lower'} is better)")


@app.command()
def models():
    """List the models (parameters per task, input contract, origin) and the pretrained models. Does not import PyTorch."""
    import shutil
    import textwrap

    from ..catalog import model_catalog, tasks_served

    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 160))
    typer.echo(f"{'model':<14}{'kind':<16}{'input':<12}tasks (parameters)")
    for e in model_catalog():
        served = []
        for t in tasks_served(e):
            p = (e.get("params") or {}).get(t)
            served.append(f"{t} ({p:,})" if p else t)
        head = f"{e['name']:<14}{e['kind']:<16}{'/'.join(e.get('accepts', ())):<12}"
        typer.echo("\n".join(textwrap.wrap(", ".join(served), width, initial_indent=head, subsequent_indent=" " * 42)))
        for text in (e["description"], "origin: " + e["reference"] if e.get("reference") else ""):
            if text:
                typer.echo("\n".join(textwrap.wrap(text, width, initial_indent=" " * 14, subsequent_indent=" " * 14)))
    try:
        from ..pretrained import describe_pretrained
    except ImportError:
        return
    lines = describe_pretrained()
    if lines:
        typer.echo("\n" + "\n".join(textwrap.wrap("pretrained (use the name wherever a run folder goes: predict, "
                                                  "evaluate, export, report):", width)))
        for line in lines:
            typer.echo("\n".join(textwrap.wrap(line, width, subsequent_indent=" " * 32)))


@app.command()
def version():
    """Print the version."""
    from .. import __version__

    typer.echo(__version__)


# ---------------------------------------------------------------- data
app.add_typer(data_app, name="data")
app.add_typer(nb_app, name="notebooks")
app.add_typer(cache_app, name="cache")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the console as ``warning: MESSAGE``, one line: not Python's source path, line number and the
    line of code that warned (``warnings.formatwarning``, set for the command line only)."""
    return f"warning: {' '.join(str(message).split())}\n"


def main():  # entry point
    import warnings

    warnings.formatwarning = _one_line_warning
    app()


if __name__ == "__main__":
    main()
