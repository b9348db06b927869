"""A plain, readable training loop with early stopping (:func:`fit`), and batch prediction.

The loop knows no model or task by name: the task's :class:`~cardiacml.tasks.TaskSpec`
gives the loss, the early-stopping score and the metrics; the model's
:class:`~cardiacml.models.ModelSpec` gives its per-task defaults and whether targets
are standardised.

What a run produces (:class:`~cardiacml.training.checkpoint.RunRecord`, run folders, safe loading)
is :mod:`.checkpoint`; the losses are :mod:`.losses`; distributed runs :mod:`.distributed`.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..contracts import check_outputs_finite
from ..errors import DataFormatError, MissingDataError
from ..models import count_parameters, create_model, get_spec
from ..tasks import TaskData
from ..utils import atomic_path, progress, seed_everything, silent
from .checkpoint import NormalizedModel, RunRecord, TrainConfig, TrainingError, safe_load, save_run
from .distributed import autocast_context, global_mean, init_distributed, refuse_batch_share, world_size
from .losses import class_weights, loss_fn, normaliser


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(device)


def _norm_stats(data: TaskData, standardise_targets: bool):
    if data.kind == "classification":
        return 0.0, 1.0, 0.0, 1.0
    from ..datasets.lazy import chunked_mean_std

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
    why = cannot_serve(cfg.model, tspec)
    if why:
        raise TrainingError(why)
    cfg.hparams = {**mspec.defaults.get(data.task, {}), **cfg.hparams}
    net = create_model(cfg.model, contract=data.contract, **cfg.hparams)
    return NormalizedModel(net, *_norm_stats(data, mspec.standardise_targets(cfg.hparams)))


def cannot_serve(model: str, tspec) -> str | None:
    """Why the registered ``model`` cannot serve the task ``tspec`` (with the models that can), or None when it can."""
    if get_spec(model).serves(tspec):
        return None
    return (f"model {model!r} cannot serve {tspec.name} ({tspec.title}); models that can: "
            + ", ".join(_serving_models(tspec)))


def _serving_models(tspec) -> list[str]:
    from ..models import list_models

    return [n for n in list_models() if get_spec(n).serves(tspec)]


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


@torch.no_grad()
def predict_array(model: nn.Module, X: np.ndarray, batch_size: int = 512, device="cpu", kind: str = "classification") -> np.ndarray:
    """Run ``model`` over ``X`` (n, leads, samples) in batches; class probabilities for classifiers, outputs otherwise.

    The model predicts in eval mode on ``device``; its mode (train / eval) and device are given back after (a model
    being trained in a notebook was left in eval mode, a GPU model on the CPU).
    """
    if len(np.shape(X)) != 3:  # a (1, 187) beat went to conv1d as one unbatched input: a shape error deep in PyTorch
        from ..errors import DataFormatError

        raise DataFormatError(f"predict_array takes inputs of shape (n, leads, samples), got {np.shape(X)}"
                              + ("; beats (n, samples) of one lead are X[:, None, :]" if len(np.shape(X)) == 2 else ""))
    was_training = model.training
    first = next(model.parameters(), None)
    was_on = None if first is None else first.device
    try:
        return _predict_batches(model.eval().to(device), X, batch_size, device, kind)
    finally:
        model.train(was_training)
        if was_on is not None and next(model.parameters()).device != was_on:
            model.to(was_on)


def _predict_batches(model: nn.Module, X, batch_size: int, device, kind: str) -> np.ndarray:
    outs = []
    for i in range(0, len(X), batch_size):
        xb = torch.as_tensor(np.asarray(X[i:i + batch_size], np.float32), device=device)
        out = model(xb)
        outs.append((torch.softmax(out, -1) if kind == "classification" else out).cpu().numpy())
    if outs:
        return np.concatenate(outs)
    # no input: an empty array of the output's shape (one zero input shows it), as a batch of n would have
    with torch.no_grad():
        one = model(torch.zeros((1, *np.shape(X)[1:]), dtype=torch.float32, device=device))
    return np.zeros((0, *one.shape[1:]), np.float32)


def evaluate_task(model: nn.Module, data: TaskData, X=None, y=None, device="cpu") -> tuple[dict, np.ndarray]:
    """Metrics of ``model`` on (X, y) (default: the test split); returns (metrics, predictions)."""
    X = data.X_test if X is None else X
    y = np.asarray(data.y_test if y is None else y)  # (memory-mapped rows are read here)
    out = predict_array(model, X, device=device, kind=data.kind)
    check_outputs_finite(out, f"{data.task} evaluation")
    return data.spec.metrics(y, out, data), out


# ------------------------------------------------------------------------------------------ the loop
def epoch_line(row: dict) -> str:
    """The console line of one epoch of the history: metrics to 4 decimals, the elapsed ``time_s`` to the 0.01 s it
    is rounded to (not ``1.4700``)."""
    return "  " + "  ".join(f"{k}={v:.2f}" if k == "time_s" and isinstance(v, float) else
                            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


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

    Notes
    -----
    PyTorch's thread count (``cfg.threads``, else :func:`cardiacml.utils.resolve_threads`'s policy) applies while
    training; the caller's count is given back on return (a notebook's later PyTorch calls kept the training's).
    """
    threads_before = torch.get_num_threads()
    try:
        return _fit(data, cfg, out_dir, log, data_args, checkpoint_dir=checkpoint_dir, resume=resume)
    finally:
        torch.set_num_threads(threads_before)


def _fit(data: TaskData, cfg: TrainConfig, out_dir, log, data_args, *, checkpoint_dir, resume):
    """:func:`fit`'s work, under the training's thread count."""

    from ..utils import resolve_threads

    world = world_size()
    refuse_batch_share(world, cfg.batch_size, f"{world} processes")  # torchrun, or --resume of a run with a smaller batch
    dist_ctx = init_distributed(cfg.device)
    threads = resolve_threads(cfg.threads) if cfg.threads else max(1, resolve_threads(None) // dist_ctx.local_world)
    torch.set_num_threads(threads)
    if not dist_ctx.main:
        log = silent
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
    loss_of = loss_fn(model, spec.loss, None if weights is None else weights.to(device), net)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(data.X_train)
    steps_per_epoch = max(1, (n + cfg.batch_size - 1) // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    # torch's warm-up phase ends at pct_start x total_steps - 1 and divides by it: 0 at 5 steps with 0.2
    pct_start = 0.2 if total_steps != 5 else 0.3
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=pct_start)
    autocast, scaler = autocast_context(device, cfg.amp)
    batches = _Batches(data.X_train, data.y_train, kind == "classification")
    shape = tuple(data.X_train.shape[1:])
    gen = torch.Generator().manual_seed(cfg.seed)
    best_score, best_state, best_epoch, history, start_epoch, t_prev = -np.inf, None, -1, [], 0, 0.0
    before = None  # the process count of the epochs before a resume
    last = Path(checkpoint_dir) / "last.pt" if checkpoint_dir is not None else None
    if resume:
        if last is None or not last.is_file():
            raise MissingDataError(f"nothing to resume: {last} not found")
        st = safe_load(last)
        try:  # another run's (or model's) epoch checkpoint: one line, not load_state_dict's traceback
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
            torch.set_rng_state(st["rng"]["torch"])
            gen.set_state(st["rng"]["gen"])
            best_score, best_epoch, history = st["best_score"], st["best_epoch"], st["history"]
            best_state, start_epoch, t_prev = st["best_state"], int(st["epoch"]), float(st["elapsed_s"])
            before = st.get("processes")  # absent before 0.4.18
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            why = (f"no {exc}" if isinstance(exc, KeyError) else "its weights do not fit the model" if "state_dict" in str(exc)
                   else (str(exc).strip().splitlines() or [type(exc).__name__])[0])
            raise DataFormatError(f"{last}: not an epoch checkpoint of this run ({cfg.task} with {cfg.model}: {why}); "
                                  "it cannot be resumed: start the run again without --resume") from None
        log(f"  resuming after epoch {start_epoch} (best epoch {best_epoch})")
        if before is not None and before != dist_ctx.world:  # said at resume time, not only in README
            log(f"note: this run was started with {before} process{'es' if before > 1 else ''} and is resumed with "
                f"{dist_ctx.world}: batch statistics (BatchNorm) and dropout differ with the process count, so the "
                f"model may differ from an uninterrupted run; resume with --nproc {before} to continue it exactly")
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
        # the loader draws its workers' base seed from its own generator: from the global one it would shift the
        # dropout masks by when the progress wrapper happens to start the iteration (a log-line progress and tqdm gave
        # different weights from the same seed)
        loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=cfg.workers,
                                             pin_memory=device.type == "cuda",
                                             generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
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
                loss_sum, local_norm = loss_of(xb, yb)
            if dist_ctx.world > 1:  # normalise by the whole batch's weight sum / element count
                norm = normaliser(spec.loss, data.y_train, global_batches[b], weights)
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
        row = {"epoch": epoch + 1, "train_loss": global_mean(total, total_norm, dist_ctx), "time_s": round(time.time() - t0, 2),
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
                            "elapsed_s": time.time() - t0, "config": asdict(cfg), "processes": dist_ctx.world}, tmp)
        log(epoch_line(row))
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
    if dist_ctx.world > 1 or before not in (None, dist_ctx.world):
        record.card["distributed"] = {"processes": dist_ctx.world}
        if before not in (None, dist_ctx.world):
            record.card["distributed"]["before_resume"] = {"processes": before, "epochs": start_epoch}
    if out_dir is not None and dist_ctx.main:
        save_run(record, out_dir)
    return model.eval(), record
