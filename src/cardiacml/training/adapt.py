"""Patient-adaptive beat classification: the AAMI EC57 patient-specific protocol.

A general beat model meets a new patient; a cardiologist labels the first minutes of the recording (or the record's
reference annotations stand in for that), and the model is adapted to this patient before it classifies the rest.
:func:`adapt_model` fine-tunes a copy of the model on the labelled beats with

- class-balanced cross-entropy over the classes the labelled beats show (a few S or V beats among hundreds of N still
  count; a class they do not show is left out of the softmax, so the loss does not teach the model it never occurs), and
- an L2-SP penalty pulling every weight towards its pretrained value (Li, Grandvalet & Davoine 2018, "Explicit
  inductive bias for transfer learning with convolutional networks"): the model keeps what it knows about classes
  the first minutes do not show, instead of forgetting them.

Seeded and deterministic on CPU; a 5-minute adaptation (about 350 beats) takes a few seconds on 2 cores.
Evaluated by ``benchmarks/patient_adaptive.py`` (DS2: adapt on the first 5 minutes, test on the remaining 25).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


def adapt_model(model: nn.Module, X: np.ndarray, y: np.ndarray, n_classes: int, *, epochs: int = 30, lr: float = 1e-3,
                l2sp: float = 0.01, batch_size: int = 64, seed: int = 0) -> nn.Module:
    """A copy of classifier ``model`` fine-tuned on one patient's labelled beats.

    Parameters
    ----------
    model : nn.Module
        A trained classifier returning logits (e.g. the module of a ``beats`` run); not modified.
    X : ndarray, shape (n, 1, L), float32
        The patient's labelled beats, in the model's input contract.
    y : ndarray of int, shape (n,)
        Their classes (0..n_classes-1); others (e.g. -1, unlabelled) are ignored.
    n_classes : int
    epochs, lr, batch_size : training of the copy (Adam)
    l2sp : float
        Weight of the penalty ``sum (w - w_pretrained)^2`` (per parameter element, averaged).
    seed : int

    Returns
    -------
    nn.Module in eval mode (the adapted copy); the input model itself when no labelled beat is given.
    """
    ok = (y >= 0) & (y < n_classes)
    if not ok.any():
        return model
    X, y = np.asarray(X, np.float32)[ok], np.asarray(y, np.int64)[ok]
    gen = torch.Generator().manual_seed(seed)
    net = copy.deepcopy(model).train()
    for m in net.modules():  # batch statistics of a few hundred beats of one patient would replace the population's
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
    ref = [p.detach().clone() for p in net.parameters()]
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    # the loss is over the classes the labelled beats show: a softmax over all of them pushed the others' logits down
    # on every step, and a patient whose first minutes hold no PVC lost V altogether (123: V Se 100 -> 0 %)
    seen = np.flatnonzero(counts > 0)
    remap = np.full(n_classes, -1, np.int64)
    remap[seen] = np.arange(len(seen))
    w = 1.0 / np.sqrt(counts[seen])
    w = w / w[remap[y]].mean()
    loss_fn = nn.CrossEntropyLoss(weight=torch.as_tensor(w, dtype=torch.float32))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(remap[y])
    cols = torch.as_tensor(seen)
    n_el = sum(p.numel() for p in ref)
    # dropout and the model's own augmentation draw from torch's global generator: seeded here, restored after
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(len(yt), generator=gen)
            for i in range(0, len(order), batch_size):
                b = order[i:i + batch_size]
                opt.zero_grad()
                loss = loss_fn(net(Xt[b])[:, cols], yt[b])
                if l2sp:
                    loss = loss + l2sp * sum(((p - r) ** 2).sum() for p, r in zip(net.parameters(), ref)) / n_el * 1000.0
                loss.backward()
                opt.step()
    return net.eval()
