"""``cardiacml predict``: a trained model (checkpoint or ONNX) applied to a user's file.

One path per model family:

* beat classifiers (``beat`` and ``beat-rhythm`` contracts) on a recording: :func:`cardiacml.io.open_record`
  then :func:`cardiacml.inference.beats.predict_record` (streamed, one CSV schema, summary JSON); the
  interactive page is drawn from the arrays it returns. Already-cut Kaggle beats (a CSV or ``.npy`` of
  187-sample rows) have no recording: they are classified directly and written with the same columns;
* heart models (``ecg12`` contract): :func:`cardiacml.inference.ecg12.load_ecg12` (12-lead window of a
  recording) then the model; activation times as CSV, Vm as ``.npy``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..utils import format_percentile, resolved
from .inputs import looks_like_beats, read_cut_beats, read_ecg12, resolve_lead


class TorchRunner:
    """A run folder / checkpoint / pretrained model on PyTorch: ``contract``, ``kind``, ``predict(X)``."""

    def __init__(self, ref):
        from ..training.checkpoint import load_run

        self.model, self.record = load_run(ref)
        self.kind, self.contract = self.record.kind, self.record.contract

    def __repr__(self) -> str:
        r = self.record
        return f"TorchRunner({r.card.get('pretrained') or r.path}: {r.model} for {r.task}, {self.contract.describe()})"

    def predict(self, X):
        """Probabilities (n, n_classes) or outputs of inputs ``X`` (n, n_leads, n_samples) of the model's contract;
        another shape is refused (a heart model interpolated a 589-sample window to its 500 samples silently)."""
        from ..training.loop import predict_array

        self.contract.check_batch_shape(X)
        return predict_array(self.model, X, kind=self.kind)

    def unfamiliarity(self, X) -> dict | None:
        """The unfamiliarity score of inputs ``X`` (:mod:`cardiacml.training.unfamiliar`), or None when the model has none."""
        if not self.record.unfamiliarity:
            return None
        from ..training.unfamiliar import unfamiliarity

        from ..errors import DataFormatError

        try:
            return unfamiliarity(self.model, X, self.record.unfamiliarity)
        except DataFormatError as exc:
            raise DataFormatError(f"{self.record.path}: {exc}") from None


def load_runner(model_ref: str | Path, threads: int | None = None):
    """A predictor for a run folder / .pt checkpoint / pretrained name (PyTorch) or a .onnx file (onnxruntime only).

    The predictor has ``contract`` (:class:`~cardiacml.contracts.SignalContract`), ``kind`` and ``predict(X)``.
    ``threads``: onnxruntime's threads for a .onnx file (default: onnxruntime's own); PyTorch's are the caller's
    (``torch.set_num_threads``).
    """
    from ..utils import as_path

    p = as_path(model_ref, "model (a run folder, checkpoint, .onnx file or pretrained name)")
    if p.suffix.lower() == ".onnx":
        from .onnx_export import OnnxPredictor

        return OnnxPredictor(p, threads=threads)
    return TorchRunner(model_ref)


def run_checked(runner, X: np.ndarray, where: str) -> np.ndarray:
    """Validate ``X`` against the model's contract, predict, and refuse non-finite outputs."""
    from ..contracts import check_outputs_finite

    X = runner.contract.validate(X, where)
    return check_outputs_finite(runner.predict(X), where)


class _Checked:
    """A predictor that validates inputs against the contract and refuses non-finite outputs."""

    def __init__(self, runner, where: str):
        self.runner, self.where, self.contract, self.kind = runner, where, runner.contract, runner.kind

    def predict(self, X):
        return run_checked(self.runner, X, self.where)


def _write_csv(df, path: Path) -> None:
    from ..utils import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def default_output(input_path, contract) -> Path:
    """The output ``predict`` writes when none is given: named after the input, in the current directory.

    ``100.beats.csv`` (beat classes), ``s0010_re.heart-act.csv`` (activation times), ``s0010_re.heart-vm.csv``
    (activation times derived from Vm; the Vm array beside it as ``.npy``): two models or two inputs never
    write the same file.
    """
    name = Path(str(input_path).rstrip("/\\")).name
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    for ext in (".csv", ".gz"):  # my.csv.gz -> my
        stem = stem[: -len(ext)] if stem.lower().endswith(ext) else stem
    if contract.kind in ("beat", "beat-rhythm"):
        what = "beats"
    else:
        what = "heart-act" if contract.target_units == "ms" else "heart-vm"
    return Path(f"{stem or 'input'}.{what}.csv")


def _names_folder(path) -> bool:
    """An output option naming a folder: an existing one, or a name ending in a path separator."""
    return Path(path).is_dir() or str(path).endswith(("/", os.sep))


def predict_file(model_path, input_path, out_path=None, *, fs=None, lead=None, use_annotations=True, units=None,
                 beat="auto", html=None, adapt_minutes: float | None = None, adapt_labels=None,
                 threads: int | None = None) -> str:
    """Predict on ``input_path`` and write ``out_path`` (default: :func:`default_output`); returns a one-line summary.

    ``fs``, ``lead`` and ``units`` describe a raw recording (see :func:`cardiacml.io.open_record`);
    ``lead`` is a name or a 0-based index. ``beat`` picks the beat of a 12-lead recording for Tasks 3-4
    (``"auto"``, an index or ``"all"``). ``html``: also write an interactive page there (the recording
    with every beat coloured by class, or the predicted activation map / Vm movie on the 3-D heart).
    ``adapt_minutes`` (beat models): adapt the model to this patient on the labelled beats of the record's first minutes
    (its reference annotations, or ``adapt_labels``: a CSV with columns ``time_s`` and ``label`` (N/S/V/F/Q)) before
    classifying (:mod:`cardiacml.training.adapt`). ``threads``: onnxruntime's threads for an ``.onnx`` model (the
    command line passes :func:`cardiacml.utils.resolve_threads`'s count; PyTorch's are set by the caller).
    """
    from ..utils import as_path, check_distinct_outputs, check_output

    input_path = as_path(input_path, "predict_file: input_path")
    for value, what in ((out_path, "out_path"), (html, "html")):  # checked only: a trailing "/" (a folder) is kept
        if value is not None:
            as_path(value, f"predict_file: {what}")
    runner = load_runner(model_path, threads=threads)
    c = runner.contract
    if out_path is not None and _names_folder(out_path):
        out_path = Path(out_path) / default_output(input_path, c).name  # a folder: the default name inside it
    out_path = Path(out_path) if out_path is not None else default_output(input_path, c)
    if html is not None and _names_folder(html):
        html = Path(html) / (out_path.stem + ".html")
    html = None if html is None else Path(html)
    from ..errors import UsageError

    if c.kind == "beat-rhythm" and looks_like_beats(input_path):
        raise UsageError(f"{input_path} holds already-cut Kaggle-format beats (187 samples at 125 Hz a row); "
                         f"{model_path} classifies beats in their recording (R-R rhythm and neighbours): give it the "
                         "raw recording, or use a Kaggle-contract model (cardiacml train task2) for cut beats")
    if c.kind not in ("beat", "beat-rhythm") and lead is not None:
        raise UsageError("--lead picks the lead of a beat model; a heart model reads all 12 leads (or 10 electrodes)")
    if c.kind in ("beat", "beat-rhythm") and beat != "auto":
        raise UsageError("--beat picks the beat a heart model reads from a 12-lead recording; a beat model classifies "
                         "every beat")
    if out_path.suffix.lower() in (".gz", ".bz2", ".xz", ".zip", ".zst"):  # it wrote plain text under that name
        raise UsageError(f"--out {out_path}: outputs are written uncompressed; give a name without "
                         f"{out_path.suffix} (and compress the file afterwards if you need to)")
    check_distinct_outputs(out=out_path, html=html)
    if c.kind == "ecg12" and str(getattr(c, "target_units", "")) != "mV" and out_path.suffix.lower() == ".npy":
        raise _table_not_npy(out_path)
    if html is not None and c.kind in ("beat", "beat-rhythm"):
        summary = Path(out_path).with_name(Path(out_path).stem + ".summary.json")
        if resolved(html) == resolved(summary):
            from ..errors import OutputError

            raise OutputError(f"--html {html} is the summary this run writes beside --out: give the page another name")
    inputs = (input_path, model_path)
    out_path = check_output(out_path, inputs, what="--out")
    if c.kind == "ecg12" and str(getattr(c, "target_units", "")) == "mV":  # Vm: a .npy and a .csv beside it
        for extra in (out_path.with_suffix(".npy"), out_path.with_suffix(".csv")):
            check_output(extra, inputs, what="output")
            if html is not None and resolved(html) == resolved(extra):  # the page was written, then the run refused
                from ..errors import OutputError

                raise OutputError(f"--html {html} is the {extra.suffix} file heart-vm writes beside --out: give the page "
                                  "another name")
    if html is not None:
        check_output(html, inputs, what="--html")
    from ..io import wfdb_base

    if not Path(input_path).exists() and wfdb_base(input_path) is None:  # before any folder is made for the output
        from ..errors import MissingDataError

        raise MissingDataError(f"{input_path}: no such file or WFDB record")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if c.kind in ("beat", "beat-rhythm"):
        if c.kind == "beat" and looks_like_beats(input_path):
            # options about a recording: said, not silently dropped (an adaptation asked for and not done)
            given = [opt for opt, v in (("--adapt-minutes", adapt_minutes), ("--adapt-labels", adapt_labels),
                                        ("--lead", lead), ("--units", units)) if v is not None]
            if given:
                raise UsageError(f"{' / '.join(given)}: {input_path} holds already-cut beats (187 samples at 125 Hz a "
                                 "row, normalised), which have no times, leads or units; these options apply to a raw "
                                 "recording: give the recording instead, or leave them out")
            return _predict_cut_beats(runner, input_path, out_path, fs=fs, html=html)
        return _predict_recording(runner, input_path, out_path, fs=fs, lead=lead, use_annotations=use_annotations,
                                  units=units, html=html, adapt_minutes=adapt_minutes, adapt_labels=adapt_labels)
    if adapt_minutes is not None or adapt_labels:
        from ..errors import UsageError

        raise UsageError("--adapt-minutes / --adapt-labels adapt a beat classifier to a patient; this is a heart model")
    return _predict_heart(runner, input_path, out_path, fs=fs, units=units, beat=beat, html=html, model_name=str(model_path))


def _table_not_npy(out_path: Path):
    """The refusal of ``--out X.npy`` for a model that writes a table of activation times."""
    from ..errors import UsageError

    return UsageError(f"--out {out_path}: this model writes a table of activation times (CSV), not a .npy array; "
                      f"give --out {out_path.with_suffix('.csv').name}")


def _predict_cut_beats(runner, input_path, out_path: Path, *, fs, html) -> str:
    """Already-cut Kaggle beats: no recording, no times; a recording's CSV columns without ``low_quality`` (no
    signal to judge)."""
    from .beats import csv_header, format_rows

    beats = read_cut_beats(Path(input_path), fs)
    if len(beats["X"]) == 0:
        raise DataFormatError(f"{input_path}: no beats found")
    prob = run_checked(runner, beats["X"], str(input_path))
    classes = list(runner.contract.target_names)
    ref = beats.get("label")
    other = ""
    if ref is not None and len(ref) and int(ref.max()) >= len(classes):  # MIT-BIH labels 0-4 to a 2-class model:
        other = (f"; labels up to {int(ref.max())} in the file are not this model's {len(classes)} classes "
                 "(another task's beats): no agreement computed")
        ref = None  # no reference column either (its names would be wrong)
    from ..utils import atomic_path

    with atomic_path(out_path) as tmp:
        Path(tmp).write_text(csv_header(classes, ref is not None)
                             + format_rows(0, np.full(len(prob), np.nan), prob, classes, ref))
    counts = {k: int(v) for k, v in zip(classes, np.bincount(prob.argmax(1), minlength=len(classes))) if v}
    extra = f"; agreement with reference labels {np.mean(prob.argmax(1) == ref):.4f}" if ref is not None else ""
    page = "; no page (already-cut beats have no timeline)" if html else ""
    return f"{len(prob)} beats from {input_path} -> {out_path}; predicted {counts}{extra}{other}{page}"


def _predict_recording(runner, input_path, out_path: Path, *, fs, lead, use_annotations, units, html,
                       adapt_minutes=None, adapt_labels=None) -> str:
    """Every beat of a recording, any format, through the one streamed path (both beat contracts)."""
    from ..io import open_record
    from .beats import predict_record, summary_text
    from .inputs import check_raw_npy

    if runner.contract.kind == "beat":
        check_raw_npy(input_path, fs)
    record = open_record(input_path, fs=fs, units=units)
    adapted = None
    if adapt_minutes is not None or adapt_labels:
        runner, adapted = _adapted_runner(runner, record, resolve_lead(record, lead), adapt_minutes, adapt_labels,
                                          use_annotations)
    from .beats import PredictionInterrupted

    try:
        res = predict_record(_Checked(runner, str(input_path)), record, out_path, lead=resolve_lead(record, lead),
                             use_annotations=use_annotations, keep_signal=bool(html), adapted=adapted)
    except PredictionInterrupted as exc:
        if html and "finished first" in str(exc):  # the page comes after the results: it was not drawn
            raise PredictionInterrupted(f"{exc}; the page {html} was not drawn"
                                        + (" (the file there is an earlier run's)" if Path(html).exists() else "")) from None
        raise
    text = summary_text(res.summary)  # with the note of an adaptation asked for and not done
    if html:
        from ..viz.html.record import record_page
        from .beats import PredictionInterrupted

        existed = Path(html).exists()
        try:
            record_page(res.signal, res.fs, res.times_s, res.predicted, res.probabilities, res.classes, html,
                        title=f"cardiacml: {Path(str(record.path)).name}", lead_name=res.lead, reference=res.reference,
                        episodes=res.summary.get("rhythm_episodes") or (),
                        bridges=(res.summary.get("rhythm") or {}).get("context_bridges") or (),
                        low_quality=res.low_quality, low_quality_stretches=res.low_quality_stretches_s,
                        quality_warning=(res.summary.get("quality") or {}).get("warning"))
        except KeyboardInterrupt:
            raise PredictionInterrupted(
                f"interrupted while drawing the page: {out_path} and its summary are complete; no page was written ("
                + (f"{html} is still an earlier run's page" if existed else f"{html} does not exist") + ")") from None
        text += f"\ninteractive page: {html}"
    return text


def _adapted_runner(runner, record, lead, minutes, labels_csv, use_annotations):
    """A copy of a beat runner adapted on the record's first ``minutes`` of labelled beats; and what was done."""
    import copy

    from ..ecg.detect import match_peaks
    from ..ecg.pipeline import kachuee_beats, rhythm_beats
    from ..errors import DataFormatError, UsageError
    from ..training.adapt import adapt_model

    if not hasattr(runner, "model"):
        raise UsageError("--adapt-minutes needs a PyTorch model (run folder, .pt or pretrained name), not an .onnx file")
    try:  # "x" was float()'s ValueError
        minutes = 5.0 if minutes is None else float(minutes)
    except (TypeError, ValueError):
        raise UsageError(f"--adapt-minutes {minutes!r:.40}: must be a number of minutes") from None
    if not 0 < minutes * 60 < record.duration_s:
        raise UsageError(f"--adapt-minutes {minutes:g}: must be positive and shorter than the recording "
                         f"({record.duration_s / 60:.1f} min)")
    classes = list(runner.contract.target_names)
    build = rhythm_beats if runner.contract.kind == "beat-rhythm" else kachuee_beats
    if labels_csv is None:
        if not use_annotations and record.annotations() is not None:
            raise UsageError(f"{record.path}: --adapt-minutes takes its labels from the record's beat annotations, which "
                             "--no-annotations turns off; leave it out, or give your labels with --adapt-labels "
                             "FILE.csv (columns time_s, label)")
        if record.annotations() is None:
            raise UsageError(f"{record.path}: --adapt-minutes uses the record's beat annotations for its first minutes, "
                             "and it has none; give your labels with --adapt-labels FILE.csv (columns time_s, label)")
        d = build(record, lead, use_annotations=True)
        y, src = d["label"], "the record's reference annotations"
    else:
        import pandas as pd

        try:
            lab = pd.read_csv(labels_csv)
            t_lab, names = lab["time_s"].to_numpy(float), lab["label"].astype(str).str.strip().to_numpy()
        except (OSError, KeyError, ValueError) as exc:  # pandas' parser messages end in a newline: one line here
            raise DataFormatError(f"{labels_csv}: a CSV with columns time_s and label (N/S/V/F/Q) is needed "
                                  f"({' '.join(str(exc).split())})") from None
        bad = sorted(set(names) - set(classes))
        if bad:
            raise DataFormatError(f"{labels_csv}: labels {bad[:5]} are not classes of this model ({', '.join(classes)})")
        if len(t_lab) == 0 or not np.all(np.isfinite(t_lab)):
            raise DataFormatError(f"{labels_csv}: " + ("no labelled beat" if len(t_lab) == 0 else
                                  f"time_s holds a value that is not a finite number (row {int(np.argmax(~np.isfinite(t_lab))) + 2})"))
        d = build(record, lead, use_annotations=use_annotations)
        order = np.argsort(t_lab, kind="stable")
        # a time far outside the recording matches no beat; clipped first, as 1e308 s overflowed to a sample index
        # (two numpy warnings before the answer)
        t_near = np.clip(t_lab[order], -1.0, record.duration_s + 1.0)
        ri, di = match_peaks(np.round(t_near * record.fs), np.round(d["time_s"] * record.fs),
                             int(round(0.15 * record.fs)))
        in_time = int(np.sum(t_lab < 60.0 * minutes))
        if len(ri) == 0:
            raise DataFormatError(f"{labels_csv}: none of its {len(t_lab)} labelled times lies within 0.15 s of a beat "
                                  f"of {record.path} (times in seconds from the recording's first sample)")
        y = np.full(len(d["time_s"]), -1, np.int64)
        y[di] = np.array([classes.index(n) for n in names], np.int64)[order][ri]
        src = f"{labels_csv}"
        unmatched = in_time - int(np.sum(d["time_s"][di] < 60.0 * minutes))
        if unmatched > 0:
            src += (f" ({unmatched} of its {in_time} labels in the first {minutes:g} min matched no beat within 0.15 s: "
                    "left out)")
    first = (d["time_s"] < 60.0 * minutes) & (y >= 0)
    if not first.any():
        raise DataFormatError(f"{record.path}: no labelled beat in the first {minutes:g} min to adapt on")
    counts = np.bincount(y[first], minlength=len(classes))
    if int((counts > 0).sum()) < 2:  # a loss over one class is 0: nothing would move, and the checks would be off
        only = classes[int(np.argmax(counts))]
        return runner, {"skipped": f"not adapted: the {int(first.sum())} labelled beats of the first {minutes:g} min are "
                                   f"all {only}, and adapting needs two classes or more; the general model (with its "
                                   "checks) classified the recording"}
    new = copy.copy(runner)
    X = d["X"] if d["X"].ndim == 3 else d["X"][:, None, :]
    new.model = adapt_model(runner.model, X[first], y[first], len(classes))
    return new, {"minutes": minutes, "labelled_beats": int(first.sum()), "labels_from": src,
                 "per_class": {c: int(n) for c, n in zip(classes, counts) if n},
                 "method": "fine-tuned copy: class-balanced cross-entropy + L2-SP towards the pretrained weights"}


def _predict_heart(runner, input_path, out_path: Path, *, fs, units, beat, html, model_name=None) -> str:
    import pandas as pd

    from ..utils import atomic_path

    from ..contracts.ecg12 import window_version

    c = runner.contract
    X, info = read_ecg12(input_path, fs, units=units, beat=beat, return_info=True, version=window_version(c))
    pred = run_checked(runner, X, str(input_path))
    if pred.ndim == 2 and out_path.suffix.lower() == ".npy":  # a Vm contract whose model gives one value a site
        raise _table_not_npy(out_path)
    unf = runner.unfamiliarity(X) if hasattr(runner, "unfamiliarity") else None
    unf_text = ""
    if unf is not None:
        flagged = int(np.sum(unf["unfamiliar"]))
        unf_text = (f"; unfamiliarity {unf['score'][0]:.1f} (threshold {unf['threshold']:.1f}, higher than "
                    f"{format_percentile(unf['percentile'][0])} % of held-out simulated inputs)" if len(X) == 1 else
                    f"; {flagged} of {len(X)} input(s) unfamiliar (score above {unf['threshold']:.1f})")
        if flagged:
            unf_text += (" - WARNING: unlike every input the model was trained on (simulated hearts); do not trust "
                         "this map")
    elif str(getattr(runner, "kind", "")) and hasattr(runner, "session"):
        unf_text = "; no unfamiliarity score (ONNX models carry none: use the .pt model)"
    if html:
        from ..viz.html.heart import prediction_heart_page

        # the page's 12-lead viewer draws mV on a 10 mm/mV grid: a window normalised by its amplitude scale (version
        # 2) is scaled back first (it showed V1 at 1.41 "mV" where the recording had 0.86)
        wins = info.get("windows") or []
        scale = np.array([float(w.get("amplitude_scale_mv", 1.0)) for w in wins]) if len(wins) == len(X) else None
        shown = X * scale[:, None, None] if scale is not None else X
        prediction_heart_page(html, shown, pred, model=model_name, source=str(input_path), windows=wins or None,
                              window_version=window_version(c), unfamiliarity=unf)
    names = list(c.target_names)
    windows = info.get("windows") or []
    used = ""
    if windows:
        w = windows[0]
        if len(windows) > 1:
            used = f"; {len(windows)} beat windows"
        elif "beat" in w:
            used = (f"; window: beat {w.get('beat')} of {w.get('n_beats')}, 500 ms from {w.get('start_s', 0):.3f} s "
                    f"(QRS onset at {w.get('qrs_onset_s', float('nan')):.3f} s)")
        else:  # a simulator-format beat: the window is placed from its activation onset, as in training
            used = f"; window: 500 ms from {1000 * w.get('start_s', 0):+.0f} ms of the input's time 0 (activation onset)"
    if pred.ndim == 2:  # task 3: activation times
        df = pd.DataFrame(pred, columns=names)
        _add_window_columns(df, windows)
        _add_unfamiliarity(df, unf)
        df["activation_definition"] = "first Vm > 0 mV (LLNL convention, the training target)"
        _write_csv(df, out_path)
        return (f"activation times (ms) of {len(pred)} ECG(s) at {len(names)} sites -> {out_path}{used}{unf_text}"
                + _read_as(info))
    npy, csv = out_path.with_suffix(".npy"), out_path.with_suffix(".csv")
    for sibling in (npy, csv):
        # a Vm array is ours only beside our CSV (a user's own (n, 75, 500) array has the same shape)
        ours = _heart_output(sibling) and (sibling == csv or (csv.exists() and _heart_output(csv)))
        if sibling != out_path and sibling.exists() and not ours:
            from ..errors import OutputError

            raise OutputError(f"{sibling} exists and is not a heart-vm output: heart-vm writes the Vm to "
                              f"{npy.name} and its activation times to {csv.name}; refusing to replace it (choose "
                              "another --out)")
    from ..datasets.intracardiac import UPSTROKE_THRESHOLD_MV, upstroke_times

    act = upstroke_times(pred)
    df = pd.DataFrame(act, columns=names)
    _add_window_columns(df, windows)
    _add_unfamiliarity(df, unf)
    df["activation_definition"] = (f"first upward crossing of {UPSTROKE_THRESHOLD_MV:g} mV (mid-upstroke), from the "
                                   "predicted Vm")
    # both written before either is moved in, the CSV moved in first: a failure writing either (disk full, Ctrl-C)
    # replaces neither (the CSV written first left new activation times beside the previous run's Vm), and no Vm array
    # is ever left without its CSV
    with atomic_path(npy) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, pred.astype(np.float32))
        _write_csv(df, csv)
    missed = int(np.isnan(act).sum())
    return (f"Vm (n, 75, 500) mV of {len(pred)} ECG(s) -> {npy}; activation times derived from it (upstroke crossing "
            f"{UPSTROKE_THRESHOLD_MV:g} mV; {missed} site(s) never activate, left empty) -> {out_path.with_suffix('.csv')}"
            f"{used}{unf_text}" + _read_as(info))


def _read_as(info: dict) -> str:
    """How a 12-lead input was read (units guessed, lead order taken, leads derived, signs turned), as the beat path's
    console says it: a line of its own, or nothing when there is nothing to say."""
    said = [n for n in info.get("notes", []) if n] + [f"derived {d}" for d in info.get("derived", []) if d]
    return ("\ninput read as: " + "; ".join(said)) if said else ""


def _heart_output(path: Path) -> bool:
    """Whether ``path`` is what a heart-vm prediction writes: a CSV whose header starts with ``ecg,``, or a float32
    (n, 75, 500) array."""
    try:
        if path.suffix.lower() == ".csv":
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.readline().startswith("ecg,")
        a = np.load(path, mmap_mode="r", allow_pickle=False)
        return a.ndim == 3 and a.shape[1:] == (75, 500) and a.dtype == np.float32
    except (OSError, ValueError):
        return False


#: The columns that say which input a heart prediction's row is, first in its CSV (:func:`_add_window_columns`).
_ROW_COLUMNS = ("ecg", "item", "beat", "r_peak_s", "window_start_s")


def _add_window_columns(df, windows) -> None:
    """The first columns of a heart prediction's CSV: ``ecg`` (row, 0-based); for windows cut from a recording
    ``item`` (the recording's index in an (n, 12, T) array), ``beat`` (the detected beat's 0-based index, what
    ``--beat K`` takes: a beat without a full window is skipped, so it can differ from ``ecg``) and ``r_peak_s`` (its
    R peak, s); then ``window_start_s`` (the 500 ms window's start: ``pre_ms`` before the beat's QRS onset, or for a
    simulator-format beat, from its activation onset)."""
    cols = {"ecg": np.arange(len(df))}
    if windows:
        for key, col, kind in (("item", "item", int), ("beat", "beat", int), ("r_peak_s", "r_peak_s", float),
                               ("start_s", "window_start_s", float)):
            if key == "start_s" or all(key in w for w in windows):
                cols[col] = [kind(round(float(w.get(key, 0.0)), 4)) for w in windows]
    for at, (col, values) in enumerate(cols.items()):
        df.insert(at, col, values)


def _add_unfamiliarity(df, unf) -> None:
    """Columns ``unfamiliarity`` (score), ``unfamiliarity_percentile`` and ``unfamiliar`` (bool) after the first ones."""
    if unf is None:
        return
    at = len([c for c in _ROW_COLUMNS if c in df])
    df.insert(at, "unfamiliar", unf["unfamiliar"].astype(bool))
    df.insert(at, "unfamiliarity_percentile", np.round(unf["percentile"], 1))
    df.insert(at, "unfamiliarity", np.round(unf["score"], 3))
