"""Losses of the training loop, by the name a task gives (:attr:`cardiacml.tasks.TaskSpec.loss`), and class weights.

Every loss returns (sum over the batch, its normaliser) so that a distributed run can divide by the
normaliser of the *global* batch (:func:`normaliser`) and follow a one-process run exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import UsageError

#: Names a task may give as its loss.
LOSSES = ("cross_entropy", "masked_l1", "mse", "mse_tv")
#: Class-imbalance handling of the cross-entropy loss.
CLASS_WEIGHTINGS = ("none", "sqrt", "inverse")


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    if mode not in CLASS_WEIGHTINGS:
        raise UsageError(f"class weighting {mode!r} is not one of {', '.join(CLASS_WEIGHTINGS)}")
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=n_classes).astype(np.float64) + 1.0
    w = 1.0 / (np.sqrt(counts) if mode == "sqrt" else counts)
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def loss_fn(model: nn.Module, loss: str, weights, net: nn.Module | None = None):
    """The task's loss on standardised outputs, as (sum over this batch, its normaliser).

    The loop divides the sum by the normaliser of the *global* batch (:func:`normaliser`), so a
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


def normaliser(loss: str, y_train, rows: np.ndarray, weights) -> float:
    """Normaliser of a loss over the whole (global) batch ``rows`` of ``y_train``: weight sum, finite count or size.

    The MSE losses need only the batch's size, so their targets (Vm: 75 x 500 per example) are not read.
    """
    if loss in ("mse", "mse_tv"):
        return float(len(rows) * int(np.prod(y_train.shape[1:])))
    y = np.asarray(y_train[np.sort(rows)])
    if loss == "cross_entropy":
        return float(weights.numpy()[y].sum()) if weights is not None else float(len(y))
    return float(np.isfinite(y).sum())  # masked_l1


