"""ONNX export (dynamic batch size) with a parity check, and an onnxruntime-only predictor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np


def parity_tolerance(ref: np.ndarray, atol: float = 1e-4, rtol: float = 1e-5) -> float:
    """Largest |torch - onnxruntime| difference accepted for outputs ``ref``: ``atol + rtol * max|ref|``.

    Both runtimes compute in float32 (machine epsilon 1.2e-7) but fuse and order operations differently,
    so their outputs differ by a few tens of ulps of the output scale through a deep network. Classifier
    logits are O(10) (the absolute 1e-4 dominates); activation times are O(100) ms, where a 1e-4 absolute
    bound is below 10 ulps and failed on the shipped heart-act (1.37e-4 at outputs of ~150 ms). ``rtol`` 1e-5
    (about 80 ulps of the largest output) keeps the check far below any meaningful difference (1 us on ms).
    """
    return float(atol + rtol * float(np.abs(ref).max(initial=0.0)))


def export_onnx(checkpoint: str | Path, out: str | Path, *, atol: float = 1e-4, rtol: float = 1e-5,
                n_check: int = 16) -> dict:
    """Export a checkpoint to ONNX and check it against PyTorch on random inputs, atomically.

    The input contract (sampling rate, leads, class or site names, task) is stored in the ONNX metadata,
    so :class:`OnnxPredictor` needs nothing else. The model is written to a temporary sibling, checked
    there (parity within :func:`parity_tolerance`), and only then renamed onto ``out``: a failed export or
    parity check leaves the previous file (if any) untouched and raises
    :class:`~cardiacml.errors.OutputError`.

    Returns a report: path, max absolute difference, the tolerance, and ``parity_ok`` (always True).
    """
    import torch

    from ..errors import OutputError
    from ..training.checkpoint import resolve_checkpoint
    from ..utils import atomic_path, check_output

    out = check_output(out, [resolve_checkpoint(checkpoint)], what="--out")
    if out.suffix.lower() != ".onnx":
        raise OutputError(f"--out {out}: an ONNX export must be written to a .onnx file")
    from ..training.checkpoint import load_run

    model, record = load_run(checkpoint)
    c = record.contract
    x = torch.rand(2, c.n_leads, c.n_samples)

    class _Physical(torch.nn.Module):  # forward(x) only: outputs in physical units, nothing else to trace
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ecg):
            return self.m(ecg)

    import onnx

    with atomic_path(out) as tmp:
        with warnings.catch_warnings():  # tracing notes on shape arithmetic: the parity check below is what counts
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(_Physical(model).eval(), (x,), str(tmp), input_names=["ecg"], output_names=["output"],
                              dynamic_axes={"ecg": {0: "batch"}, "output": {0: "batch"}}, opset_version=17, dynamo=False)
        proto = onnx.load(str(tmp))
        meta = {"task": record.task, "kind": record.kind, "model": record.model, "contract": c.to_dict(),
                "cardiacml_version": record.cardiacml_version, "card": record.card, "data": record.data}
        entry = proto.metadata_props.add()
        entry.key, entry.value = "cardiacml", json.dumps(meta)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        gen = torch.Generator().manual_seed(0)
        xs = torch.rand(n_check, c.n_leads, c.n_samples, generator=gen)
        if c.kind == "ecg12":
            xs = (xs - 0.5) * 2.0
        with torch.no_grad():
            ref = model(xs).numpy()
        got = OnnxPredictor(tmp).run(xs.numpy())
        diff = float(np.abs(ref - got).max())
        tol = parity_tolerance(ref, atol, rtol)
        if not diff <= tol:
            raise OutputError(f"{out}: the exported ONNX model disagrees with PyTorch (max |difference| {diff:.3g} > "
                              f"tolerance {tol:.3g} = {atol:g} + {rtol:g} x max|output|); nothing was written")
    return {"path": str(out), "max_abs_diff": diff, "atol": tol, "parity_ok": True, "batch_checked": n_check}


class OnnxPredictor:
    """Runs an exported model with onnxruntime alone (no PyTorch import)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        from ..contracts import SignalContract
        from ..errors import DataFormatError, MissingDataError

        path = self.path = Path(path)
        if not path.is_file():
            raise MissingDataError(f"{path}: no such ONNX file")
        if path.stat().st_size == 0:
            raise DataFormatError(f"{path}: the ONNX file is empty")
        opts = ort.SessionOptions()
        if threads is not None:
            from ..utils import resolve_threads

            opts.intra_op_num_threads = resolve_threads(threads)  # below 1 refused, above the cores cut to them
        ort_failures = tuple(getattr(ort_errors, n) for n in ("Fail", "InvalidProtobuf", "InvalidGraph", "NoSuchFile",
                                                                  "InvalidArgument", "RuntimeException", "NotImplemented")
                             if hasattr(ort_errors, n))
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except ort_failures as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise DataFormatError(f"{path}: not a loadable ONNX model ({first})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "cardiacml" not in meta:
            raise DataFormatError(f"{path}: an ONNX model without cardiacml metadata (its input contract is unknown); "
                                  "export it with `cardiacml export`")
        try:
            self.meta = json.loads(meta["cardiacml"])
            self.contract = SignalContract.from_dict(self.meta["contract"])
            self.kind = self.meta.get("kind")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataFormatError(f"{path}: the cardiacml metadata of this ONNX model is damaged ({type(exc).__name__}: "
                                  f"{exc}); export the model again with `cardiacml export`") from None
        from ..contracts import check_contract
        from ..tasks import check_saved_model

        check_saved_model(self.meta.get("task"), self.kind, self.contract.kind, self.meta.get("cardiacml_version"), path)
        check_contract(self.contract, path)  # an ONNX file of another beat-rhythm contract version: refused on opening
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else []
        want = (self.contract.n_leads, self.contract.n_samples)
        fixed_ok = len(shape) == 3 and all(not isinstance(d, int) or d == w for d, w in zip(shape[1:], want))
        if not fixed_ok or inputs[0].name != "ecg" or len(outputs) != 1:
            raise DataFormatError(f"{path}: the ONNX model's input {[(i.name, i.shape) for i in inputs]} does not match "
                                  f"its contract (one input 'ecg' of shape (batch, {self.contract.n_leads}, "
                                  f"{self.contract.n_samples})); export the model again with `cardiacml export`")

    def run(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Raw outputs of inputs ``X`` (n, n_leads, n_samples); another shape is refused, as the PyTorch runner
        refuses it (it was onnxruntime's INVALID_ARGUMENT traceback; no input was a ValueError from concatenate)."""
        self.contract.check_batch_shape(X)
        want = self.contract.shape
        if len(X) == 0:  # an empty array of the output's shape (one zero input shows it), as PyTorch's runner gives
            one = self.session.run(None, {"ecg": np.zeros((1, *want), np.float32)})[0]
            return np.zeros((0, *one.shape[1:]), np.float32)
        outs = [self.session.run(None, {"ecg": np.ascontiguousarray(X[i:i + batch_size], np.float32)})[0]
                for i in range(0, len(X), batch_size)]
        return np.concatenate(outs)

    def __repr__(self) -> str:
        return (f"OnnxPredictor({self.path}: {self.meta.get('model')} for {self.meta.get('task')}, "
                f"{self.contract.describe()})")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for classifiers, raw outputs otherwise."""
        out = self.run(X)
        if self.kind == "classification":
            e = np.exp(out - out.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        return out
