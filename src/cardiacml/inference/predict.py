"""``cardiacml predict``: a trained model (checkpoint or ONNX) applied to a user's file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .inputs import read_beats, read_ecg12


class _TorchRunner:
    def __init__(self, path):
        from ..training.loop import load_checkpoint

        self.model, ck = load_checkpoint(path)
        self.kind, self.contract = ck["kind"], ck["contract"]

    def predict(self, X):
        from ..training.loop import predict_array

        return predict_array(self.model, X, kind=self.kind)


def load_runner(model_path: str | Path):
    """A predictor for a run folder / .pt checkpoint (PyTorch) or a .onnx file (onnxruntime only)."""
    p = Path(model_path)
    if p.suffix == ".onnx":
        from .onnx_export import OnnxPredictor

        return OnnxPredictor(p)
    return _TorchRunner(p)


def predict_file(model_path, input_path, out_path, *, fs=None, lead=None, use_annotations=True) -> str:
    """Predict on ``input_path`` and write ``out_path``; returns a one-line summary."""
    import pandas as pd

    runner = load_runner(model_path)
    c = runner.contract
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if c.get("kind") == "beat":
        beats = read_beats(input_path, fs, lead=lead, use_annotations=use_annotations)
        if len(beats["X"]) == 0:
            raise DataFormatError(f"{input_path}: no beats found")
        prob = runner.predict(beats["X"])
        classes = c["classes"]
        df = pd.DataFrame({"beat": np.arange(len(prob))})
        if "r_peak_s" in beats:
            df["r_peak_s"] = np.round(beats["r_peak_s"], 4)
        df["predicted"] = [classes[i] for i in prob.argmax(1)]
        for j, name in enumerate(classes):
            df[f"p_{name}"] = np.round(prob[:, j], 6)
        if "label" in beats:
            df["reference"] = [classes[i] if 0 <= i < len(classes) else str(i) for i in beats["label"]]
        df.to_csv(out_path, index=False)
        counts = df["predicted"].value_counts().to_dict()
        extra = ""
        if "reference" in df:
            extra = f"; agreement with reference labels {np.mean(df['predicted'] == df['reference']):.4f}"
        return f"{len(df)} beats from {beats['source']} -> {out_path}; predicted {counts}{extra}"
    X = read_ecg12(input_path)
    pred = runner.predict(X)
    names = c["site_names"]
    if pred.ndim == 2:  # task 3: activation times
        df = pd.DataFrame(pred, columns=names)
        df.insert(0, "ecg", np.arange(len(pred)))
        df.to_csv(out_path, index=False)
        return f"activation times (ms) of {len(pred)} ECG(s) at {len(names)} sites -> {out_path}"
    npy = out_path.with_suffix(".npy")
    np.save(npy, pred.astype(np.float32))
    from ..data.intracardiac import activation_times

    act = activation_times(pred, time_axis=-1)
    df = pd.DataFrame(act, columns=names)
    df.insert(0, "ecg", np.arange(len(pred)))
    df.to_csv(out_path.with_suffix(".csv"), index=False)
    return f"Vm (n, 75, 500) mV of {len(pred)} ECG(s) -> {npy}; activation times derived from it -> {out_path.with_suffix('.csv')}"
