"""Checkpoints and run folders: the typed :class:`RunRecord`, saving, safe loading, pretrained names.

A run folder holds ``model.pt`` (a checkpoint: tensors and plain data only, always loaded with
``torch.load(..., weights_only=True)``: a file that carries anything else is refused, never
unpickled), ``metrics.json``, ``history.json``, ``run.json``, ``figures/`` and ``examples.npz``
(a few test examples with their predictions, for reports). Inference, export and reports read a
checkpoint through this module alone; they never import the training loop.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..contracts import SignalContract
from ..errors import CardiacMLError, DataFormatError, MissingDataError, UsageError
from ..models import create_model
from ..tasks import check_saved_model, get_task
from ..utils import atomic_path

CHECKPOINT_FORMAT = 2


class TrainingError(CardiacMLError, RuntimeError):
    """Training could not produce a usable model (e.g. the loss became NaN)."""


@dataclass
class TrainConfig:
    """Training settings (all saved in the checkpoint).

    ``threads``: PyTorch CPU threads; ``None`` applies :func:`cardiacml.utils.resolve_threads`'s policy
    (divided among the processes of a distributed run on one machine).
    ``workers``: DataLoader processes that read batches (0: in the training process).
    ``amp``: mixed precision on CUDA (``auto`` = bf16 where the GPU supports it); never used on CPU.
    """

    task: str = "task2"
    model: str = "beatnet"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 6
    seed: int = 0
    device: str = "auto"
    class_weighting: str = "sqrt"  # "none", "sqrt" (1/sqrt(freq)) or "inverse" (1/freq)
    augment: bool = True
    hparams: dict = field(default_factory=dict)
    threads: int | None = None
    workers: int = 0  # DataLoader worker processes fetching batches (useful with memory-mapped data)
    amp: str = "auto"  # mixed precision on CUDA: auto (bf16 where supported) | bf16 | fp16 | off; always off on CPU

    def __post_init__(self):
        """Refuse impossible settings before any data is loaded (one-line errors naming the option)."""
        import math

        from ..errors import UsageError

        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "patience": self.patience}
        for name, v in positive.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be a whole number of at least 1, got {v!r}")
        for name, v in {"lr": self.lr, "weight_decay": self.weight_decay}.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (
                    name == "lr" and v == 0):
                raise UsageError(f"--{name.replace('_', '-')} must be a finite {'positive' if name == 'lr' else 'non-negative'}"
                                 f" number, got {v!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise UsageError(f"--workers must be 0 or more, got {self.workers!r}")
        if self.class_weighting not in ("none", "sqrt", "inverse"):
            raise UsageError(f"--class-weighting must be none, sqrt or inverse, got {self.class_weighting!r}")
        if not isinstance(self.hparams, dict):
            raise UsageError(f"model options (--hparam) must be KEY=VALUE pairs, got {self.hparams!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2 ** 32:
            raise UsageError(f"--seed must be a whole number from 0 to 2**32 - 1, got {self.seed!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise UsageError(f"--threads must be 1 or more (leave it out for the default), got {self.threads!r}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise UsageError(f"--amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        import re

        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", str(self.device)):
            raise UsageError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class NormalizedModel(nn.Module):
    """Wraps a model with fixed input/output standardisation (statistics of the training set).

    ``forward`` takes raw inputs and returns outputs in physical units;
    ``forward_std`` returns the network's standardised output (used for the loss).
    """

    def __init__(self, net: nn.Module, in_mean, in_std, out_mean=0.0, out_std=1.0):
        super().__init__()
        self.net = net
        self.register_buffer("in_mean", torch.as_tensor(np.asarray(in_mean, np.float32)))
        self.register_buffer("in_std", torch.as_tensor(np.asarray(in_std, np.float32)))
        self.register_buffer("out_mean", torch.as_tensor(np.asarray(out_mean, np.float32)))
        self.register_buffer("out_std", torch.as_tensor(np.asarray(out_std, np.float32)))

    def forward_std(self, x):
        return self.net((x - self.in_mean) / self.in_std)

    def embed(self, x):
        """The network's features of raw inputs (``net.embed`` on standardised inputs); AttributeError if it has none."""
        return self.net.embed((x - self.in_mean) / self.in_std)

    def forward(self, x, standardised: bool = False):
        """Outputs in physical units, or (``standardised=True``, for the loss) the network's standardised output.

        The loss goes through ``forward`` so that a DistributedDataParallel wrapper synchronises gradients.
        """
        h = self.forward_std(x)
        return h if standardised else h * self.out_std + self.out_mean


# ------------------------------------------------------------------------------------------ run record
@dataclass
class RunRecord:
    """A trained model and everything needed to use, evaluate and describe it.

    This is the typed form of a checkpoint (``model.pt``), which holds
    :meth:`to_checkpoint`'s plain dict. ``module`` (the trained network) and
    ``test_prediction`` exist only in memory, right after training.
    """

    model: str
    hparams: dict
    task: str
    contract: SignalContract
    config: TrainConfig
    state_dict: dict
    data: dict
    data_args: dict
    n_parameters: int
    best_epoch: int
    train_time_s: float
    history: list
    metrics: dict
    cardiacml_version: str = __version__
    card: dict = field(default_factory=dict)
    unfamiliarity: dict = field(default_factory=dict)
    path: Path | None = None
    module: nn.Module | None = field(default=None, repr=False, compare=False)
    test_prediction: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def spec(self):
        return get_task(self.task)

    def __repr__(self) -> str:
        """One line (a notebook shows the value of a cell's last line), not every weight of the model."""
        test = (self.metrics or {}).get("test") or {}
        scores = [f"{k} {v:.4g}" for k, v in test.items() if isinstance(v, float)][:3]
        return (f"RunRecord(task={self.task!r}, model={self.model!r}, {self.n_parameters:,} parameters, best epoch "
                f"{self.best_epoch} of {len(self.history)}" + (f", test {', '.join(scores)}" if scores else "")
                + (f", path={str(self.path)!r}" if self.path else "") + ")")

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def run_dir(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    def to_checkpoint(self) -> dict:
        """Plain data + tensors only (loadable with ``weights_only=True``)."""
        return {
            "format": CHECKPOINT_FORMAT, "model": self.model, "hparams": dict(self.hparams), "task": self.task,
            "kind": self.kind, "contract": self.contract.to_dict(), "config": asdict(self.config),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
            "data": dict(self.data), "data_args": dict(self.data_args), "n_parameters": int(self.n_parameters),
            "best_epoch": int(self.best_epoch), "train_time_s": float(self.train_time_s), "history": list(self.history),
            "metrics": self.metrics, "cardiacml_version": self.cardiacml_version, "card": dict(self.card),
            "unfamiliarity": dict(self.unfamiliarity),
        }

    @classmethod
    def from_checkpoint(cls, ck: dict, path: Path | None = None) -> "RunRecord":
        """Read a checkpoint dict (format 2, or version 0.1's)."""
        for key in ("contract", "config"):  # from_dict reads them as mappings (.get / .items)
            if not isinstance(ck.get(key, {}), (dict, SignalContract if key == "contract" else dict)):
                raise DataFormatError(f"{path or 'checkpoint'}: not a cardiacml checkpoint (its {key!r} is a "
                                      f"{type(ck[key]).__name__}, not a mapping)")
        fmt = ck.get("format", CHECKPOINT_FORMAT)  # version 0.1's had none
        if isinstance(fmt, bool) or not isinstance(fmt, int) or not 1 <= fmt <= CHECKPOINT_FORMAT:
            raise DataFormatError(f"{path or 'checkpoint'}: checkpoint format {fmt!r}, which this cardiacml does not read "
                                  f"(it reads 1 to {CHECKPOINT_FORMAT}); a newer cardiacml may")
        try:
            record = cls(model=ck["model"], hparams=dict(ck.get("hparams") or {}), task=ck["task"],
                       contract=SignalContract.from_dict(ck["contract"]), config=TrainConfig.from_dict(ck.get("config") or {}),
                       state_dict=ck["state_dict"], data=dict(ck.get("data") or {}), data_args=dict(ck.get("data_args") or {}),
                       n_parameters=int(ck.get("n_parameters", 0)), best_epoch=int(ck.get("best_epoch", -1)),
                       train_time_s=float(ck.get("train_time_s", 0.0)), history=list(ck.get("history") or []),
                       metrics=dict(ck.get("metrics") or {}), cardiacml_version=str(ck.get("cardiacml_version", "?")),
                       card=dict(ck.get("card") or {}), unfamiliarity=dict(ck.get("unfamiliarity") or {}), path=path)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path or 'checkpoint'}: not a cardiacml checkpoint (missing or malformed {exc})") from exc
        # its task, kind and input contract must agree with this cardiacml's tasks (a stored kind was ignored)
        check_saved_model(record.task, ck.get("kind"), record.contract.kind, ck.get("cardiacml_version"), path or "checkpoint")
        return record

    def __getitem__(self, key: str):
        """Version 0.1 code read the checkpoint as a dict (``ckpt["metrics"]``): still works, prefer attributes."""
        return self.to_checkpoint()[key]

    def meta(self) -> dict:
        """What run.json holds: everything but the weights and the metrics."""
        ck = self.to_checkpoint()
        return {k: ck[k] for k in ("model", "hparams", "task", "kind", "contract", "config", "data", "data_args",
                                   "n_parameters", "best_epoch", "train_time_s", "cardiacml_version", "card")}

    def build_model(self) -> NormalizedModel:
        """The network with its trained weights (eval mode)."""
        sd = self.state_dict
        missing = [k for k in ("in_mean", "in_std", "out_mean", "out_std") if not isinstance(sd, dict) or k not in sd]
        if missing:
            raise DataFormatError(f"{self.path or 'checkpoint'}: the weights lack the normalisation buffers {missing}; "
                                  "not a checkpoint written by `cardiacml train`")
        with torch.device("meta"):  # shapes only: options or a contract asking for a huge network allocate nothing
            meta_net = create_model(self.model, contract=self.contract, **self.hparams)
            shapes = {f"net.{k}": tuple(v.shape) for k, v in meta_net.state_dict().items()}
        _check_norm_buffers(sd, meta_net, self.contract, self.path)
        for k, shape in shapes.items():  # and each weight must be in the file (a stride-0 view of one number is not)
            v = sd.get(k)
            if (not isinstance(v, torch.Tensor) or tuple(v.shape) != shape
                    or v.untyped_storage().nbytes() < v.numel() * v.element_size()):
                raise DataFormatError(f"{self.path or 'checkpoint'}: weights do not fit model {self.model!r} ({k}: "
                                      f"{tuple(v.shape) if isinstance(v, torch.Tensor) else 'missing'} in the file, "
                                      f"{shape} in the model)")
        net = create_model(self.model, contract=self.contract, **self.hparams)
        model = NormalizedModel(net, sd["in_mean"], sd["in_std"], sd["out_mean"], sd["out_std"])
        try:
            model.load_state_dict(sd)
        except RuntimeError as exc:
            raise DataFormatError(f"{self.path or 'checkpoint'}: weights do not fit model {self.model!r} "
                                  f"({str(exc).splitlines()[0]})") from exc
        return model.eval()


def _check_norm_buffers(sd: dict, meta_net: nn.Module, contract: SignalContract, path) -> None:
    """The normalisation buffers: floating-point tensors that broadcast to the input (leads, samples) and the
    network's output without changing their shape (one in another shape failed in the first forward pass)."""
    x_shape = (1, contract.n_leads, contract.n_samples)
    try:
        with torch.device("meta"), torch.no_grad():
            y_shape = tuple(meta_net(torch.empty(x_shape)).shape)
    except Exception:  # noqa: BLE001 - a network the meta device cannot run: its output is checked at prediction
        y_shape = None
    for key, shape in (("in_mean", x_shape), ("in_std", x_shape), ("out_mean", y_shape), ("out_std", y_shape)):
        v = sd[key]
        ok = isinstance(v, torch.Tensor) and v.is_floating_point()
        if ok and shape is not None:
            try:
                ok = torch.broadcast_shapes(shape, tuple(v.shape)) == shape
            except RuntimeError:
                ok = False
        if not ok:
            what = f"{v.dtype} tensor of shape {tuple(v.shape)}" if isinstance(v, torch.Tensor) else type(v).__name__
            raise DataFormatError(f"{path or 'checkpoint'}: normalisation buffer {key!r} is a {what}, which does not fit "
                                  f"the model's {'input' if key.startswith('in') else 'output'}"
                                  + (f" {shape[1:]}" if shape is not None else "") + "; not a checkpoint written by "
                                  "`cardiacml train`")


# ------------------------------------------------------------------------------------------ saving / loading
def save_run(record: RunRecord, out_dir: str | Path, extra=None) -> Path:
    """Write a run folder whole or not at all: ``model.pt``, ``metrics.json``, ``history.json``, ``run.json``.

    ``extra(tmp_dir)`` may add files (figures, examples) before the folder is moved into
    place; any previous folder at ``out_dir`` is replaced only once everything is written.
    Returns the path of ``model.pt``.
    """
    out = Path(out_dir)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        torch.save(record.to_checkpoint(), tmp / "model.pt")
        (tmp / "metrics.json").write_text(json.dumps(record.metrics, indent=1))
        (tmp / "history.json").write_text(json.dumps(record.history, indent=1))
        (tmp / "run.json").write_text(json.dumps(record.meta(), indent=1, default=str))
        if extra is not None:
            extra(tmp)
    record.path = out / "model.pt"
    return record.path


def safe_load(path: Path) -> dict:
    """``torch.load(weights_only=True)``: tensors and plain data only; anything else is refused, never run."""
    import pickle
    import re

    import warnings

    try:
        with warnings.catch_warnings():  # PyTorch's note on a pickle protocol its safe loader may not read: said below
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)", text)  # the object the file asks for ("Unsupported global: GLOBAL x")
        glob = f"GLOBAL {found.group(1)}" if found else None
        if glob is None and "Unsupported operand 149" in text:  # FRAME: a pickle of protocol >= 4, not torch.save's
            raise DataFormatError(f"{path}: refused to load: saved with pickle protocol 4 or later, which PyTorch's "
                                  "safe loader (weights_only=True) cannot read, and cardiacml never unpickles files; "
                                  "save it with torch.save's default protocol, or retrain with `cardiacml train`") from None
        if glob is None:  # not a pickle of objects at all: a damaged file, or no checkpoint (an unpickler opcode error)
            why = next((ln.strip() for ln in text.splitlines() if "Unsupported operand" in ln),
                       "unpickler error" if text.strip() else exc.__class__.__name__)
            raise DataFormatError(f"{path}: not a readable PyTorch checkpoint (damaged, truncated or another kind of "
                                  f"file: {why})") from None
        first = glob
        raise DataFormatError(
            f"{path}: refused to load: the file holds Python objects other than tensors and plain data, and "
            f"unpickling them could run code ({first}). cardiacml checkpoints never need that; retrain with "
            "`cardiacml train` or get the file from a trusted source.") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError) as exc:
        raise DataFormatError(f"{path}: not a readable cardiacml checkpoint (damaged or truncated: {exc})") from None
    if not isinstance(obj, dict):
        raise DataFormatError(f"{path}: not a cardiacml checkpoint (holds a {type(obj).__name__})")
    return obj


def resolve_checkpoint(ref: str | os.PathLike) -> Path:
    """``model.pt`` of a run folder, a checkpoint path, or a pretrained model's name (``cardiacml models``)."""
    from ..utils import as_path

    p = as_path(ref, "model (a run folder, checkpoint or pretrained name)")
    from ..pretrained import is_pretrained, pretrained_path, shadow_note

    if is_pretrained(str(ref)):  # also past a folder of that name holding no checkpoint (an export's output folder)
        note = shadow_note(str(ref))
        if note:
            import warnings

            warnings.warn(note)  # from this line: said once, though export and report resolve the name twice
        return pretrained_path(str(ref))
    if p.is_dir():
        p = p / "model.pt"
        if not p.is_file():
            raise MissingDataError(f"{p}: no checkpoint in this folder (train one with `cardiacml train`)")
        return p
    if p.is_file() and p.suffix.lower() == ".onnx":  # torch.load called it "damaged, truncated or another kind of file"
        raise UsageError(f"{p}: an exported ONNX model, which `cardiacml predict` runs; this command needs the PyTorch "
                         "model it was exported from (run folder, model.pt or pretrained name)")
    if p.is_file():
        return p
    from ..pretrained import list_pretrained

    names = ", ".join(list_pretrained()) or "none installed"
    raise MissingDataError(f"{ref}: no such run folder, checkpoint or pretrained model (pretrained: {names})")


def load_run(ref: str | os.PathLike) -> tuple[NormalizedModel, RunRecord]:
    """Model and record of a run folder, a ``model.pt``, or a pretrained model's name.

    A ``beat-rhythm`` model of another contract version is refused here (one line naming the file): every user of
    the model (predict, adaptation, evaluate, export, fine-tuning) would feed it inputs it never saw.
    """
    from ..contracts import check_contract

    path = resolve_checkpoint(ref)
    record = RunRecord.from_checkpoint(safe_load(path), path)
    check_contract(record.contract, path)
    if record.unfamiliarity:  # read at every prediction: an odd one failed there with numpy's error
        from .unfamiliar import check_state

        check_state(record.unfamiliarity, path)
    card = path.with_suffix(".json")
    from ..pretrained import is_shipped

    if is_shipped(path):  # not any folder named "pretrained": a user's run there keeps RUN/eval and its own name
        record.card.setdefault("pretrained", path.stem)
        if card.is_file():
            try:
                record.card = {**json.loads(card.read_text()), **record.card}
            except ValueError:
                pass
    return record.build_model(), record


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> tuple[NormalizedModel, dict]:
    """Model and checkpoint dict of a run folder, checkpoint or pretrained name (see :func:`load_run`); the model on
    ``map_location`` (a device)."""
    model, record = load_run(path)
    if map_location is not None and str(map_location) != "cpu":
        model = model.to(map_location)
    return model, record.to_checkpoint()


# ------------------------------------------------------------------------------------------ examples kept for reports
def save_examples(run_dir: str | os.PathLike, X: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, k: int = 24,
                  name: str = "examples.npz") -> Path:
    """Keep ``k`` test examples of a run for the interactive report: ``RUN/examples.npz`` (written atomically).

    Arrays: ``X`` (k, leads, T) float32; ``y_true``: labels (k,) int for classification,
    activation times (k, 75) ms (Task 3) or Vm (k, 75, T) mV (Task 4); ``y_pred``: class
    probabilities (k, C), or arrays shaped like ``y_true``; ``index``: the examples' rows in the
    test set. Classification keeps examples of every class present (one misclassified beat per
    class where there is one); regression keeps the first ``k`` (Task 4: at most 8, 150 kB each).
    """
    X = np.asarray(X)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(X)
    if y_pred.ndim == 2 and y_true.ndim == 1:  # classification
        yt = y_true.astype(np.int64)
        classes = np.unique(yt)
        per = max(1, k // max(len(classes), 1))
        idx = []
        for c in classes:
            rows = np.flatnonzero(yt == c)
            wrong = rows[y_pred[rows].argmax(1) != c][:1]
            right = rows[y_pred[rows].argmax(1) == c][: per - len(wrong)]
            idx += list(right) + list(wrong)
        idx = np.array(sorted(idx), np.int64)
        y_t = yt[idx]
    else:
        k = min(k, 8) if y_true.ndim == 3 else k
        idx = np.arange(min(k, n))
        y_t = y_true[idx].astype(np.float32)
    path = Path(run_dir) / name
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, X=X[idx].astype(np.float32), y_true=y_t, y_pred=y_pred[idx].astype(np.float32), index=idx)
    return path


def load_examples(run_dir: str | os.PathLike, name: str = "examples.npz") -> dict | None:
    """``RUN/examples.npz`` as a dict of arrays, or None when the run has none (older runs)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return None
    from ..io.formats import check_npz_members

    try:
        with np.load(path, allow_pickle=False) as z:
            check_npz_members(z, path)  # a run folder handed over: no decompression bomb (as for .npz recordings)
            d = {key: z[key] for key in z.files}
    except DataFormatError:
        raise
    except Exception as exc:
        raise DataFormatError(f"{path}: unreadable examples file ({exc})") from exc
    for key in ("X", "y_true", "y_pred"):
        if key not in d:
            raise DataFormatError(f"{path}: missing array {key!r} (has {sorted(d)})")
    if len(d["X"]) == 0:
        return None
    return d
