"""ONNX export (dynamic batch size) with a parity check, and an onnxruntime-only predictor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def export_onnx(checkpoint: str | Path, out: str | Path, *, atol: float = 1e-4, n_check: int = 16) -> dict:
    """Export a checkpoint to ONNX and check it against PyTorch on random inputs.

    The input contract (sampling rate, leads, class or site names, task) is stored in
    the ONNX metadata, so :class:`OnnxPredictor` needs nothing else.

    Returns a report: path, max absolute difference, and whether it is within ``atol``.
    """
    import torch

    from ..training.checkpoint import load_run

    model, record = load_run(checkpoint)
    c = record.contract
    x = torch.rand(2, c.n_leads, c.n_samples)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    class _Physical(torch.nn.Module):  # forward(x) only: outputs in physical units, nothing else to trace
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ecg):
            return self.m(ecg)

    torch.onnx.export(_Physical(model).eval(), (x,), str(out), input_names=["ecg"], output_names=["output"],
                      dynamic_axes={"ecg": {0: "batch"}, "output": {0: "batch"}}, opset_version=17, dynamo=False)
    import onnx

    proto = onnx.load(str(out))
    meta = {"task": record.task, "kind": record.kind, "model": record.model, "contract": c.to_dict(),
            "cardiacml_version": record.cardiacml_version, "card": record.card, "data": record.data}
    entry = proto.metadata_props.add()
    entry.key, entry.value = "cardiacml", json.dumps(meta)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    gen = torch.Generator().manual_seed(0)
    xs = torch.rand(n_check, c.n_leads, c.n_samples, generator=gen)
    if c.kind == "ecg12":
        xs = (xs - 0.5) * 2.0
    with torch.no_grad():
        ref = model(xs).numpy()
    got = OnnxPredictor(out).run(xs.numpy())
    diff = float(np.abs(ref - got).max())
    return {"path": str(out), "max_abs_diff": diff, "atol": atol, "parity_ok": diff <= atol, "batch_checked": n_check}


class OnnxPredictor:
    """Runs an exported model with onnxruntime alone (no PyTorch import)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        from ..contracts import SignalContract
        from ..errors import DataFormatError

        meta = self.session.get_modelmeta().custom_metadata_map
        if "cardiacml" not in meta:
            raise DataFormatError(f"{path}: an ONNX model without cardiacml metadata (its input contract is unknown); "
                                  "export it with `cardiacml export`")
        self.meta = json.loads(meta["cardiacml"])
        self.contract = SignalContract.from_dict(self.meta["contract"])
        self.kind = self.meta.get("kind")

    def run(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        outs = [self.session.run(None, {"ecg": np.ascontiguousarray(X[i:i + batch_size], np.float32)})[0]
                for i in range(0, len(X), batch_size)]
        return np.concatenate(outs)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for classifiers, raw outputs otherwise."""
        out = self.run(X)
        if self.kind == "classification":
            e = np.exp(out - out.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        return out
