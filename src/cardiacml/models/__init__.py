"""Model registry. Every model is built as ``create_model(name, n_leads, n_times, n_outputs, **hparams)``.

Input is always a float tensor of shape (batch, n_leads, n_times). Output:

* classifiers (``kind="classification"``): logits (batch, n_outputs);
* ``out="vector"`` regressors: (batch, n_outputs), e.g. 75 activation times;
* ``out="sequence"`` regressors: (batch, n_outputs, n_times), e.g. 75 x 500 Vm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_REGISTRY: dict = {}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable
    kind: str  # "classification" or "regression"
    outputs: tuple  # supported output forms: "vector" and/or "sequence"
    description: str


def register_model(name: str, kind: str, outputs=("vector",), description: str = ""):
    """Decorator adding a model class or factory to the registry."""

    def deco(builder):
        _REGISTRY[name] = ModelSpec(name, builder, kind, tuple(outputs), description or (builder.__doc__ or "").strip().split("\n")[0])
        return builder

    return deco


def _load_all():
    from . import beat, ecg2heart, rhythm  # noqa: F401  (registers the models)


def list_models(kind: str | None = None) -> list[str]:
    """Names of registered models (optionally only ``"classification"`` or ``"regression"`` ones)."""
    _load_all()
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)


def get_spec(name: str) -> ModelSpec:
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_model(name: str, n_leads: int, n_times: int, n_outputs: int, **hparams):
    """Build a registered model.

    Parameters
    ----------
    name : str
        Registry name (see :func:`list_models`).
    n_leads : int
        Input channels (1 for a single-lead beat, 12 for a 12-lead ECG).
    n_times : int
        Input samples (187 for beats at 125 Hz, 500 for the 12-lead ECG at 1 kHz).
    n_outputs : int
        Classes, or regression targets per time step (75 sites).
    **hparams
        Model-specific options (e.g. ``out="sequence"``, ``width=64``).
    """
    return get_spec(name).builder(n_leads=n_leads, n_times=n_times, n_outputs=n_outputs, **hparams)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
