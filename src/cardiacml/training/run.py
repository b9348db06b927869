"""Run API: train one run, evaluate one run. The CLI, the demo, notebooks and benchmarks call these.

A run folder is written whole or not at all (``model.pt``, ``metrics.json``, ``history.json``,
``run.json``, ``figures/``, ``examples.npz``). While training, ``RUN.partial/last.pt`` holds
the state after the last finished epoch; ``train_run(..., resume=True)`` (``cardiacml train
TASK --resume --out RUN``) continues from it after an interruption.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import CardiacMLError, DataFormatError, MissingDataError, UsageError, every_process
from ..tasks import get_task, load_task
from ..utils import resolved, silent
from .checkpoint import RunRecord, TrainConfig, TrainingError, load_run, save_examples, save_run
from .distributed import refuse_batch_share, world_size
from .loop import evaluate_task, fit


class Interrupted(CardiacMLError, KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, SIGTERM); the message says how to resume."""


def partial_dir(run_dir: str | os.PathLike) -> Path:
    """Where an unfinished run keeps its epoch checkpoint: ``RUN.partial`` next to ``RUN``."""
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + ".partial")


def train_run(task: str, model: str | None = None, *, data_dir=None, mitdb=None, protocol: str = "auto", seed: int = 0,
              max_train: int | None = None, max_eval: int | None = None, n_sim: int | None = None, lazy: bool = False, out=None,
              resume: bool = False, figures: bool = True, log=print, **config) -> RunRecord:
    """Load a task's data, train, evaluate on the held-out split and save the run folder.

    Parameters
    ----------
    task : str
        Registered task (``cardiacml tasks``).
    model : str, optional
        Registered model (default: the task's default model).
    data_dir, mitdb, protocol, seed, max_train, max_eval, n_sim, lazy
        Passed to :func:`cardiacml.tasks.load_task` (``lazy``: keep the data memory-mapped).
    out : path, optional
        Run folder (default ``runs/TASK-MODEL``).
    resume : bool
        Continue an interrupted run from ``OUT.partial/last.pt`` (same settings are read from it).
    figures : bool
        Write figures and ``examples.npz`` into the run folder.
    **config
        :class:`TrainConfig` fields (epochs, batch_size, lr, weight_decay, patience, device,
        class_weighting, augment, hparams, threads, workers, amp).

    Under ``torchrun`` (distributed data parallel), every process trains on its share of each
    batch and only rank 0 logs and writes the run folder.

    Returns
    -------
    RunRecord
        With ``path`` (the saved ``model.pt``), ``module`` (the trained model) and ``test_prediction``.

    Raises
    ------
    Interrupted
        On Ctrl-C / SIGTERM; the epoch checkpoint is kept and the message gives the resume command.
    """
    from ..utils import check_output_folder, sigterm_as_interrupt

    # the checks of the settings before the data is read meet every process alike: marked every_process, said by rank 0
    spec = _alike(get_task, task)
    name = model or spec.default_model
    from dataclasses import fields

    from .losses import CLASS_WEIGHTINGS

    known = {f.name for f in fields(TrainConfig)} - {"task", "model", "seed"}
    unknown = sorted(set(config) - known)
    if unknown:  # a misspelt option (epoch=1) was dropped silently: the run trained with the default
        raise every_process(UsageError(
            f"train_run: unknown option(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))} "
            "(and data_dir, mitdb, protocol, seed, max_train, max_eval, n_sim, lazy, out, resume, figures)"))

    for opt, v in (("--max-train", max_train), ("--max-eval", max_eval), ("--n-sim", n_sim)):
        if v is not None and int(v) < 1:  # 0 was taken for "no limit"
            raise every_process(UsageError(f"{opt} must be >= 1 (leave it out for no limit), got {v}"))
    if config.get("class_weighting", "sqrt") not in CLASS_WEIGHTINGS:  # refused before any data is loaded
        raise every_process(UsageError(f"--class-weighting {config['class_weighting']!r} is not one of "
                                       f"{', '.join(CLASS_WEIGHTINGS)}"))
    out = check_output_folder(Path(out) if out else Path("runs") / f"{task}-{name}")
    ckpt_dir = partial_dir(out)
    main = int(os.environ.get("RANK", "0")) == 0
    if not main:
        log = silent
    # absolute: evaluate, report and --resume read them from any working folder (a relative one was looked up there)
    data_args = {"data_dir": str(Path(data_dir).resolve()) if data_dir else None,
                 "mitdb": str(Path(mitdb).resolve()) if mitdb else None,
                 "protocol": protocol, "seed": seed, "n_sim": n_sim, "max_train": max_train, "max_eval": max_eval,
                 "lazy": lazy}
    if resume:
        state = ckpt_dir / "run_args.json"
        if not state.is_file():
            raise every_process(MissingDataError(f"{out}: nothing to resume ({state} not found); start the run "
                                                 "without --resume"))
        try:  # a damaged or hand-edited file was a JSONDecodeError / KeyError traceback
            saved = json.loads(state.read_text())
            if not (isinstance(saved, dict) and isinstance(saved.get("config"), dict)
                    and isinstance(saved.get("data_args"), dict) and isinstance(saved["config"].get("model"), str)):
                raise ValueError("no 'config' with a model and no 'data_args'")
        except (ValueError, UnicodeDecodeError) as exc:
            raise every_process(DataFormatError(f"{state}: damaged ({exc}); the run cannot be resumed: start it again "
                                                "without --resume")) from None
        if saved["config"].get("task", task) != task or (model and saved["config"]["model"] != model):
            raise every_process(UsageError(
                f"{out}: the run to resume is {saved['config'].get('task')} with {saved['config']['model']}, not "
                f"{task}{' with ' + model if model else ''}: resume it with cardiacml train "
                f"{saved['config'].get('task')} --resume --out {out}"))
        ignored = sorted(k for k, v in config.items() if k in saved["config"] and v != saved["config"][k]
                         and k not in ("threads", "workers", "device"))
        if ignored:
            log("note: resuming with the interrupted run's own settings: "
                + ", ".join(f"{k}={saved['config'][k]!r} (not {config[k]!r})" for k in ignored))
        # the run's own settings, but this machine's threads / workers / device when given (they were dropped)
        machine = {k: config[k] for k in ("threads", "workers", "device") if config.get(k) is not None}
        data_args, name = stored_data_args(task, saved["data_args"]), saved["config"]["model"]
        config = {**saved["config"], **machine}
    cfg = _alike(TrainConfig.from_dict, {**config, "task": task, "model": name, "seed": seed} if not resume else config)
    from ..models.registry import check_hparams

    _alike(check_hparams, cfg.model, cfg.hparams)
    from ..models.registry import get_spec

    from .loop import cannot_serve

    world = world_size()  # --resume of a run with a smaller batch: said before the data
    refuse_batch_share(world, cfg.batch_size, f"{world} processes")  # is loaded (fit says the same, later)
    why = cannot_serve(cfg.model, spec)  # before the data is loaded (fit says the same, later)
    if why:
        raise every_process(UsageError(why))
    task_out = get_spec(cfg.model).defaults.get(task, {}).get("out")
    if task_out is not None and "out" in cfg.hparams and cfg.hparams["out"] != task_out:  # before the data is loaded
        raise every_process(UsageError(f"--hparam out={cfg.hparams['out']}: {task} needs out={task_out} (a "
                                       f"{'value per site' if task_out == 'vector' else 'trace per site'}); leave the "
                                       "option out"))
    data = load_task(task, **{k: v for k, v in data_args.items()})
    log(f"data: {data.source} [{data.protocol} split]")
    note = spec.note(data)
    if note:
        log(f"note: {note}")
    if not resume and main:
        if (ckpt_dir / "last.pt").is_file():  # said, not silently dropped
            log(f"note: {ckpt_dir} held an interrupted run's checkpoint; starting afresh discards it (--resume would "
                "have continued it)")
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        ckpt_dir.mkdir(parents=True)
        (ckpt_dir / "run_args.json").write_text(json.dumps({"data_args": data_args, "config": asdict(cfg)}, indent=1))
    try:
        with sigterm_as_interrupt():
            # every process reads OUT.partial/last.pt when resuming; only rank 0 writes it (fit checks)
            _, record = fit(data, cfg, None, log=log, data_args=data_args, checkpoint_dir=ckpt_dir, resume=resume)
    except RuntimeError as exc:  # under --nproc, another process stopped (killed): this one's collective failed
        world = world_size()
        if world <= 1 or isinstance(exc, CardiacMLError) or not _lost_peer(exc):
            raise
        last = ckpt_dir / "last.pt"
        then = (f"the last finished epoch is kept in {last}. Resume with: cardiacml train {task} --resume --out {out} "
                f"--nproc {world}") if last.is_file() else "no epoch had finished: run the same command again"
        raise TrainingError(f"another of the {world} training processes stopped (killed? out of memory?), so this one "
                            f"cannot go on; nothing was written to {out}; {then}") from None
    except KeyboardInterrupt:
        last = ckpt_dir / "last.pt"
        world = world_size()  # a distributed run resumes with as many processes
        again = f"cardiacml train {task} --resume --out {out}" + (f" --nproc {world}" if world > 1 else "")
        if not last.is_file():  # nothing to resume from: the hint would fail after loading the data
            raise Interrupted(f"training interrupted before the first epoch finished; nothing was written to {out} and "
                              "there is nothing to resume: run the same command again") from None
        raise Interrupted(f"training interrupted; the last finished epoch is kept in {last}. Nothing was written to "
                          f"{out}. Resume with: {again}") from None
    try:
        with sigterm_as_interrupt():
            _finish_run(record, spec, data, seed, out, ckpt_dir, main, figures, log)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after the last epoch, while the run was being finished (unfamiliarity score, "
                          f"figures, the run folder); nothing was written to {out}. The trained weights are kept in "
                          f"{ckpt_dir / 'last.pt'}: cardiacml train {task} --resume --out {out}") from None
    if not main:
        record.path = out / "model.pt"
    return record


def _alike(check, *args):
    """``check(*args)``, a check of the settings alone: its UsageError / DataFormatError is the same on every process
    of a distributed run (marked :func:`~cardiacml.errors.every_process`)."""
    try:
        return check(*args)
    except (UsageError, DataFormatError) as exc:
        raise every_process(exc)


def _lost_peer(exc: RuntimeError) -> bool:
    """Whether a distributed run's error is a collective that lost its peer (gloo / NCCL), not a bug here."""
    import torch.distributed as dist

    return isinstance(exc, getattr(dist, "DistError", ())) or any(
        w in str(exc) for w in ("gloo", "NCCL", "Connection reset by peer", "Connection closed by peer"))


def _finish_run(record, spec, data, seed, out, ckpt_dir, main, figures, log) -> None:
    """After the last epoch: the unfamiliarity score of a heart model, then the run folder (rank 0 only)."""
    if main and record.module is not None and spec.contract_kind == "ecg12":
        from .unfamiliar import fit_unfamiliarity, has_embedding, unfamiliarity

        if has_embedding(record.module):  # how far a new input lies from the training data (predict reports it)
            calib = (data.extra or {}).get("X_calibration")  # validation hearts as the model meets them in use
            record.unfamiliarity = fit_unfamiliarity(record.module, data.X_train, data.X_val if calib is None else calib,
                                                     seed)
            u = unfamiliarity(record.module, data.X_test, record.unfamiliarity)
            record.metrics["test"]["unfamiliar_rate"] = float(np.mean(u["unfamiliar"]))
            log(f"unfamiliar-input warning fires on {100 * np.mean(u['unfamiliar']):.1f} % of the test inputs "
                f"(threshold: the {100 * record.unfamiliarity['quantile']:g}th percentile of "
                f"{'clean and augmented ' if calib is not None else ''}validation inputs)")
    if main:
        save_run(record, out, extra=(lambda tmp: save_run_extras(tmp, record, data)) if figures else None)
        shutil.rmtree(ckpt_dir, ignore_errors=True)


def stored_data_args(task: str, args: dict) -> dict:
    """The options a run recorded for loading its data, as :func:`~cardiacml.tasks.load_task` takes them today.

    cardiacml 0.2 recorded every option (``n_sim`` and ``lazy`` for Task 2 too); the ones this task's loader
    does not take are dropped, so old run folders and pretrained models evaluate unchanged.
    """
    takes = set(get_task(task).loader_options()) | {"protocol", "seed", "max_train", "max_eval"}
    return {k: v for k, v in (args or {}).items() if k in takes}


def launch_distributed(nproc: int, cli_args: list[str]) -> int:
    """Run ``cardiacml <cli_args>`` in ``nproc`` processes on this machine with torchrun; returns the exit code."""
    import subprocess
    import sys

    import signal

    cmd = [sys.executable, "-m", "cardiacml.training._torchrun", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "cardiacml.cli", *cli_args]
    proc = subprocess.Popen(cmd)

    got: list = []

    def forward(signum, frame):  # SIGTERM / SIGINT to the launcher reach torchrun, which stops its workers
        got.append(signum)
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    old = {}
    try:
        old = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: no handlers (the caller's stay)
        pass
    try:
        while True:
            try:
                rc = proc.wait()
                break
            except KeyboardInterrupt:  # forwarded already; wait for the workers to stop and say where things are
                continue
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    # the launcher (cardiacml.training._torchrun) returns the first failed worker's code, whose one-line error was
    # printed above (2: usage or data); an interrupt is 130 whatever the workers made of it
    if rc == 0:  # finished (a signal that came after the workers had saved the run changes nothing)
        return 0
    return 130 if got or rc in (-signal.SIGTERM, -signal.SIGINT, 130, 128 + signal.SIGTERM) else rc


def save_run_extras(run_dir: Path, record: RunRecord, data) -> list:
    """Figures and ``examples.npz`` of a finished run, from the predictions ``fit`` already made (no reload, no re-run)."""
    from ..viz.figures import save_run_figures

    out = save_run_figures(run_dir, record, data, record.test_prediction)
    try:  # a few test examples for the interactive report; never lose the run over it
        save_examples(run_dir, data.X_test, data.y_test, record.test_prediction)
    except (ValueError, OSError, IndexError) as exc:
        (Path(run_dir) / "figures" / "examples_error.txt").write_text(f"{exc.__class__.__name__}: {exc}")
    return out


def default_eval_dir(record) -> Path:
    """Where :func:`evaluate_run` writes by default, and ``cardiacml report`` reads: ``RUN/eval``, or ``./eval-NAME``
    for a pretrained model."""
    pre = record.card.get("pretrained")
    return Path(f"eval-{pre}") if pre else record.path.parent / "eval"


def _refuse_run_folder(out, model_path) -> None:
    """An evaluation never replaces a training run: not the run's own folder (or one holding it), nor any folder
    with a ``model.pt`` or ``run.json`` (check_output_folder lets a cardiacml folder be replaced whole)."""
    from ..errors import OutputError

    o = resolved(out)
    run_dir = resolved(model_path).parent
    if o == run_dir or o in run_dir.parents:
        raise OutputError(f"--out {out} holds the run being evaluated ({run_dir}): refusing to replace it; choose "
                          f"another folder (default {run_dir / 'eval'})")
    if o.is_dir() and any((o / n).exists() for n in ("model.pt", "run.json")):
        raise OutputError(f"--out {out} is a training run folder (model.pt / run.json): refusing to replace it; choose "
                          "another folder")


def evaluate_run(run, *, data_dir=None, mitdb=None, protocol: str | None = None, out=None, figures: bool = True,
                 log=print, max_eval: int | None = None) -> tuple[dict, Path]:
    """Evaluate a run folder / checkpoint / pretrained model on its own test split or on other data.

    Writes ``metrics.json`` (and figures) into ``out`` (default ``RUN/eval``; for a pretrained
    model, ``./eval-NAME``) and returns (metrics, out). ``mitdb``: the raw MIT-BIH folder of a beat model's data
    (default: the run's, ``$CARDIACML_MITDB`` or ``../shared/data/mitdb``). ``out`` never replaces a training run.
    ``max_eval``: score a random subset of at most this many test examples; by default the run's own cap (training's
    ``--max-eval``) applies to its own test split only, not to other data (``data_dir``) or another ``protocol``.
    """
    from ..utils import atomic_path, check_output_folder

    if max_eval is not None and (isinstance(max_eval, bool) or not isinstance(max_eval, int) or max_eval < 1):
        from ..errors import UsageError

        raise UsageError(f"--max-eval must be a whole number >= 1, got {max_eval!r}")
    if out is not None:
        check_output_folder(out)
    model, record = load_run(run)
    if out is not None:
        _refuse_run_folder(out, record.path)
    args = stored_data_args(record.task, record.data_args)
    if record.spec.contract_kind == "ecg12":  # the inputs the model was trained on (0.2 models: window version 1)
        from ..contracts.ecg12 import window_version

        args["window_version"] = window_version(record.contract)
    if args.get("mitdb") and not mitdb and not (Path(args["mitdb"]) / "RECORDS").is_file():
        log(f"note: the run's MIT-BIH folder {args['mitdb']} is gone; using $CARDIACML_MITDB or the default (--mitdb "
            "DIR to choose)")
        args["mitdb"] = None
    if protocol and protocol not in ("auto", "kaggle") and not data_dir and args.get("data_dir") \
            and record.task in ("task1", "task2"):
        args["data_dir"] = None  # the run's Kaggle CSVs cannot serve a protocol on raw records: not the user's --data-dir
    if data_dir:
        args["data_dir"] = str(data_dir)
    if mitdb:
        args["mitdb"] = str(mitdb)
    other_protocol = bool(protocol) and protocol != args.get("protocol")  # the run's own names its own split
    if protocol:
        args["protocol"] = protocol
    if max_eval is not None:
        args["max_eval"] = max_eval
    elif (data_dir or other_protocol) and args.get("max_eval"):  # the run's cap is about its own split, not the one asked for
        log(f"note: {'other data' if data_dir else f'--protocol {protocol}'}: the run's --max-eval cap "
            f"({args['max_eval']}) is not applied (--max-eval N to score a subset)")
        args["max_eval"] = None
    data = load_task(record.task, **args, test_only=True)  # nothing that only training reads (mitbih_train.csv...)
    metrics, pred = evaluate_task(model, data)
    if out is None:
        out = default_eval_dir(record)
    out = check_output_folder(out)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "metrics.json").write_text(json.dumps({"data": data.source, "protocol": data.protocol,
                                                      "note": record.spec.note(data), **metrics}, indent=1))
        if figures:
            from ..viz.figures import task_figures

            task_figures(record.spec.figures, tmp, metrics, data, pred)
    log(record.spec.summary(metrics) + f"  [{data.protocol} split of {data.source}]")
    return metrics, out
