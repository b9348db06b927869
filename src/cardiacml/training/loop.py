"""A plain, readable training loop with early stopping, and the checkpoint format.

Checkpoint (one dict, ``torch.save``):
``{"model": name, "hparams": {...}, "state_dict": ..., "task": ..., "kind": ...,
"contract": {input contract, class or site names}, "config": {resolved TrainConfig},
"norm": {in_mean, in_std, out_mean, out_std}, "history": [...], "metrics": {...},
"cardiacml_version": ...}``
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..models import create_model, count_parameters
from ..utils import progress, seed_everything
from .tasks import KIND, TaskData


@dataclass
class TrainConfig:
    """Training settings (all saved in the checkpoint)."""

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

    def forward(self, x):
        return self.forward_std(x) * self.out_std + self.out_mean


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(device)


def _norm_stats(data: TaskData, model_name: str, hparams: dict):
    kind = data.kind
    if kind == "classification":
        return 0.0, 1.0, 0.0, 1.0
    in_mean = data.X_train.mean(axis=(0, 2), keepdims=True)[0]  # (12, 1)
    in_std = data.X_train.std(axis=(0, 2), keepdims=True)[0] + 1e-6
    if kind == "regression":
        if model_name == "tcn" and hparams.get("out", "vector") == "vector":
            return in_mean, in_std, 0.0, 1.0  # the tcn's soft-argmax head outputs samples directly
        mu = np.nanmean(data.y_train, axis=0)
        sd = np.nanstd(data.y_train, axis=0) + 1e-6
        return in_mean, in_std, np.nan_to_num(mu), np.nan_to_num(sd, nan=1.0)
    return in_mean, in_std, float(data.y_train.mean()), float(data.y_train.std() + 1e-6)


def build_model(data: TaskData, cfg: TrainConfig) -> NormalizedModel:
    hp = dict(cfg.hparams)
    if data.task == "task3":
        hp.setdefault("out", "vector")
    if data.task == "task4":
        hp.setdefault("out", "sequence")
    cfg.hparams = hp
    n_out = len(data.contract["classes"]) if data.kind == "classification" else 75
    net = create_model(cfg.model, data.X_train.shape[1], data.X_train.shape[2], n_out, **hp)
    return NormalizedModel(net, *_norm_stats(data, cfg.model, hp))


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=n_classes).astype(np.float64) + 1.0
    w = 1.0 / (np.sqrt(counts) if mode == "sqrt" else counts)
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def _loss_fn(model: NormalizedModel, kind: str, weights):
    if kind == "classification":
        ce = nn.CrossEntropyLoss(weight=weights)
        return lambda xb, yb: ce(model.forward_std(xb), yb)

    def masked_l1(xb, yb):
        target = (yb - model.out_mean) / model.out_std
        pred = model.forward_std(xb)
        mask = torch.isfinite(target)
        return (pred - torch.nan_to_num(target)).abs()[mask].mean()

    def mse(xb, yb):
        target = (yb - model.out_mean) / model.out_std
        return ((model.forward_std(xb) - target) ** 2).mean()

    return masked_l1 if kind == "regression" else mse


def _augment(xb: torch.Tensor, kind: str, gen: torch.Generator) -> torch.Tensor:
    """Mild, label-preserving augmentation: amplitude scaling and Gaussian noise."""
    scale = 1.0 + 0.1 * (torch.rand(xb.shape[0], 1, 1, generator=gen) - 0.5) * 2
    if kind == "classification":
        return (xb * scale + 0.01 * torch.randn(xb.shape, generator=gen)).clamp_(0.0, 1.5)
    return xb * scale


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
    from .metrics import activation_metrics, classification_metrics, vm_metrics

    X = data.X_test if X is None else X
    y = data.y_test if y is None else y
    out = predict_array(model, X, device=device, kind=data.kind)
    if data.kind == "classification":
        return classification_metrics(y, out.argmax(1), data.contract["classes"]), out
    sites = data.contract["site_names"]
    if data.kind == "regression":
        return activation_metrics(y, out, sites, baseline=np.nanmean(data.y_train, 0)), out
    return vm_metrics(y, out, sites), out


def _score(metrics: dict, kind: str) -> float:
    """Early-stopping score, higher is better."""
    if kind == "classification":
        return metrics["macro_f1"]
    if kind == "regression":
        return -metrics["mae_ms"]
    return -metrics["rmse_mv"]


def fit(data: TaskData, cfg: TrainConfig, out_dir: str | Path | None = None, log=print,
        data_args: dict | None = None) -> tuple[NormalizedModel, dict]:
    """Train a model on ``data`` with early stopping on the validation score.

    Early stopping watches validation macro-F1 (Tasks 1-2), MAE (Task 3) or RMSE
    (Task 4). The best weights are kept. If ``out_dir`` is given, the checkpoint
    (``model.pt``), ``metrics.json`` and ``history.json`` are written there.

    Returns
    -------
    (model, checkpoint dict)
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model = build_model(data, cfg).to(device)
    kind = data.kind
    weights = class_weights(data.y_train, len(data.contract["classes"]), cfg.class_weighting) if kind == "classification" else None
    loss_fn = _loss_fn(model, kind, None if weights is None else weights.to(device))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(data.X_train)
    steps_per_epoch = max(1, (n + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.2)
    X = torch.as_tensor(np.asarray(data.X_train, np.float32))
    Y = torch.as_tensor(data.y_train if kind == "classification" else np.asarray(data.y_train, np.float32))
    gen = torch.Generator().manual_seed(cfg.seed)
    best_score, best_state, best_epoch, history = -np.inf, None, -1, []
    log(f"[{data.task}] {cfg.model}: {count_parameters(model)} parameters, {n} train / {len(data.X_val)} val / "
        f"{len(data.X_test)} test ({data.protocol} split) on {device}")
    t0 = time.time()
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        bar = progress(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False)
        for b in bar:
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            xb, yb = X[idx], Y[idx]
            if cfg.augment:
                xb = _augment(xb, kind, gen)
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        val, _ = evaluate_task(model, data, data.X_val, data.y_val, device=device)
        score = _score(val, kind)
        row = {"epoch": epoch + 1, "train_loss": total / n, "time_s": time.time() - t0,
               **{k: val[k] for k in ("accuracy", "macro_f1", "mae_ms", "rmse_mv", "pearson_r_mean") if k in val}}
        history.append(row)
        log("  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if score > best_score:
            best_score, best_state, best_epoch = score, copy.deepcopy(model.state_dict()), epoch + 1
        elif epoch + 1 - best_epoch >= cfg.patience:
            log(f"  early stop: no validation improvement for {cfg.patience} epochs (best epoch {best_epoch})")
            break
    model.load_state_dict(best_state)
    test_metrics, _ = evaluate_task(model, data, device=device)
    ckpt = {
        "model": cfg.model, "hparams": cfg.hparams, "task": data.task, "kind": kind,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "contract": data.contract, "config": asdict(cfg), "data": {"source": data.source, "protocol": data.protocol},
        "data_args": dict(data_args or {}, task=data.task),
        "n_parameters": count_parameters(model), "best_epoch": best_epoch, "train_time_s": time.time() - t0,
        "history": history, "metrics": {"test": test_metrics}, "cardiacml_version": __version__,
    }
    if out_dir is not None:
        save_run(ckpt, out_dir)
    return model.cpu(), ckpt


def save_run(ckpt: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(ckpt["metrics"], indent=1))
    (out / "history.json").write_text(json.dumps(ckpt["history"], indent=1))
    meta = {k: ckpt.get(k) for k in ("model", "hparams", "task", "kind", "config", "data", "data_args", "n_parameters", "best_epoch",
                                 "train_time_s", "cardiacml_version")}
    (out / "run.json").write_text(json.dumps(meta, indent=1, default=str))
    return out / "model.pt"


def load_checkpoint(path: str | Path, map_location="cpu") -> tuple[NormalizedModel, dict]:
    """Rebuild the model of a checkpoint (or run folder) with its weights; returns (model, checkpoint)."""
    from ..errors import MissingDataError

    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise MissingDataError(f"{path}: no checkpoint (train one with `cardiacml train`)")
    ckpt = torch.load(path, map_location=map_location, weights_only=False)
    c = ckpt["contract"]
    n_out = len(c["classes"]) if ckpt["kind"] == "classification" else 75
    net = create_model(ckpt["model"], c["n_leads"], c["n_samples"], n_out, **ckpt["hparams"])
    sd = ckpt["state_dict"]
    model = NormalizedModel(net, sd["in_mean"], sd["in_std"], sd["out_mean"], sd["out_std"])
    model.load_state_dict(sd)
    return model.eval(), ckpt
