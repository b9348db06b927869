"""Task registry (a leaf: it imports nothing of cardiacml but errors and its version; the task modules' specs register here).

One :class:`TaskSpec` per task says everything the rest of cardiacml needs. Training,
evaluation, figures, reports, prediction and the CLI ask the spec (input contract, loader,
loss, early-stopping score, metrics, summary line, figure set, default model, intended use
and limits) instead of switching on task names. ``cardiacml tasks`` lists them.

The task modules (:mod:`.kaggle`, :mod:`.beats`, :mod:`.heart`) import :func:`register_task`
from here, and the package's ``__init__`` imports every task module eagerly (as timm does for
its models), so the registry is full as soon as :mod:`cardiacml.tasks` is imported.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import UsageError

_TASKS: dict = {}


@dataclass
class TaskData:
    """Arrays of one task, split.

    Attributes
    ----------
    task : str
        Registered task name.
    X_train, X_val, X_test : ndarray, shape (n, n_leads, n_samples), float32
        Inputs, as the contract says.
    y_train, y_val, y_test : ndarray
        Class indices (n,), activation times (n, 75) in ms, or Vm (n, 75, 500) in mV.
    contract : SignalContract
        Input and target description (saved in checkpoints).
    source : str
        Where the data came from, in words.
    protocol : str
        How it was split (``random``, ``interpatient``, ``stimulus``...).
    extra : dict
        Per-test-example extras (record ids, simulation names).
    """

    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    contract: object
    source: str
    protocol: str
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line (a notebook shows the value of a cell's last line), not every array."""
        c, shape = self.contract, tuple(getattr(self.X_test, "shape", ())[1:])
        names = tuple(getattr(c, "target_names", ()) or ())
        if getattr(c, "target_units", "") == "class":
            target = f"{len(names)} classes ({', '.join(map(str, names))})"
        else:
            target = f"{getattr(c, 'target', '') or 'targets'} {tuple(getattr(self.y_test, 'shape', ())[1:])}"
        src = self.source if len(self.source) <= 120 else self.source[:117] + "..."
        return (f"TaskData(task={self.task!r}, protocol={self.protocol!r}, train/val/test "
                f"{len(self.y_train)}/{len(self.y_val)}/{len(self.y_test)} examples of {shape} -> {target}, "
                f"source={src!r})")

    @property
    def spec(self) -> "TaskSpec":
        return get_task(self.task)

    @property
    def kind(self) -> str:
        return self.spec.kind


@dataclass(frozen=True)
class TaskSpec:
    """Everything cardiacml knows about a task.

    Attributes
    ----------
    name, title : str
        Registry name (``task2``) and one-line title.
    kind : str
        ``"classification"``, ``"regression"`` (one value per site) or ``"sequence"`` (a time series per site).
    contract_kind : str
        Kind of input contract (``"beat"``, ``"ecg12"``); models declare which they accept.
    loader : callable
        ``loader(*, protocol, seed, val_fraction, max_train, **options) -> TaskData``; the options it takes
        (``data_dir``, ``mitdb``, ``n_sim``, ``lazy``, ``window_version``) are its explicit keyword arguments, and
        :func:`load_task` refuses any other option given. A loader that also takes ``test_only`` is told when only
        the test split is wanted (evaluation): it then reads nothing that only training or validation use.
    protocols : tuple of str
        Accepted split protocols; ``"auto"`` is always accepted and lets the loader pick.
    default_model : str
    model_output : str
        ``"logits"``, ``"vector"`` or ``"sequence"``: the model output form the task needs.
    loss : str
        ``"cross_entropy"``, ``"masked_l1"`` (NaN targets ignored), ``"mse"`` or ``"mse_tv"`` (MSE plus a
        penalty on total variation beyond the truth's: discourages ringing).
    score_key : str
        Validation metric for early stopping; ``higher_is_better`` says its direction.
    history_keys : tuple of str
        Validation metrics recorded each epoch (and plotted).
    metrics : callable
        ``metrics(y_true, prediction, data) -> dict`` (JSON-friendly).
    summary : callable
        ``summary(metrics) -> str``, one line.
    figures : str
        Name of the task's figure set, resolved by :data:`cardiacml.viz.figures.FIGURES`
        (``"classification"``, ``"activation"``, ``"vm"``), as ``loss`` is resolved by training.
    intended_use : str
    limits : dict
        Limits of the results per protocol, for model cards.
    data_note : callable or None
        ``data_note(data) -> str``: a caveat about the data actually used, repeated on the CLI,
        in run.json, the report and the model card (e.g. Task 1 trained on MIT-BIH, not PTB).
    augmentation : str
        What the training loop's ``--augment`` does: ``"beat"`` (amplitude scaling, noise, values kept
        in [0, 1.5] as the Kaggle beats are), ``"scale"`` (amplitude scaling) or ``"none"`` (the data
        or the model augments itself).
    """

    name: str
    title: str
    kind: str
    contract_kind: str
    loader: Callable
    protocols: tuple
    default_model: str
    model_output: str
    loss: str
    score_key: str
    higher_is_better: bool
    history_keys: tuple
    metrics: Callable
    summary: Callable
    figures: str
    intended_use: str = ""
    limits: dict = field(default_factory=dict)
    data_note: Callable | None = None
    augmentation: str = "none"

    def score(self, metrics: dict) -> float:
        """Early-stopping score of validation ``metrics``, higher is better."""
        v = float(metrics[self.score_key])
        return v if self.higher_is_better else -v

    def note(self, data: TaskData) -> str:
        return self.data_note(data) if self.data_note else ""

    def serves(self, kind: str, outputs, accepts) -> bool:
        """Whether a model of ``kind`` with output forms ``outputs`` and input contracts ``accepts`` can serve this task."""
        if self.contract_kind not in tuple(accepts):
            return False
        if self.kind == "classification":
            return kind == "classification"
        return kind == "regression" and self.model_output in tuple(outputs)

    def loader_options(self) -> tuple:
        """Data options this task's loader takes besides protocol, seed, val_fraction and max_train."""
        common = {"protocol", "seed", "val_fraction", "max_train", "test_only"}
        return tuple(n for n in inspect.signature(self.loader).parameters if n not in common)


def register_task(spec: TaskSpec) -> TaskSpec:
    _TASKS[spec.name] = spec
    return spec


def list_tasks() -> list[str]:
    return sorted(_TASKS)


def get_task(name: str) -> TaskSpec:
    if name not in _TASKS:
        raise UsageError(f"unknown task {name!r}; choose one of {', '.join(sorted(_TASKS))}")
    return _TASKS[name]


def check_saved_model(task, kind, contract_kind, version, where) -> None:
    """Refuse a saved model (checkpoint, ONNX metadata) this cardiacml cannot serve; warn when a newer one wrote it.

    ``task`` must be a registered task, ``kind`` (absent in some old files: None) the task's kind and
    ``contract_kind`` the task's input contract kind: otherwise DataFormatError, one line naming ``where``
    (a hand-edited or foreign file loaded silently, its stored kind ignored). ``version`` (the cardiacml that
    wrote it) newer than this one is a warning, not a refusal: everything this version reads is checked here
    and where the model is built, so a newer release writing the same checkpoint format loads; the warning says
    what to do if it relies on something this version lacks.
    """
    from ..errors import DataFormatError

    if task is None and kind is not None:  # an ONNX file exported before the task was recorded (0.1, or by hand):
        fits = [t for t, s in sorted(_TASKS.items()) if s.kind == kind and s.contract_kind == contract_kind]
        task = fits[0] if fits else task  # judged by the task its kind and contract fit (its contract is checked)
    if task is None:
        raise DataFormatError(f"{where}: the file records no task" + ("" if kind is None else f" and no task takes its "
                              f"kind {kind!r} with a {contract_kind!r} input") + "; not a model cardiacml can serve "
                              "(export it again with `cardiacml export`)")
    if not isinstance(task, str) or task not in _TASKS:
        raise DataFormatError(f"{where}: a model for task {task!r}, which this cardiacml does not know "
                              f"(tasks: {', '.join(sorted(_TASKS))})")
    spec = _TASKS[task]
    kinds = sorted({s.kind for s in _TASKS.values()})
    if kind is not None and kind != spec.kind:
        why = f"which is not one of {', '.join(kinds)}" if kind not in kinds else f"but {task} models are {spec.kind}"
        raise DataFormatError(f"{where}: model kind {kind!r}, {why}; not a file cardiacml wrote")
    if contract_kind != spec.contract_kind:
        raise DataFormatError(f"{where}: its input contract is {contract_kind!r}, but {task} models take "
                              f"{spec.contract_kind!r} inputs; not a file cardiacml wrote")
    import re
    import warnings

    from .. import __version__

    def parts(v):
        m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(v))
        return tuple(int(x or 0) for x in m.groups()) if m else None

    theirs, mine = parts(version), parts(__version__)
    if theirs is not None and mine is not None and theirs > mine:
        warnings.warn(f"{where}: written by cardiacml {version}, newer than this cardiacml {__version__}; it loads, but "
                      "if it fails or its predictions look wrong, upgrade cardiacml", stacklevel=3)


def _cap_eval(data: TaskData, max_eval: int | None, seed: int) -> TaskData:
    """Random subsets of at most ``max_eval`` validation and test examples (quick runs).

    Each split draws from its own generator: the test subset does not depend on the validation split's size, so
    ``evaluate`` (which reads no validation examples) scores the very test examples training did (with one generator
    shared by both, an evaluation of a ``--max-eval`` run drew another test subset and reported other figures)."""
    if not max_eval:
        return data
    for split in ("val", "test"):
        rng = np.random.default_rng(seed + 1 if split == "val" else [seed + 1, 1])
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        if len(y) > max_eval:
            idx = np.sort(rng.choice(len(y), max_eval, replace=False))
            setattr(data, f"X_{split}", X[idx])
            setattr(data, f"y_{split}", y[idx])
            # the entries of extra that hold one value per example of this split follow: "<split>_..." (val_groups,
            # test_groups) and, for the test split, unprefixed ones; never the record lists or the other split's
            n = len(y)

            def mine(k, v):
                per = k.startswith(f"{split}_") or (split == "test" and not k.startswith(("val_", "train_")))
                return per and isinstance(v, (np.ndarray, list)) and len(v) == n

            data.extra = {k: ((v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx]) if mine(k, v) else v)
                          for k, v in (data.extra or {}).items()}
    return data


def load_task(task: str, data_dir=None, *, mitdb=None, protocol: str = "auto", seed: int = 0,
              val_fraction: float = 0.1, max_train: int | None = None, n_sim: int | None = None,
              max_eval: int | None = None, lazy: bool = False, window_version: int | None = None,
              test_only: bool = False) -> TaskData:
    """Load and split the data of a task.

    Parameters
    ----------
    task : str
        A registered task (``cardiacml tasks``).
    data_dir : path-like, optional
        Kaggle CSV folder (Tasks 1-2) or intracardiac dataset / cache (Tasks 3-4).
        When absent, the embedded default is used.
    mitdb : path-like, optional
        Raw MIT-BIH records (Task 2 rebuilt beats, the ``beats`` task).
    protocol : str
        One of the task's protocols (``TaskSpec.protocols``) or ``"auto"``.
    max_train, max_eval : int, optional
        Random subsets of the training / validation and test data, for quick runs.
    n_sim : int, optional
        Size of the embedded simulated default (Tasks 3-4; default 2,000).
    lazy : bool
        Keep inputs and targets memory-mapped (:class:`cardiacml.datasets.lazy.LazyRows`) instead of
        reading them into RAM (Tasks 3-4).
    window_version : int, optional
        Tasks 3-4: the 12-lead window version of the inputs (default: the current one; 1 rebuilds what a
        cardiacml 0.2 model was trained on, for evaluating it).
    test_only : bool
        Only the test split is wanted (evaluation): what only training or validation use is not read, and those
        splits may come back empty (Task 2's Kaggle CSVs: ``mitbih_train.csv``; the ``beats`` task's DS1 records)
        or unread (Tasks 3-4: memory-mapped). Where the test split is cut from the same files as the training
        split (Task 1's PTB CSVs, beats rebuilt from raw records by a random split) those files are still read.

    Raises
    ------
    UsageError
        Unknown task or protocol, or an option the task does not take (e.g. ``lazy`` for Task 2).
    """
    spec = get_task(task)
    if protocol != "auto" and protocol not in spec.protocols:
        raise UsageError(f"protocol {protocol!r} is not one of {', '.join(spec.protocols)} for {task}")
    given = {k: v for k, v in (("data_dir", data_dir), ("mitdb", mitdb), ("n_sim", n_sim), ("lazy", lazy),
                               ("window_version", window_version)) if v is not None and v is not False}
    takes = spec.loader_options()
    bad = [k for k in given if k not in takes]
    if bad:
        raise UsageError(f"{task} does not take {', '.join('--' + k.replace('_', '-') for k in bad)} "
                         f"(its data options: {', '.join('--' + k.replace('_', '-') for k in takes) or 'none'})")
    if test_only and "test_only" in inspect.signature(spec.loader).parameters:  # a loader that cannot: reads all
        given["test_only"] = True
    data = spec.loader(protocol=protocol, seed=seed, val_fraction=val_fraction, max_train=max_train, **given)
    return _cap_eval(data, max_eval, seed)
