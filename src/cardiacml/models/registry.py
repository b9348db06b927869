"""Model registry (a leaf: the model modules import :func:`register_model` from here).

Every model is built as ``create_model(name, n_leads, n_times, n_outputs, **hparams)``.

Input is always a float tensor of shape (batch, n_leads, n_times). Output:

* classifiers (``kind="classification"``): logits (batch, n_outputs);
* ``out="vector"`` regressors: (batch, n_outputs), e.g. 75 activation times;
* ``out="sequence"`` regressors: (batch, n_outputs, n_times), e.g. 75 x 500 Vm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import UsageError

_REGISTRY: dict = {}


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model.

    Attributes
    ----------
    name : str
    builder : callable
        ``builder(n_leads=, n_times=, n_outputs=, **hparams) -> nn.Module``.
    kind : str
        ``"classification"`` (logits) or ``"regression"`` (``out="vector"`` or ``"sequence"``).
    outputs : tuple of str
        Output forms a regressor supports: ``"vector"`` (batch, n_outputs) and/or
        ``"sequence"`` (batch, n_outputs, n_times).
    description : str
    accepts : tuple of str
        Input contract kinds it is built for (``"beat"``, ``"ecg12"``...; see
        :class:`cardiacml.contracts.SignalContract`).
    defaults : dict
        Hyper-parameters per task name, applied before the user's (``{"task3": {"out": "vector"}}``).
    raw_vector_output : bool
        True when the model's ``out="vector"`` output is already in target units (e.g. a
        soft-argmax over time gives samples), so targets are not standardised for it.
    reference : str
        Where the architecture comes from (paper / code), shown by ``cardiacml models``.
    params : dict
        Trainable parameters per task with the default options (``{"task2": 55013}``): listed by
        ``cardiacml models`` without building the model; a conformance test keeps them true.
    """

    name: str
    builder: Callable
    kind: str  # "classification" or "regression"
    outputs: tuple  # supported output forms: "vector" and/or "sequence"
    description: str
    accepts: tuple = ()
    defaults: dict = field(default_factory=dict)
    raw_vector_output: bool = False
    reference: str = ""
    params: dict = field(default_factory=dict)

    def tasks(self) -> list[str]:
        """Registered tasks this model can serve (matching kind, output form and input contract)."""
        from ..tasks import get_task, list_tasks

        return [t for t in list_tasks() if self.serves(get_task(t))]

    def serves(self, spec) -> bool:
        """Whether this model can serve the task ``spec`` (see :meth:`cardiacml.tasks.TaskSpec.serves`)."""
        return spec.serves(self.kind, self.outputs, self.accepts)

    def standardise_targets(self, hparams: dict) -> bool:
        """Whether regression targets are standardised (mean/std of the training set) for this model.

        Not when the output is already in target units: a ``raw_vector_output`` model's vector output,
        or any output mapped into physical ``bounds``.
        """
        if hparams.get("bounds") is not None:
            return False
        return not (self.raw_vector_output and hparams.get("out", "vector") == "vector")


def register_model(name: str, kind: str, outputs=("vector",), description: str = "", *, accepts=(), defaults=None,
                   raw_vector_output: bool = False, reference: str = "", params=None):
    """Decorator adding a model class or factory to the registry (see :class:`ModelSpec` for the fields).

    Keep the arguments literal (strings, numbers, tuples, dicts): :func:`cardiacml.catalog.model_catalog`
    reads them from the source without importing PyTorch.
    """

    def deco(builder):
        _REGISTRY[name] = ModelSpec(name, builder, kind, tuple(outputs),
                                    description or (builder.__doc__ or "").strip().split("\n")[0],
                                    tuple(accepts), dict(defaults or {}), raw_vector_output, reference, dict(params or {}))
        return builder

    return deco


def list_models(kind: str | None = None) -> list[str]:
    """Names of registered models (optionally only ``"classification"`` or ``"regression"`` ones)."""
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)


def get_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise UsageError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def check_hparams(name: str, hparams: dict) -> None:
    """Refuse, before any data is loaded, a ``--hparam`` the model does not take or of the wrong type.

    A value must be of the type of the option's default (an int or float default takes a number; a bool
    default true/false); options without a default accept anything the model accepts.
    """
    import inspect

    spec = get_spec(name)
    params = {n: p for n, p in inspect.signature(spec.builder).parameters.items()
              if n not in ("n_leads", "n_times", "n_outputs", "self")}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for k, v in hparams.items():
        if k not in params:
            if takes_any:
                continue
            raise UsageError(f"--hparam {k}={v!r}: model {name!r} has no option {k!r} (its options: "
                             f"{', '.join(n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD)})")
        d = params[k].default
        if d is inspect.Parameter.empty or d is None:
            continue
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if isinstance(d, bool):
            ok = isinstance(v, bool)
        elif isinstance(d, int):
            ok = number and float(v) == int(v)
        elif isinstance(d, float):
            ok = number and v == v and abs(v) != float("inf")
        elif isinstance(d, (tuple, list)):  # JSON (--hparam, run.json) gives a list for a tuple default (widths)
            ok = isinstance(v, (tuple, list))
        else:
            ok = isinstance(v, type(d))
        if not ok:
            raise UsageError(f"--hparam {k}={v!r}: model {name!r} expects {type(d).__name__} for {k!r} (default {d!r})")
        if isinstance(d, int) and not isinstance(d, bool) and d >= 1 and v < 1:  # a size (width, depth, kernel...)
            raise UsageError(f"--hparam {k}={v!r}: model {name!r} needs {k} >= 1 (default {d!r})")


def create_model(name: str, n_leads: int | None = None, n_times: int | None = None, n_outputs: int | None = None, *,
                 contract=None, task: str | None = None, **hparams):
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
    contract : SignalContract or dict, optional
        Input contract; when given, it is checked against the model's ``accepts``
        (a clear UsageError on mismatch) and supplies n_leads / n_times / n_outputs (its target names; the 75 heart
        sites for a 12-lead contract that names none, as :data:`cardiacml.contracts.ecg12.ECG12`).
    task : str, optional
        Task name; the model's defaults for that task are applied first.
    **hparams
        Model-specific options (e.g. ``out="sequence"``, ``width=64``).
    """
    spec = get_spec(name)
    if task is not None:
        from ..tasks import list_tasks

        if task not in list_tasks():
            raise UsageError(f"create_model: unknown task {task!r} (tasks: {', '.join(list_tasks())})")
    check_hparams(name, hparams)  # an unknown option, a wrong type, a size < 1: one line, as train refuses them
    if contract is not None:
        from ..contracts import SignalContract

        c = SignalContract.from_dict(contract) if isinstance(contract, dict) else contract
        if spec.accepts and c.kind not in spec.accepts:
            raise UsageError(f"model {name!r} takes {' or '.join(spec.accepts)} inputs, not {c.describe()}")
        n_leads, n_times = c.n_leads, c.n_samples
        if n_outputs is None:  # the bare 12-lead contract (contracts.ECG12) names no sites: the heart's 75
            from ..contracts.ecg12 import N_SITES

            n_outputs = len(c.target_names) or (N_SITES if c.kind == "ecg12" else 0)
    if None in (n_leads, n_times, n_outputs):
        raise UsageError("create_model needs n_leads, n_times and n_outputs, or a contract")
    import numbers

    for what, v in (("n_leads", n_leads), ("n_times", n_times), ("n_outputs", n_outputs)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):  # "1" and 1.5 failed deep in the builder
            raise UsageError(f"create_model: {what} must be a whole number, got {v!r}")
        if int(v) < 1:
            raise UsageError(f"create_model: {what} must be >= 1, got {v}"
                             + (" (the contract names no targets: give n_outputs, e.g. 75 sites)"
                                if what == "n_outputs" and contract is not None else ""))
    if task is not None and spec.defaults and task not in spec.defaults:
        raise UsageError(f"model {name!r} has no defaults for task {task!r} (it has: {', '.join(sorted(spec.defaults))})")
    hp = {**spec.defaults.get(task, {}), **hparams} if task else dict(hparams)
    try:
        return spec.builder(n_leads=n_leads, n_times=n_times, n_outputs=n_outputs, **hp)
    except (TypeError, ValueError, RuntimeError) as exc:  # an unknown or malformed hyper-parameter (--hparam)
        import inspect

        known = [n for n in inspect.signature(spec.builder).parameters if n not in ("n_leads", "n_times", "n_outputs")]
        raise UsageError(f"model {name!r} cannot be built with options {hp}: {exc} (its options: {', '.join(known)})") from exc


def check_input(x, n_leads: int, n_times: int, name: str) -> None:
    """Refuse, in one line naming both shapes, an input that is not (batch, ``n_leads``, ``n_times``).

    Every model's ``forward`` calls it: a window of another length ran silently (global pooling, or an interpolation
    back to ``n_times``) or failed deep in PyTorch. Not checked while tracing for an export.
    """
    shape = tuple(x.shape)
    if len(shape) == 3 and shape[1:] == (n_leads, n_times):
        return
    import torch

    if torch.jit.is_tracing():
        return
    from ..errors import DataFormatError

    hint = ("; inputs (batch, samples) of one lead are x[:, None, :]" if n_leads == 1 and shape[-1:] == (n_times,)
            and len(shape) == 2 else "; one input is x[None] (a batch of 1)" if shape == (n_leads, n_times) else
            "; (batch, samples, leads) is x.transpose(1, 2)" if len(shape) == 3 and shape[1:] == (n_times, n_leads)
            else "")
    raise DataFormatError(f"{name} takes input (batch, leads, samples) = (batch, {n_leads}, {n_times}), got "
                          f"{shape}{hint}")


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
