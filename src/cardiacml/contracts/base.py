"""Signal contracts: what a model's input and output are, defined once per dataset.

A :class:`SignalContract` says how many leads and samples an input has, at which
sampling rate and in which units, which values are plausible, and what the targets
are (class names or site names, with units). It is saved in every checkpoint and in
ONNX metadata; :func:`cardiacml.models.create_model` checks that a model accepts it
and ``predict`` validates users' arrays against it before running a model.

The contracts themselves are defined once, in this package: :data:`cardiacml.contracts.beat.KAGGLE_BEAT`
(Tasks 1-2), :func:`cardiacml.contracts.rhythm.rhythm_contract` (the ``beats`` task) and
:data:`cardiacml.contracts.ecg12.ECG12` (Tasks 3-4).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import DataFormatError

#: Largest finite float32: values beyond it overflow to inf once cast for a model.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class SignalContract:
    """Input and target description of a dataset / model.

    Attributes
    ----------
    kind : str
        Contract family, e.g. ``"beat"`` (one beat, 187 samples at 125 Hz), ``"ecg12"``
        (12-lead ECG, 500 samples at 1 kHz). Models declare the kinds they accept.
    n_leads, n_samples : int
        Input array shape per example: (n_leads, n_samples).
    fs_hz : float
        Sampling rate of the input (Hz).
    units : str
        Units of the input values (``"mV"``, ``"normalised"``...).
    value_range : (float, float) or None
        Plausible input range; values outside it are refused by :meth:`validate`.
    leads : tuple of str
        Lead names, in input order.
    target : str
        What is predicted, in words (units included).
    target_units : str
        Units of the target (``"class"``, ``"ms"``, ``"mV"``).
    target_names : tuple of str
        Class names (classification) or site names (75 sites).
    normalisation : str
        How an input must be prepared (e.g. the Kaggle min-max rule).
    layout : dict
        Optional named slices of the sample axis (e.g. morphology samples then R-R features).
    extra : dict
        Further facts a contract family defines (e.g. the beat-rhythm window, features, version);
        saved and restored with the rest, and checked by that family's own code.
    """

    kind: str
    n_leads: int
    n_samples: int
    fs_hz: float
    units: str = "mV"
    value_range: tuple | None = None
    leads: tuple = ()
    target: str = ""
    target_units: str = ""
    target_names: tuple = ()
    normalisation: str = ""
    layout: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict:
        """Plain-data form saved in checkpoints and ONNX metadata.

        Besides the fields, it carries ``classes`` (classification) or ``site_names``
        (per-site targets), the keys version 0.1 checkpoints used.
        """
        d = asdict(self)
        extra = d.pop("extra")
        d = {**extra, **d}
        d["value_range"] = list(self.value_range) if self.value_range is not None else None
        d["leads"], d["target_names"] = list(self.leads), list(self.target_names)
        d["classes" if self.target_units == "class" else "site_names"] = list(self.target_names)
        return d

    def __getitem__(self, key: str):
        """Deprecated: version 0.1 code read contracts as dicts (``contract["classes"]``); use attributes."""
        import warnings

        warnings.warn("reading a SignalContract as a dict is deprecated and goes in cardiacml 0.5; use its attributes "
                      "(contract.target_names, contract.kind...)", DeprecationWarning, stacklevel=2)
        return self.to_dict()[key]

    @property
    def classes(self) -> tuple:
        """Class names of a classification contract (empty for per-site targets)."""
        return self.target_names if self.target_units == "class" else ()

    @classmethod
    def from_dict(cls, d: dict) -> "SignalContract":
        """Read :meth:`to_dict` output, or a version 0.1 contract dict (``classes`` / ``site_names`` keys).

        Checkpoints store contracts as plain dicts; this is the one place that reads them back.
        """
        if isinstance(d, SignalContract):
            return d
        names = d.get("target_names") or d.get("classes") or d.get("site_names") or ()
        for name in names:  # written as CSV cells and headers by predict: no formula, no cell or row break
            if not isinstance(name, str) or not name or name[0] in "=+-@" or any(ch in name for ch in ',"') \
                    or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
                raise DataFormatError(f"target name {name!r}: a class or site name must be a plain label (no leading "
                                      "= + - @, no comma, quote or control character)")
        fs = d.get("fs_hz")
        if isinstance(fs, bool) or not isinstance(fs, numbers.Real) or not math.isfinite(fs) or fs <= 0:
            raise DataFormatError(f"contract fs_hz {fs!r}: the sampling rate must be a positive finite number (Hz)")
        units = d.get("target_units") or ("class" if "classes" in d else ("ms" if "activation" in str(d.get("target", "")) else "mV"))
        vr = d.get("value_range")
        known = {f for f in cls.__dataclass_fields__} | {"classes", "site_names"}
        extra = {k: v for k, v in d.items() if k not in known}
        return cls(kind=d["kind"], n_leads=int(d["n_leads"]), n_samples=int(d["n_samples"]), fs_hz=float(d["fs_hz"]),
                   units=d.get("units", "normalised" if str(d["kind"]).startswith("beat") else "mV"),
                   value_range=tuple(vr) if vr is not None else None, leads=tuple(d.get("leads") or ()),
                   target=d.get("target", ""), target_units=units, target_names=tuple(names),
                   normalisation=d.get("normalisation", ""), layout=dict(d.get("layout") or {}), extra=extra)

    def with_targets(self, target: str, target_units: str, names) -> "SignalContract":
        """The same input contract with other targets (e.g. 2 classes instead of 5)."""
        return replace(self, target=target, target_units=target_units, target_names=tuple(names))

    # ---------------------------------------------------------------- checks
    @property
    def shape(self) -> tuple:
        return (self.n_leads, self.n_samples)

    def check_batch_shape(self, X) -> None:
        """Refuse (DataFormatError) inputs ``X`` that are not (n, n_leads, n_samples): what a runner (PyTorch or ONNX)
        says before predicting, where :meth:`validate` would also check the values."""
        shape = np.shape(X)
        if len(shape) != 3 or tuple(shape[1:]) != self.shape:
            raise DataFormatError(f"input of shape {tuple(shape)}: this model takes (n, {self.n_leads}, "
                                  f"{self.n_samples}) ({self.describe()})")

    def describe(self) -> str:
        """One line for humans: ``1 lead x 187 samples at 125 Hz (normalised) -> 5 classes``."""
        tgt = f"{len(self.target_names)} classes" if self.target_units == "class" else (
            self.target if f"({self.target_units})" in self.target else f"{self.target} ({self.target_units})")
        return f"{self.kind}: {self.n_leads} lead(s) x {self.n_samples} samples at {self.fs_hz:g} Hz ({self.units}) -> {tgt}"

    def validate(self, X: np.ndarray, where: str = "input") -> np.ndarray:
        """Check an input batch (n, n_leads, n_samples) against the contract; return it as float32.

        Raises
        ------
        DataFormatError
            Wrong shape, NaN/inf, values that overflow float32, or values outside
            ``value_range``; the message names ``where`` and the first bad example.
        """
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1:] != self.shape:
            raise DataFormatError(f"{where}: expected an array of shape (n, {self.n_leads}, {self.n_samples}) "
                                  f"({self.describe()}), got {X.shape}")
        check_float32(X, where)
        if self.value_range is not None and X.size:
            lo, hi = self.value_range
            bad = (X < lo) | (X > hi)
            if bad.any():
                i = int(np.argwhere(bad)[0][0])
                raise DataFormatError(f"{where}: example {i} has values outside the expected range [{lo:g}, {hi:g}] "
                                      f"({self.units}; found [{float(X.min()):.3g}, {float(X.max()):.3g}])")
        return X.astype(np.float32, copy=False)


def check_float32(arr: np.ndarray, where: str, row_axis: int = 0) -> None:
    """Raise DataFormatError when ``arr`` holds NaN/inf or values that overflow float32.

    The message names ``where``, the first bad row (1-based, along ``row_axis``) and the value.
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "fiu":
        raise DataFormatError(f"{where}: values must be numbers, got dtype {a.dtype}")
    if a.dtype.kind != "f":
        return
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~np.isfinite(a) | (np.abs(a) > FLOAT32_MAX)
    if bad.any():
        idx = np.argwhere(bad)[0]
        v = a[tuple(idx)]
        what = "NaN or infinite" if not np.isfinite(v) else f"{float(v):.3g}, beyond float32's range (±3.4e38)"
        raise DataFormatError(f"{where}: row {int(idx[row_axis]) + 1} (index {tuple(int(i) for i in idx)}) holds a value "
                              f"that is {what}; {int(bad.sum())} such value(s) in all")


def check_outputs_finite(out: np.ndarray, where: str) -> np.ndarray:
    """Refuse model outputs with NaN/inf (a broken model or an overflowing input): DataFormatError."""
    out = np.asarray(out)
    if not np.all(np.isfinite(out)):
        n = int((~np.isfinite(out)).reshape(len(out), -1).any(1).sum()) if out.ndim else 1
        raise DataFormatError(f"{where}: the model produced NaN or infinite outputs for {n} example(s); "
                              "nothing was written. Check the input's values and units, or the model's training log.")
    return out
