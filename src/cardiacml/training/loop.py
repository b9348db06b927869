"""A plain, readable training loop with early stopping, and the run record it produces.

The loop knows no model or task by name: the task's :class:`~cardiacml.tasks.TaskSpec`
gives the loss, the early-stopping score and the metrics; the model's
:class:`~cardiacml.models.ModelSpec` gives its per-task defaults and whether targets
are standardised.

Checkpoints (``model.pt``) hold only tensors and plain data (numbers, strings, lists,
dicts) and are always loaded with ``torch.load(..., weights_only=True)``: a file that
carries anything else is refused, never unpickled. A :class:`RunRecord` is the typed
form of a checkpoint.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..data.contracts import SignalContract, check_outputs_finite
from ..errors import CardiacMLError, DataFormatError, MissingDataError
from ..models import count_parameters, create_model, get_spec
from ..tasks import TaskData, get_task
from ..utils import atomic_path, progress, seed_everything

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
    path: Path | None = None
    module: nn.Module | None = field(default=None, repr=False, compare=False)
    test_prediction: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def spec(self):
        return get_task(self.task)

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
        }

    @classmethod
    def from_checkpoint(cls, ck: dict, path: Path | None = None) -> "RunRecord":
        """Read a checkpoint dict (format 2, or version 0.1's)."""
        try:
            return cls(model=ck["model"], hparams=dict(ck.get("hparams") or {}), task=ck["task"],
                       contract=SignalContract.from_dict(ck["contract"]), config=TrainConfig.from_dict(ck.get("config") or {}),
                       state_dict=ck["state_dict"], data=dict(ck.get("data") or {}), data_args=dict(ck.get("data_args") or {}),
                       n_parameters=int(ck.get("n_parameters", 0)), best_epoch=int(ck.get("best_epoch", -1)),
                       train_time_s=float(ck.get("train_time_s", 0.0)), history=list(ck.get("history") or []),
                       metrics=dict(ck.get("metrics") or {}), cardiacml_version=str(ck.get("cardiacml_version", "?")),
                       card=dict(ck.get("card") or {}), path=path)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path or 'checkpoint'}: not a cardiacml checkpoint (missing or malformed {exc})") from exc

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
        net = create_model(self.model, contract=self.contract, **self.hparams)
        sd = self.state_dict
        model = NormalizedModel(net, sd["in_mean"], sd["in_std"], sd["out_mean"], sd["out_std"])
        try:
            model.load_state_dict(sd)
        except RuntimeError as exc:
            raise DataFormatError(f"{self.path or 'checkpoint'}: weights do not fit model {self.model!r} "
                                  f"({str(exc).splitlines()[0]})") from exc
        return model.eval()


# ------------------------------------------------------------------------------------------ building
def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(device)


def _norm_stats(data: TaskData, standardise_targets: bool):
    if data.kind == "classification":
        return 0.0, 1.0, 0.0, 1.0
    from ..data.lazy import chunked_mean_std

    in_mean, in_std = chunked_mean_std(data.X_train)  # (leads, 1), read in chunks (memory-mapped data)
    in_std = in_std + 1e-6
    if not standardise_targets:
        return in_mean, in_std, 0.0, 1.0
    if data.kind == "regression":
        y = np.asarray(data.y_train)
        mu = np.nanmean(y, axis=0)
        sd = np.nanstd(y, axis=0) + 1e-6
        return in_mean, in_std, np.nan_to_num(mu), np.nan_to_num(sd, nan=1.0)
    m, sd = chunked_mean_std(data.y_train)
    return in_mean, in_std, float(m.mean()), float(np.sqrt((sd ** 2 + (m - m.mean()) ** 2).mean())) + 1e-6


def build_model(data: TaskData, cfg: TrainConfig) -> NormalizedModel:
    """The model of ``cfg`` for ``data``: the model's per-task defaults under the user's hparams (resolved into ``cfg``)."""
    mspec, tspec = get_spec(cfg.model), data.spec
    if not mspec.serves(tspec):
        raise TrainingError(f"model {cfg.model!r} cannot serve {data.task} ({tspec.title}); models that can: "
                            + ", ".join(n for n in _serving_models(tspec)))
    cfg.hparams = {**mspec.defaults.get(data.task, {}), **cfg.hparams}
    net = create_model(cfg.model, contract=data.contract, **cfg.hparams)
    return NormalizedModel(net, *_norm_stats(data, mspec.standardise_targets(cfg.hparams)))


def _serving_models(tspec) -> list[str]:
    from ..models import list_models

    return [n for n in list_models() if get_spec(n).serves(tspec)]


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=n_classes).astype(np.float64) + 1.0
    w = 1.0 / (np.sqrt(counts) if mode == "sqrt" else counts)
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def _loss_fn(model: NormalizedModel, loss: str, weights, net: nn.Module | None = None):
    """The task's loss on standardised outputs, as (sum over this batch, its normaliser).

    The loop divides the sum by the normaliser of the *global* batch (:func:`_normaliser`), so a
    distributed run's all-reduced gradient equals one process's gradient on the whole batch.
    ``net`` is the (possibly DDP-wrapped) module to call.
    """
    net = net or model

    if loss == "cross_entropy":
        ce = nn.CrossEntropyLoss(weight=weights, reduction="sum")

        def cross_entropy(xb, yb):
            return ce(net(xb, standardised=True).float(), yb), (weights[yb].sum() if weights is not None else len(yb))

        return cross_entropy

    def masked_l1(xb, yb):
        target = (yb - model.out_mean) / model.out_std
        pred = net(xb, standardised=True).float()
        mask = torch.isfinite(target)
        return (pred - torch.nan_to_num(target)).abs()[mask].sum(), mask.sum()

    def mse(xb, yb):
        target = (yb - model.out_mean) / model.out_std
        return ((net(xb, standardised=True).float() - target) ** 2).sum(), target.numel()

    def mse_tv(xb, yb):
        """MSE plus a penalty on total variation beyond the truth's (ringing), both per element."""
        target = (yb - model.out_mean) / model.out_std
        pred = net(xb, standardised=True).float()
        excess = torch.relu(pred.diff(dim=-1).abs() - target.diff(dim=-1).abs())
        return ((pred - target) ** 2).sum() + TV_WEIGHT * excess.sum() * target.shape[-1] / (target.shape[-1] - 1), \
            target.numel()

    return {"masked_l1": masked_l1, "mse": mse, "mse_tv": mse_tv}[loss]


#: Weight of the excess-total-variation penalty of the ``mse_tv`` loss (Task 4), in target units.
TV_WEIGHT = 1.0


def _normaliser(loss: str, y_train, rows: np.ndarray, weights) -> float:
    """Normaliser of a loss over the whole (global) batch ``rows`` of ``y_train``: weight sum, finite count or size.

    The MSE losses need only the batch's size, so their targets (Vm: 75 x 500 per example) are not read.
    """
    if loss in ("mse", "mse_tv"):
        return float(len(rows) * int(np.prod(y_train.shape[1:])))
    y = np.asarray(y_train[np.sort(rows)])
    if loss == "cross_entropy":
        return float(weights.numpy()[y].sum()) if weights is not None else float(len(y))
    return float(np.isfinite(y).sum())  # masked_l1


def _augmentation(n: int, shape: tuple, kind: str, gen: torch.Generator):
    """Random draws of a mild, label-preserving augmentation for a batch of ``n``: (amplitude scale, noise or None).

    ``kind`` is the task's :attr:`~cardiacml.tasks.TaskSpec.augmentation`: ``"beat"`` or ``"scale"``.

    Drawn for the whole global batch, so that each process of a distributed run can take its slice
    and the run augments exactly as one process would.
    """
    scale = 1.0 + 0.1 * (torch.rand(n, 1, 1, generator=gen) - 0.5) * 2
    noise = 0.01 * torch.randn((n, *shape), generator=gen) if kind == "beat" else None
    return scale, noise


def _apply_augmentation(xb: torch.Tensor, kind: str, scale, noise) -> torch.Tensor:
    if kind == "beat":
        return (xb * scale + noise).clamp_(0.0, 1.5)
    return xb * scale


class _Batches(torch.utils.data.Dataset):
    """Batch ``b`` of the current epoch, read from in-memory or memory-mapped arrays (DataLoader workers may call it)."""

    def __init__(self, X, Y, classification: bool):
        self.X, self.Y, self.cls = X, Y, classification
        self.batches: list = []

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, b):
        idx = self.batches[b]
        x = torch.from_numpy(np.ascontiguousarray(self.X[idx], np.float32))
        y = np.asarray(self.Y[idx])
        y = torch.from_numpy(y.astype(np.int64) if self.cls else np.ascontiguousarray(y, np.float32))
        return x, y


@dataclass
class DistContext:
    """This process's place in a distributed run (``torchrun`` sets WORLD_SIZE, RANK, LOCAL_RANK)."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistContext:
    """Join the process group when started by ``torchrun`` (gloo on CPU, NCCL on CUDA); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device != "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    ctx = DistContext(world, int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")),
                      int(os.environ.get("LOCAL_WORLD_SIZE", str(world))))
    if use_cuda:
        torch.cuda.set_device(ctx.local_rank)
    return ctx


def _autocast(device: torch.device, amp: str):
    """bf16 / fp16 autocast on CUDA; a no-op context on CPU or with amp="off". Returns (context, GradScaler or None)."""
    import contextlib

    if device.type != "cuda" or amp == "off":
        return contextlib.nullcontext(), None
    dtype = torch.float16 if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()) else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


@torch.no_grad()
def predict_array(model: nn.Module, X: np.ndarray, batch_size: int = 512, device="cpu", kind: str = "classification") -> np.ndarray:
    """Run ``model`` over ``X`` in batches; class probabilities for classifiers, outputs otherwise."""
    model.eval().to(device)
    outs = []
    for i in range(0, len(X), batch_size):
        xb = torch.as_tensor(np.asarray(X[i:i + batch_size], np.float32), device=device)
        out = model(xb)
        outs.append((torch.softmax(out, -1) if kind == "classification" else out).cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate_task(model: nn.Module, data: TaskData, X=None, y=None, device="cpu") -> tuple[dict, np.ndarray]:
    """Metrics of ``model`` on (X, y) (default: the test split); returns (metrics, predictions)."""
    X = data.X_test if X is None else X
    y = np.asarray(data.y_test if y is None else y)  # (memory-mapped rows are read here)
    out = predict_array(model, X, device=device, kind=data.kind)
    check_outputs_finite(out, f"{data.task} evaluation")
    return data.spec.metrics(y, out, data), out


# ------------------------------------------------------------------------------------------ the loop
def _rng_state(gen: torch.Generator) -> dict:
    return {"torch": torch.get_rng_state(), "gen": gen.get_state()}


def fit(data: TaskData, cfg: TrainConfig, out_dir: str | Path | None = None, log=print, data_args: dict | None = None,
        *, checkpoint_dir: str | Path | None = None, resume: bool = False) -> tuple[NormalizedModel, RunRecord]:
    """Train a model on ``data`` with early stopping on the task's validation score.

    Parameters
    ----------
    data : TaskData
    cfg : TrainConfig
    out_dir : path, optional
        Write the run (``model.pt``, ``metrics.json``, ``history.json``, ``run.json``) here,
        replacing any previous run there whole (atomic).
    checkpoint_dir : path, optional
        Keep ``last.pt`` (weights, optimiser, schedule, random state, history) here after
        every epoch, atomically; with ``resume=True`` training continues from it.
    data_args : dict
        How ``data`` was loaded (saved so that ``evaluate`` can reload it).

    Returns
    -------
    (model, RunRecord)
        The best model (by validation score) and its record; ``record.test_prediction``
        holds the test-split predictions.

    Raises
    ------
    TrainingError
        The loss became NaN or infinite (nothing is saved), or the model cannot serve the task.
    """
    from ..utils import resolve_threads

    dist_ctx = init_distributed(cfg.device)
    threads = resolve_threads(cfg.threads) if cfg.threads else max(1, resolve_threads(None) // dist_ctx.local_world)
    torch.set_num_threads(threads)
    if not dist_ctx.main:
        log = _quiet
    seed_everything(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    if device.type == "cuda" and dist_ctx.world > 1:
        device = torch.device("cuda", dist_ctx.local_rank)
    spec = data.spec
    model = build_model(data, cfg).to(device)
    net = model
    if dist_ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    kind = spec.kind
    weights = class_weights(np.asarray(data.y_train), len(data.contract.target_names), cfg.class_weighting) \
        if kind == "classification" else None
    loss_fn = _loss_fn(model, spec.loss, None if weights is None else weights.to(device), net)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(data.X_train)
    steps_per_epoch = max(1, (n + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.2)
    autocast, scaler = _autocast(device, cfg.amp)
    batches = _Batches(data.X_train, data.y_train, kind == "classification")
    shape = tuple(data.X_train.shape[1:])
    gen = torch.Generator().manual_seed(cfg.seed)
    best_score, best_state, best_epoch, history, start_epoch, t_prev = -np.inf, None, -1, [], 0, 0.0
    last = Path(checkpoint_dir) / "last.pt" if checkpoint_dir is not None else None
    if resume:
        if last is None or not last.is_file():
            raise MissingDataError(f"nothing to resume: {last} not found")
        st = _safe_load(last)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        torch.set_rng_state(st["rng"]["torch"])
        gen.set_state(st["rng"]["gen"])
        best_score, best_epoch, history = st["best_score"], st["best_epoch"], st["history"]
        best_state, start_epoch, t_prev = st["best_state"], st["epoch"], st["elapsed_s"]
        log(f"  resuming after epoch {start_epoch} (best epoch {best_epoch})")
    where = f"{device}, {threads} thread(s)" + (f", {dist_ctx.world} processes" if dist_ctx.world > 1 else "")
    log(f"[{data.task}] {cfg.model}: {count_parameters(model)} parameters, {n} train / {len(data.X_val)} val / "
        f"{len(data.X_test)} test ({data.protocol} split) on {where}")
    t0 = time.time() - t_prev
    stopped_early = bool(history) and start_epoch - best_epoch >= cfg.patience
    for epoch in range(start_epoch, cfg.epochs):
        if stopped_early:
            break
        model.train()
        perm = torch.randperm(n, generator=gen).numpy()
        global_batches = [perm[b * cfg.batch_size:(b + 1) * cfg.batch_size] for b in range(steps_per_epoch)]
        batches.batches = [gb[dist_ctx.rank::dist_ctx.world] for gb in global_batches]
        loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=cfg.workers,
                                             pin_memory=device.type == "cuda")
        total, total_norm = 0.0, 0.0
        bar = progress(loader, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False)
        for b, (xb, yb) in enumerate(bar):
            n_global = len(global_batches[b])
            aug = _augmentation(n_global, shape, spec.augmentation, gen) if cfg.augment and spec.augmentation != "none" else None
            if n_global < dist_ctx.world:
                continue  # every process skips a last batch too small to share
            if aug is not None:
                sl = slice(dist_ctx.rank, None, dist_ctx.world)
                xb = _apply_augmentation(xb, spec.augmentation, aug[0][sl], None if aug[1] is None else aug[1][sl])
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with autocast:
                loss_sum, local_norm = loss_fn(xb, yb)
            if dist_ctx.world > 1:  # normalise by the whole batch's weight sum / element count
                norm = _normaliser(spec.loss, data.y_train, global_batches[b], weights)
            else:
                norm = float(local_norm)
            loss = loss_sum / max(float(local_norm), 1e-12)
            if not torch.isfinite(loss_sum):
                raise TrainingError(
                    f"training diverged: the loss is {loss.item()} at epoch {epoch + 1}, batch {b + 1}; nothing was saved. "
                    "Check the inputs (values and units), or lower --lr.")
            scaled = loss_sum * (dist_ctx.world / max(norm, 1e-12))  # DDP averages over processes: global batch mean
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(scaled).backward()
                scaler.step(opt)
                scaler.update()
            else:
                scaled.backward()
                opt.step()
            sched.step()
            total += float(loss_sum.item())
            total_norm += float(local_norm)
            if dist_ctx.main:
                bar.set_postfix(loss=f"{loss.item():.4f}")
        bar.close()
        val, _ = evaluate_task(model, data, data.X_val, data.y_val, device=device)
        score = spec.score(val)
        row = {"epoch": epoch + 1, "train_loss": _global_mean(total, total_norm, dist_ctx), "time_s": round(time.time() - t0, 2),
               **{k: val[k] for k in spec.history_keys}}
        history.append(row)
        if score > best_score:
            best_score, best_state, best_epoch = score, copy.deepcopy(model.state_dict()), epoch + 1
        elif epoch + 1 - best_epoch >= cfg.patience:
            stopped_early = True
        if last is not None and dist_ctx.main:
            with atomic_path(last) as tmp:
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                            "rng": _rng_state(gen), "best_score": float(best_score), "best_epoch": best_epoch,
                            "best_state": best_state, "history": history, "epoch": epoch + 1,
                            "elapsed_s": time.time() - t0, "config": asdict(cfg)}, tmp)
        log("  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if stopped_early:
            log(f"  early stop: no validation improvement for {cfg.patience} epochs (best epoch {best_epoch})")
    model.load_state_dict(best_state)
    test_metrics, test_pred = evaluate_task(model, data, device=device)
    record = RunRecord(
        model=cfg.model, hparams=dict(cfg.hparams), task=data.task, contract=data.contract, config=cfg,
        state_dict={k: v.cpu() for k, v in model.state_dict().items()},
        data={"source": data.source, "protocol": data.protocol, "note": spec.note(data)},
        data_args=dict(data_args or {}, task=data.task), n_parameters=count_parameters(model), best_epoch=best_epoch,
        train_time_s=time.time() - t0, history=history, metrics={"test": test_metrics},
        module=model.cpu(), test_prediction=test_pred)
    if dist_ctx.world > 1:
        record.card["distributed"] = {"processes": dist_ctx.world}
    if out_dir is not None and dist_ctx.main:
        save_run(record, out_dir)
    return model, record


def _quiet(*_a, **_k):
    pass


def _global_mean(total: float, norm: float, ctx: DistContext) -> float:
    """Epoch training loss: the loss summed over every process's examples over the summed normalisers."""
    if ctx.world > 1:
        import torch.distributed as dist

        t = torch.tensor([total, norm], dtype=torch.float64)
        dist.all_reduce(t)
        total, norm = float(t[0]), float(t[1])
    return total / max(norm, 1e-12)


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


def _safe_load(path: Path) -> dict:
    """``torch.load(weights_only=True)``: tensors and plain data only; anything else is refused, never run."""
    import pickle

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
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
    p = Path(ref)
    if p.is_dir():
        p = p / "model.pt"
        if not p.is_file():
            raise MissingDataError(f"{p}: no checkpoint in this folder (train one with `cardiacml train`)")
        return p
    if p.is_file():
        return p
    try:
        from ..pretrained import list_pretrained, pretrained_path

        if str(ref) in list_pretrained():
            return pretrained_path(str(ref))
        names = ", ".join(list_pretrained()) or "none installed"
    except ImportError:
        names = "none installed"
    raise MissingDataError(f"{ref}: no such run folder, checkpoint or pretrained model (pretrained: {names})")


def load_run(ref: str | os.PathLike) -> tuple[NormalizedModel, RunRecord]:
    """Model and record of a run folder, a ``model.pt``, or a pretrained model's name."""
    path = resolve_checkpoint(ref)
    record = RunRecord.from_checkpoint(_safe_load(path), path)
    card = path.with_suffix(".json")
    if path.parent.name == "pretrained":
        record.card.setdefault("pretrained", path.stem)
        if card.is_file():
            try:
                record.card = {**json.loads(card.read_text()), **record.card}
            except ValueError:
                pass
    return record.build_model(), record


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> tuple[NormalizedModel, dict]:
    """Model and checkpoint dict of a run folder, checkpoint or pretrained name (see :func:`load_run`)."""
    model, record = load_run(path)
    return model, record.to_checkpoint()
