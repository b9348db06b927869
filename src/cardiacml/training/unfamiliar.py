"""How far an input lies from what a model was trained on: the unfamiliarity score of a prediction.

A model trained on simulated hearts answers any 12-lead ECG confidently, also one unlike every training input. The
score is the Mahalanobis distance of the input's features (the network's ``embed``: e.g. the tcn's last block
averaged over time) from the training inputs' features (mean and a Ledoit-Wolf shrunk covariance), a standard
feature-space out-of-distribution detector (Lee et al. 2018, "A simple unified framework for detecting
out-of-distribution samples"). It is calibrated on the validation split, which the model never trained on: the
warning threshold is its :data:`QUANTILE` quantile, so on held-out simulated inputs it fires about
``1 - QUANTILE`` of the time (the test split's rate is measured and stored with the model). The percentile of a
score among the validation scores is reported too ("higher than 99 % of simulated test-like hearts").

Everything is plain data (lists of floats) stored in the checkpoint: nothing to unpickle.
"""

from __future__ import annotations

import numpy as np
import torch

#: Quantile of the validation scores used as the warning threshold.
QUANTILE = 0.98
#: At most this many training rows are embedded for the fit; validation scores kept for percentiles.
MAX_FIT_ROWS = 6000
KEEP_VAL = 400


@torch.no_grad()
def embeddings(model, X, batch_size: int = 256) -> np.ndarray:
    """Features (n, d) of inputs ``X`` (n, leads, T) from ``model.embed``."""
    model.eval()
    out = []
    for i in range(0, len(X), batch_size):
        xb = torch.as_tensor(np.asarray(X[i:i + batch_size], np.float32))
        out.append(model.embed(xb).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def has_embedding(model) -> bool:
    return hasattr(getattr(model, "net", model), "embed")


def fit_unfamiliarity(model, X_train, X_val, seed: int = 0) -> dict:
    """Fit the score on training inputs and calibrate its threshold on validation inputs; returns plain data."""
    from sklearn.covariance import LedoitWolf

    rng = np.random.default_rng(seed)
    rows = np.arange(len(X_train))
    if len(rows) > MAX_FIT_ROWS:
        rows = np.sort(rng.choice(rows, MAX_FIT_ROWS, replace=False))
    E = embeddings(model, X_train[rows] if not isinstance(X_train, np.ndarray) else X_train[rows])
    lw = LedoitWolf().fit(E)
    state = {"mean": lw.location_.tolist(), "precision": lw.precision_.tolist()}
    val = _distance(embeddings(model, X_val), state)
    thr = float(np.quantile(val, QUANTILE))
    keep = np.sort(val)[np.linspace(0, len(val) - 1, min(KEEP_VAL, len(val))).astype(int)]
    return {**state, "threshold": thr, "quantile": QUANTILE, "validation_scores": keep.tolist(), "dim": int(E.shape[1]),
            "fitted_on": f"{len(rows)} training inputs; threshold = the {100 * QUANTILE:g}th percentile of "
                         f"{len(val)} validation inputs",
            "what": "Mahalanobis distance of the input's features (model embedding) from the training inputs'"}


def _distance(E: np.ndarray, state: dict) -> np.ndarray:
    d = E - np.asarray(state["mean"])[None, :]
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, np.asarray(state["precision"]), d), 0.0))


def check_state(state: dict, where) -> None:
    """Refuse (DataFormatError naming ``where``) a stored score that is not :func:`fit_unfamiliarity`'s plain data:
    a mean vector, a square precision matrix of its size, finite numbers, a threshold and validation scores."""
    import math

    from ..errors import DataFormatError

    def bad(why):
        return DataFormatError(f"{where}: the model's unfamiliarity data is malformed ({why}); not a checkpoint "
                               "written by `cardiacml train`")

    if not isinstance(state, dict):
        raise bad(f"a {type(state).__name__}, not a mapping")
    arrays = {}
    for key, ndim in (("mean", 1), ("precision", 2), ("validation_scores", 1)):
        try:
            a = np.asarray(state.get(key), dtype=np.float64)
        except (TypeError, ValueError):
            raise bad(f"{key!r} is not numbers") from None
        if a.ndim != ndim or a.size == 0 or not np.isfinite(a).all():
            raise bad(f"{key!r} is not a non-empty {ndim}-d array of finite numbers")
        arrays[key] = a
    d = len(arrays["mean"])
    if arrays["precision"].shape != (d, d):
        raise bad(f"'precision' is {arrays['precision'].shape}, not ({d}, {d}) as 'mean'")
    thr = state.get("threshold")
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr):
        raise bad(f"'threshold' {thr!r} is not a finite number")


def unfamiliarity(model, X, state: dict) -> dict:
    """Score of inputs ``X``: ``score`` (n,), ``percentile`` (n,) among validation inputs, ``unfamiliar`` (n,) bool,
    and the ``threshold``."""
    E = embeddings(model, X)
    if E.ndim != 2 or (len(E) and E.shape[1] != len(state["mean"])):
        from ..errors import DataFormatError

        raise DataFormatError(f"the model's unfamiliarity data has {len(state['mean'])} features, its network "
                              f"{E.shape[1:]}; not a checkpoint written by `cardiacml train`")
    s = _distance(E, state)
    val = np.asarray(state["validation_scores"])
    pct = 100.0 * np.searchsorted(val, s, side="right") / max(len(val), 1)
    return {"score": s, "percentile": pct, "unfamiliar": s > state["threshold"], "threshold": float(state["threshold"])}
