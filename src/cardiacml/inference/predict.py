"""``cardiacml predict``: a trained model (checkpoint or ONNX) applied to a user's file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .inputs import read_beats, read_ecg12


class _TorchRunner:
    def __init__(self, ref):
        from ..training.loop import load_run

        self.model, self.record = load_run(ref)
        self.kind, self.contract = self.record.kind, self.record.contract

    def predict(self, X):
        from ..training.loop import predict_array

        return predict_array(self.model, X, kind=self.kind)


def load_runner(model_ref: str | Path):
    """A predictor for a run folder / .pt checkpoint / pretrained name (PyTorch) or a .onnx file (onnxruntime only).

    The predictor has ``contract`` (:class:`~cardiacml.data.contracts.SignalContract`), ``kind`` and ``predict(X)``.
    """
    p = Path(model_ref)
    if p.suffix == ".onnx":
        from .onnx_export import OnnxPredictor

        return OnnxPredictor(p)
    return _TorchRunner(model_ref)


def run_checked(runner, X: np.ndarray, where: str) -> np.ndarray:
    """Validate ``X`` against the model's contract, predict, and refuse non-finite outputs."""
    from ..data.contracts import check_outputs_finite

    X = runner.contract.validate(X, where)
    return check_outputs_finite(runner.predict(X), where)


def _write_csv(df, path: Path) -> None:
    from ..utils import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def predict_file(model_path, input_path, out_path, *, fs=None, lead=None, use_annotations=True, units=None,
                 beat="auto", html=None) -> str:
    """Predict on ``input_path`` and write ``out_path``; returns a one-line summary.

    ``fs``, ``lead`` and ``units`` describe a raw recording (see :func:`cardiacml.data.records.open_record`);
    ``beat`` picks the beat of a 12-lead recording for Tasks 3-4 (``"auto"``, an index or ``"all"``).
    ``html``: also write an interactive page there (the recording with every beat coloured by class, or
    the predicted activation map / Vm movie on the 3-D heart).
    """
    import pandas as pd

    from ..utils import atomic_path

    runner = load_runner(model_path)
    c = runner.contract
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if c.kind == "beat-rhythm":  # every beat of a raw recording, streamed in blocks (bounded memory)
        return _predict_rhythm(runner, input_path, out_path, fs=fs, lead=lead, use_annotations=use_annotations,
                               units=units, html=html)
    if c.kind == "beat":
        beats = read_beats(input_path, fs, lead=lead, use_annotations=use_annotations, units=units)
        if len(beats["X"]) == 0:
            raise DataFormatError(f"{input_path}: no beats found")
        prob = run_checked(runner, beats["X"], str(input_path))
        classes = list(c.target_names)
        df = pd.DataFrame({"beat": np.arange(len(prob))})
        if "r_peak_s" in beats:
            df["r_peak_s"] = np.round(beats["r_peak_s"], 4)
        df["predicted"] = [classes[i] for i in prob.argmax(1)]
        for j, name in enumerate(classes):
            df[f"p_{name}"] = np.round(prob[:, j], 6)
        if "label" in beats:
            df["reference"] = [classes[i] if 0 <= i < len(classes) else str(i) for i in beats["label"]]
        _write_csv(df, out_path)
        page = ""
        if html and "r_peak_s" in beats:
            from ..viz.interactive import record_page_from_file

            opts = {k: v for k, v in (("fs", fs), ("units", units)) if v is not None}
            record_page_from_file(input_path, html, beat_times_s=beats["r_peak_s"], probabilities=prob, class_names=classes,
                                  lead=lead, reference=beats.get("label"), **opts)
            page = f"; page {html}"
        elif html:
            page = "; no page (already-cut beats have no timeline)"
        counts = df["predicted"].value_counts().to_dict()
        extra = ""
        if "reference" in df:
            extra = f"; agreement with reference labels {np.mean(df['predicted'] == df['reference']):.4f}"
        return f"{len(df)} beats from {beats['source']} -> {out_path}; predicted {counts}{extra}{page}"
    X, info = read_ecg12(input_path, fs, units=units, beat=beat, return_info=True)
    pred = run_checked(runner, X, str(input_path))
    if html:
        from ..viz.interactive import prediction_heart_page

        prediction_heart_page(html, X, pred)
    names = list(c.target_names)
    windows = info.get("windows") or []
    used = ""
    if windows:
        w = windows[0]
        used = (f"; window: beat {w.get('beat')} of {w.get('n_beats')}, 500 ms from {w.get('start_s', 0):.3f} s "
                f"(QRS onset at {w.get('qrs_onset_s', float('nan')):.3f} s)" if len(windows) == 1 else f"; {len(windows)} beat windows")
    if pred.ndim == 2:  # task 3: activation times
        df = pd.DataFrame(pred, columns=names)
        df.insert(0, "ecg", np.arange(len(pred)))
        if windows:
            df.insert(1, "window_start_s", [round(float(w.get("start_s", 0.0)), 4) for w in windows])
        _write_csv(df, out_path)
        return f"activation times (ms) of {len(pred)} ECG(s) at {len(names)} sites -> {out_path}{used}"
    npy = out_path.with_suffix(".npy")
    with atomic_path(npy) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, pred.astype(np.float32))
    from ..data.intracardiac import UPSTROKE_THRESHOLD_MV, activation_times

    act = activation_times(pred, threshold=UPSTROKE_THRESHOLD_MV, time_axis=-1)
    df = pd.DataFrame(act, columns=names)
    df.insert(0, "ecg", np.arange(len(pred)))
    _write_csv(df, out_path.with_suffix(".csv"))
    missed = int(np.isnan(act).sum())
    return (f"Vm (n, 75, 500) mV of {len(pred)} ECG(s) -> {npy}; activation times derived from it (upstroke crossing "
            f"{UPSTROKE_THRESHOLD_MV:g} mV; {missed} site(s) never activate, left empty) -> {out_path.with_suffix('.csv')}{used}")


class _Checked:
    """A predictor that validates inputs against the contract and refuses non-finite outputs."""

    def __init__(self, runner, where: str):
        self.runner, self.where, self.contract, self.kind = runner, where, runner.contract, runner.kind

    def predict(self, X):
        return run_checked(self.runner, X, self.where)


def _predict_rhythm(runner, input_path, out_path: Path, *, fs, lead, use_annotations, units, html) -> str:
    """Rhythm-aware beat models: any recording through the streamed record -> beats pipeline (cardiacml.ecg)."""
    from ..data.records import open_record
    from ..ecg.predict import predict_record, summary_text

    opts = {k: v for k, v in (("fs", fs), ("units", units)) if v is not None}
    record = open_record(input_path, **opts)
    summ = predict_record(_Checked(runner, str(input_path)), record, out_path, lead=lead, use_annotations=use_annotations)
    text = summary_text(summ)
    if html:
        import pandas as pd

        from ..viz.interactive import record_page_from_file

        df = pd.read_csv(out_path)
        classes = list(runner.contract.target_names)
        ref = None
        if "reference" in df:
            ref = np.array([classes.index(r) if r in classes else -1 for r in df["reference"].astype(str)])
        record_page_from_file(input_path, html, beat_times_s=df["time_s"].to_numpy(),
                              probabilities=df[[f"p_{c}" for c in classes]].to_numpy(), class_names=classes, lead=lead,
                              reference=ref, **opts)
        text += f"\ninteractive page: {html}"
    return text
