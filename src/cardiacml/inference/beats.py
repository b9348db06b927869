"""Classify every beat of a raw recording, streamed, into a CSV plus a JSON summary: the one beat-prediction path.

:func:`predict_record` is what ``cardiacml predict MODEL RECORD`` calls for beat classifiers of both
contracts. With a ``beat-rhythm`` model the record is streamed (two passes, see
:mod:`cardiacml.ecg.pipeline`): the signal is read and classified block by block, a progress bar (or,
when stderr is not a terminal, a log line every ~10 s) shows beats done and time left, and memory holds
per beat only its probabilities and a 75-sample copy of its shape (300 bytes: 33 MB for a 24-hour
Holter), which the morphology consensus (:mod:`cardiacml.inference.consensus`) and the rhythm context
need before the rows are written. With a Kaggle ``beat`` model the record is cut whole with the
Kachuee rule (fine for recordings of an hour or so) and goes through the same writer.

One CSV schema for every beat model: ``beat, time_s, predicted, p_<class>..., [reference], low_quality``
(:data:`CSV_COLUMNS`; ``low_quality`` 1 for a beat in a 10-s window the signal-quality check rejects, since
0.4.13; already-cut Kaggle beats have no signal to judge and no such column). The function returns the arrays it computed (:class:`RecordPrediction`: times, probabilities, reference
labels, the low-quality flags and, on request, the raw lead), so an interactive page is
drawn from memory, never by reading the CSV or the recording again.

Output is atomic: rows go to a hidden temporary sibling that is renamed at the end, so an error
leaves nothing. Ctrl-C during the classification pass never touches the requested output (an earlier
complete CSV stays as it was): the beats done so far go to ``<stem>.partial.csv``, a plain CSV that
``pandas.read_csv`` reads as is (completeness is not a comment line in the data but the file's name
and its summary ``<stem>.partial.summary.json``: ``"complete": false``, ``stopped_at_s``, ``analysed_s``;
rates per hour there divide by the analysed time, the AF minutes count up to the stop, the quality windows and
stretches are those up to the stop). Ctrl-C before any beat was classified leaves nothing.
A later complete run removes the ``.partial`` files of the same output.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contracts import SignalContract, check_contract, check_outputs_finite
from ..contracts import rhythm as C_RHYTHM
from ..ecg.pipeline import BLOCK_BEATS, CHUNK_S, iter_rhythm_blocks, kachuee_beats, scan_record
from ..errors import CardiacMLError, DataFormatError
from ..io import Record
from ..utils import progress
from . import consensus as CO
from .summary import (  # noqa: F401  (the summary, split out of this module; its names stay importable from here)
    FIB_NOTE_BEATS, MOSTLY_V_FRACTION, PAUSE_NOTE_FRACTION, PAUSE_RATIO, SKIP_NO_RELIABLE, _mostly_v, _pauses,
    _quality_summary, _reference_labels, _summary, summary_text,
)

#: Columns of every per-beat CSV (``<class>`` stands for each class name; ``reference`` only for annotated records;
#: ``low_quality`` (0 / 1: the beat lies in a 10-s window the signal-quality check rejects) for raw recordings).
CSV_COLUMNS = ("beat", "time_s", "predicted", "p_<class>", "reference", "low_quality")
#: The rhythm context of the beats (S -> N) also spans a break shorter than this (s) between two detected AF episodes
#: (:func:`cardiacml.ecg.rhythm.bridge_episodes`): such a break is no sinus rhythm to be premature against (on
#: MIT-BIH, atrial flutter with regular conduction between two AF stretches: 202, 222). The episodes and the AF
#: burden are reported without it. Chosen (0.4.8) leaving one record out over the 44 DS1 + DS2 records: each
#: held-out record gets the value of 0 / 30 / 45 / 60 / 75 / 90 / 120 s that removes the most false S less true S
#: lost on the others (201 and 202 one patient): 90 s in 43 folds, 120 s with 222 held out; DS1 alone cannot choose
#: (no DS1 beat changes below 120 s). See benchmarks/RESULTS.md.
CONTEXT_BRIDGE_S = 90.0


class PredictionInterrupted(CardiacMLError, KeyboardInterrupt):
    """Ctrl-C / SIGTERM during classification; the message says what was kept where (the CLI exits 130)."""


def _our_partial(path: Path) -> bool:
    """Whether ``path`` is a partial file :func:`predict_record` wrote (a CSV starting ``beat,time_s``, a summary
    with ``"complete": false``): a file of the user's with that name is never removed."""
    try:
        if path.suffix == ".csv":
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.readline().startswith("beat,time_s")
        return json.loads(path.read_text()).get("complete") is False
    except (OSError, ValueError, AttributeError):
        return False


def partial_paths(out_csv) -> tuple[Path, Path]:
    """Where an interrupted :func:`predict_record` puts its rows and summary: ``<stem>.partial.csv`` / ``.summary.json``."""
    out_csv = Path(out_csv)
    part = out_csv.with_name(out_csv.stem + ".partial.csv")
    return part, part.with_name(part.stem + ".summary.json")


@dataclass
class RecordPrediction:
    """What :func:`predict_record` computed.

    Attributes
    ----------
    summary : dict
        The summary also written as ``<csv stem>.summary.json``.
    times_s : ndarray, shape (n,), s
        R-peak time of each classified beat.
    probabilities : ndarray, shape (n, C), float32
    classes : tuple of str, length C
    reference : ndarray, shape (n,), int, or None
        Reference class of each beat from the record's annotations (-1: a detection matching none).
    low_quality : ndarray, shape (n,), bool, or None
        The beat lies in a 10-s window the signal-quality check rejects (:mod:`cardiacml.ecg.quality`): its class is
        less reliable.
    low_quality_stretches_s : list of [start_s, end_s]
        Those windows, merged where they touch (all of them, where the summary keeps the first 200).
    signal : ndarray, shape (N,), float32 mV, or None
        The raw lead, kept with ``keep_signal=True`` (for an interactive page).
    fs : float
        Sampling rate of ``signal`` (Hz).
    lead : str
    """

    summary: dict
    times_s: np.ndarray
    probabilities: np.ndarray
    classes: tuple
    reference: np.ndarray | None
    signal: np.ndarray | None
    fs: float
    lead: str
    low_quality: np.ndarray | None = None
    low_quality_stretches_s: list = ()

    def __repr__(self) -> str:
        """One line (a notebook shows the value of a cell's last line): not every probability and the summary whole."""
        s = self.summary or {}
        extra = [w for w, on in (("reference labels", self.reference is not None), ("signal kept", self.signal is not None),
                                 ("incomplete", s.get("complete") is False)) if on]
        return (f"RecordPrediction({len(self.times_s)} beats of {s.get('record', '?')}, lead {self.lead} at {self.fs:g} "
                f"Hz: {s.get('counts', {})}" + "".join(f", {w}" for w in extra) + ")")

    @property
    def predicted(self) -> np.ndarray:
        """Predicted class index of each beat, shape (n,)."""
        return self.probabilities.argmax(1) if len(self.probabilities) else np.zeros(0, np.int64)


def format_rows(first: int, t: np.ndarray, prob: np.ndarray, classes, ref: np.ndarray | None,
                low: np.ndarray | None = None) -> str:
    """CSV rows (``beat, time_s, predicted, p_<class>..., [reference], [low_quality]``) of a block of beats numbered
    from ``first`` (``low``: bool (n,), written as 0 / 1).

    ``t`` may hold NaN (already-cut beats have no time): written as an empty field. One ``%`` formatting of the whole
    block (a row format repeated n times) rather than per-column string arrays: 3-4x faster.
    """
    n = len(t)
    for name, col in (("prob", prob), ("ref", ref), ("low", low)):
        if col is not None and len(col) != n:
            raise ValueError(f"format_rows: {name} has {len(col)} rows for {n} beats")
    if n == 0:
        return ""
    t = np.asarray(t, np.float64)
    finite = np.isfinite(t)
    cols = [range(first, first + n),
            t.tolist() if finite.all() else np.where(finite, np.char.mod("%.4f", np.nan_to_num(t)), "").tolist(),
            np.asarray(classes, dtype=object)[prob.argmax(1)].tolist()]
    fmt = ["%d", "%.4f" if finite.all() else "%s", "%s"] + ["%.5f"] * prob.shape[1]
    cols += [prob[:, j].astype(np.float64).tolist() for j in range(prob.shape[1])]
    if ref is not None:
        names = np.asarray(list(classes) + ["-"], dtype=object)
        cols.append(names[np.where((ref >= 0) & (ref < len(classes)), ref, len(classes))].tolist())
        fmt.append("%s")
    if low is not None:
        cols.append(np.asarray(low, bool).astype(np.int64).tolist())
        fmt.append("%d")
    return ((",".join(fmt) + "\n") * n) % tuple(v for row in zip(*cols) for v in row)


def csv_header(classes, with_reference: bool, with_quality: bool = False) -> str:
    return ",".join(["beat", "time_s", "predicted"] + [f"p_{k}" for k in classes] + (["reference"] if with_reference else [])
                    + (["low_quality"] if with_quality else [])) + "\n"


def _contract(predictor, contract) -> SignalContract:
    c = contract if contract is not None else getattr(predictor, "contract", None)
    if c is None:
        raise DataFormatError("the model has no input contract; predict_record needs a beat classifier")
    c = SignalContract.from_dict(c) if isinstance(c, dict) else c
    if c.kind not in ("beat-rhythm", "beat"):
        raise DataFormatError(f"the model's input contract is {c.kind!r}; predict_record needs a beat classifier "
                              "(beat or beat-rhythm)")
    check_contract(c)
    return c


def _other_leads_hint(leads, used) -> str:
    """``"; lead 'X' was read: the recording also has ['Y'], choose one with --lead"`` when it has other ECG leads (the
    lead read, chosen by default, can be the noisy one: a loose electrode); else ``""``."""
    from ..io.records import NOT_ECG

    others = [str(n) for n in leads if str(n) != str(used) and not NOT_ECG.match(str(n).strip())]
    if not others:
        return ""
    shown = others[:8] + (["..."] if len(others) > 8 else [])
    return f"; lead {str(used)!r} was read: the recording also has {shown}, choose one with --lead"


def predict_record(predictor, record: Record, out_csv, *, contract: SignalContract | None = None, lead=None,
                   use_annotations: bool = True, block_beats: int = BLOCK_BEATS, chunk_s: float = CHUNK_S,
                   show_progress: bool | None = None, on_block=None, keep_signal: bool = False,
                   rhythm: bool = True, consensus: bool = True, qrs_check: bool = True,
                   conducted_check: bool = True, sinus_check: bool = True, fibrillation_check: bool = True,
                   context_bridge_s: float = CONTEXT_BRIDGE_S, adapted: dict | None = None) -> RecordPrediction:
    """Classify every beat of a raw record; write ``out_csv`` and ``<out_csv stem>.summary.json``.

    Parameters
    ----------
    predictor : object
        Has ``.predict(X) -> probabilities (n, n_classes)`` (e.g. :class:`cardiacml.inference.predict.TorchRunner`
        or :class:`cardiacml.inference.onnx_export.OnnxPredictor`) and, unless ``contract`` is given, ``.contract``.
    record : cardiacml.io.Record
        Any recording :func:`cardiacml.io.open_record` opened.
    out_csv : path
        Per-beat CSV, columns :data:`CSV_COLUMNS` (``reference`` when the record has beat annotations;
        ``-`` for a detection that matches none).
    contract : SignalContract, optional
        The model's input contract (default: ``predictor.contract``): ``beat-rhythm`` (streamed) or ``beat``.
    lead : str, int or None
        Lead to classify (name or 0-based index; None: :func:`cardiacml.io.records.default_lead`, MLII / II, else a
        channel named ECG / EKG, else the first that is not EEG, EOG, SpO2, pressure...).
    use_annotations : bool
        Take R peaks from the record's annotations when it has them (else detect them).
    on_block : callable(X), optional
        Called with every block of model inputs (tests use it to compare with training's arrays).
    keep_signal : bool
        Keep the raw lead in the result (for an interactive page): 4 bytes a sample.
    rhythm : bool
        Find atrial fibrillation / flutter episodes from the R-R series (:func:`cardiacml.ecg.rhythm.detect_af`;
        summary keys ``rhythm_episodes``, ``af_burden``) and classify the beats inside them in that context
        (:func:`in_rhythm_context`: an irregular beat in AF is not called S for its prematurity), and the beats in
        a break shorter than ``context_bridge_s`` between two of them.
    context_bridge_s : float
        The rhythm context also spans breaks shorter than this (s, finite, >= 0) between two AF episodes
        (:data:`CONTEXT_BRIDGE_S`; 0: inside the episodes only, the beats as cardiacml 0.4.7 classified them). The
        episodes and the burden are not changed by it; the summary lists the bridged breaks
        (``rhythm.context_bridges``, lighter bands on the HTML page) and counts the beats it moved from S to N there
        (``rhythm.s_reassigned_to_n_in_bridges``). The episodes are found on the whole recording first, so in an
        interrupted run a beat may be bridged to an episode after the point where classification stopped.
    consensus : bool
        ``beat-rhythm`` models: pool each beat's V probability with its nearest neighbours in shape in the same
        recording (:func:`cardiacml.inference.consensus.morphology_consensus`; summary key ``consensus``).
    qrs_check : bool
        ``beat-rhythm`` models: a beat called S (after the rhythm context) whose QRS differs from its local template
        is called V (:func:`cardiacml.inference.consensus.qrs_check`; summary key ``qrs_check``). Not applied to a
        patient-adapted model (``adapted``): it has learnt this patient's own S beats, aberrant ones included.
    conducted_check : bool
        ``beat-rhythm`` models: then a beat called V or F whose QRS is that of the nearby beats called N loses its V
        and F probabilities (:func:`cardiacml.inference.consensus.conducted_check`; summary key
        ``conducted_check``); inside the rhythm context (AF / flutter) the QRS complexes are compared after fitting
        their amplitude (0.4.12). Not applied to a patient-adapted model either.
    sinus_check : bool
        ``beat-rhythm`` models: then a beat called S whose P-wave region is that of the nearby beats called N (the
        sinus P wave at the sinus PR) is called N (:func:`cardiacml.inference.consensus.sinus_check`; summary key
        ``sinus_check``). Not applied to a patient-adapted model either.
    fibrillation_check : bool
        ``beat-rhythm`` models: then a beat called S among beats called N with no repeatable P wave and irregular
        N-to-N intervals (atrial fibrillation the episode detector missed) is called N
        (:func:`cardiacml.inference.consensus.fibrillation_check`; summary key ``fibrillation_check``). Not applied to
        a patient-adapted model either.
    adapted : dict, optional
        How the predictor was adapted to this patient (``minutes`` of labelled beats, ...; see
        ``cardiacml.inference.predict``): written to the summary as ``adapted``, with the agreement with the reference
        on the beats after those minutes when the record has reference labels. ``{"skipped": reason}``: adapting was
        asked for and not done (the predictor is the general model, with its checks); the reason is written to the
        summary as ``adaptation_skipped``.

    Returns
    -------
    RecordPrediction
        Summary (beats, per-class counts and rates per hour, skipped beats and why, source, timings,
        completeness and, with references, agreement and an AAMI report) and the per-beat arrays.

    Raises
    ------
    DataFormatError, MissingDataError
        Unreadable / unusable input (named in the message); nothing is written.
    """
    if int(block_beats) < 1:
        raise ValueError(f"block_beats must be >= 1, got {block_beats!r}")
    if not (np.isfinite(context_bridge_s) and context_bridge_s >= 0):
        raise ValueError(f"context_bridge_s must be a finite number of seconds >= 0, got {context_bridge_s!r}")
    c = _contract(predictor, contract)
    classes = tuple(c.target_names)
    t_start = time.time()
    if not isinstance(record, Record):
        raise TypeError("predict_record takes a cardiacml.io.Record; open a file with cardiacml.io.open_record(path)")
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    summary_path = out_csv.with_name(out_csv.stem + ".summary.json")
    from ..utils import check_output

    check_output(out_csv, what="output")
    check_output(summary_path, what="output")  # before the work: a read-only summary left an old one beside a new CSV
    if c.kind == "beat-rhythm":
        bar1 = progress(total=round(record.duration_s), desc="R peaks", unit="s of ECG", every_s=10.0,
                        disable=True if show_progress is False else None)
        try:
            scan = scan_record(record, lead, use_annotations, chunk_s=chunk_s, keep_signal=keep_signal,
                               progress=lambda n: bar1.update(n / record.fs))
        finally:
            bar1.close()
        n_total, times, labels = len(scan.peaks), scan.peaks / scan.fs, _reference_labels(scan.labels, classes)
        source, skipped, lead_name, signal = scan.source, dict(scan.skipped), record.leads[scan.lead], scan.signal
        how = scan.how
        blocks = iter_rhythm_blocks(scan, block_beats=block_beats)
        breaks_s = None if scan.breaks is None else scan.breaks / scan.fs  # lead-off / saturated stretches
        clipped = scan.clipped
        n_reference = scan.n_reference
    else:
        breaks_s = n_reference = clipped = None
        d = kachuee_beats(record, lead, use_annotations, strict_checks=True, keep_signal=keep_signal)
        if len(d["X"]) == 0:
            raise DataFormatError(f"{record.path}: no beats could be cut (R peaks found but no 10 s window held two)")
        n_total, times, labels = len(d["X"]), d["time_s"], _reference_labels(d.get("label"), classes)
        source, skipped, lead_name, signal = d["source"], dict(d["skipped"]), d["lead"], d.get("signal")
        how = d["how"]
        blocks = iter([(np.arange(n_total), d["X"][:, None, :])])
    read_lead, peaks, filtered = _lead_reader(record, lead if c.kind != "beat-rhythm" else scan.lead, times,
                                              scan.filtered if c.kind == "beat-rhythm" else None)
    quality = _quality(record, read_lead, peaks, filtered)
    from ..ecg.quality import HR_RANGE_BPM as HR

    rate = 60.0 / float(np.median(np.diff(times))) if len(times) > 1 else float("nan")
    if n_total and not (~quality["low_quality"]).any() and (~_quality(record, read_lead, peaks, filtered,
                                                                      wide=True)["low_quality"]).mean() >= 0.5:
        # clean apart from its rate (a bradycardia of 35 /min, a tachycardia of 190): most beats pass at any rate a
        # heart beats at (a 35 /min strip of MIT-BIH 100's beats 87 %; white noise 0-6 %, its few windows of 3
        # detections passing on the rate rules alone): classified, every beat flagged
        quality["warning"] = (f"every 10 s window's heart rate lies outside the {HR[0]:g}-{HR[1]:g} /min the "
                              f"signal-quality check accepts (median {rate:.0f} /min), though the beats are alike: a "
                              "brady- or tachycardia? The beats were classified and all flagged low_quality: check them")
    elif n_total and not (~quality["low_quality"]).any():  # no plausible ECG anywhere: no classes at all
        skipped[SKIP_NO_RELIABLE] = skipped.get(SKIP_NO_RELIABLE, 0) + int(n_total)
        blocks, n_total, times = iter(()), 0, np.zeros(0)
        labels = None if labels is None else labels[:0]
        quality["warning"] = ("no reliable beats: no 10 s window of the recording looks like an ECG "
                              f"({len(quality['low_quality'])} detections rejected by the signal-quality check); "
                              + (f"the detections come at {rate:.0f} /min, outside the {HR[0]:g}-{HR[1]:g} /min the "
                                 "check accepts, and are not alike enough for a brady- or tachycardia; "
                                 if np.isfinite(rate) and not HR[0] <= rate <= HR[1] else "") + "nothing was classified"
                              + _other_leads_hint(record.leads, lead_name))
        quality["low_quality"] = quality["low_quality"][:0]
    af = (_rhythm(record, read_lead, peaks, times, classes, filtered, context_bridge_s,
                  realign=how != "annotations") if rhythm and n_total else None)
    probs = np.zeros((n_total, len(classes)), np.float32)
    # consensus needs every beat's neighbours in shape: the model runs block by block, the rows are written at the end
    shapes = (np.zeros((n_total, len(range(0, C_RHYTHM.W, CO.STEP))), np.float32)
              if consensus and c.kind == "beat-rhythm" and "V" in classes else None)
    general = adapted is None or "skipped" in adapted  # the checks judge a general model's calls
    qrs = (np.zeros(n_total, np.float32) if qrs_check and general and c.kind == "beat-rhythm"
           and {"S", "V"} <= set(classes) else None)
    waves = (np.zeros((n_total, CO.QRS[1] - CO.QRS[0]), np.float32) if conducted_check and general
             and c.kind == "beat-rhythm" and {"N", "V"} <= set(classes) else None)
    pw = (np.zeros((n_total, CO.PWAVE[1] - CO.PWAVE[0]), np.float32) if (sinus_check or fibrillation_check)
          and general and c.kind == "beat-rhythm" and {"N", "S"} <= set(classes) else None)
    done = 0
    complete = False
    bar = progress(total=n_total, desc="classify", unit="beats", every_s=10.0, disable=True if show_progress is False else None)
    try:
        for idx, X in blocks:
            if on_block is not None:
                on_block(X)
            prob = np.asarray(predictor.predict(X), np.float64)
            if prob.shape != (len(idx), len(classes)):
                raise DataFormatError(f"model returned shape {prob.shape} for {len(idx)} beats and {len(classes)} classes")
            check_outputs_finite(prob, str(record.path))  # a Python caller's predictor is not wrapped as the CLI's is
            probs[idx] = prob
            if shapes is not None:
                shapes[idx] = X[:, 0, :C_RHYTHM.W:CO.STEP]
            if qrs is not None:
                qrs[idx] = CO.qrs_distance(X)
            if waves is not None:
                waves[idx] = CO.qrs_waves(X)
            if pw is not None:
                pw[idx] = CO.p_waves(X)
            done = int(idx[-1]) + 1
            bar.update(len(idx))
        complete = True
    except KeyboardInterrupt:
        if done == 0:
            raise PredictionInterrupted(f"interrupted before any beat was classified; nothing was written"
                                        f"{' and ' + str(out_csv) + ' was left as it was' if out_csv.exists() else ''}"
                                        ) from None
    finally:
        bar.close()
    with _finish_first() as stopped:
        result = _finish(record, out_csv, summary_path, c, classes, probs, done, complete, shapes, qrs, times, af, waves,
                         pw, sinus_check, fibrillation_check, quality, n_total, labels, source, lead_name, skipped,
                         t_start, adapted, signal, breaks_s, n_reference, clipped)
    if stopped:
        raise PredictionInterrupted(f"interrupted after the last beat was classified: the results were finished first, "
                                    f"{out_csv} and {summary_path.name} are complete")
    return result


@contextmanager
def _finish_first():
    """Ctrl-C / SIGTERM while the results are put together and written (seconds, after the classification): noted and
    acted on once they are written (yields a list that holds True then), so the work done is not thrown away. In a
    thread other than the main one signals cannot be deferred: nothing changes there."""
    import signal
    import threading

    stopped: list = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def note(signum, frame):
        stopped.append(True)

    old = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _finish(record, out_csv, summary_path, c, classes, probs, done, complete, shapes, qrs, times, af, waves, pw,
            sinus_check, fibrillation_check, quality, n_total, labels, source, lead_name, skipped, t_start, adapted,
            signal, breaks_s=None, n_reference=None, clipped=None) -> RecordPrediction:
    """The rhythm context and checks, the CSV and the summary of :func:`predict_record` (or of its interrupted part)."""
    merged = _in_context(probs, done, shapes, qrs, times, classes, af, waves, pw if sinus_check else None,
                         pw if fibrillation_check else None)
    counts = np.bincount(probs[:done].argmax(1), minlength=len(classes))
    low = np.asarray(quality["low_quality"], bool)[:n_total]
    rows = csv_header(classes, labels is not None, True) + format_rows(0, times[:done], probs[:done], classes,
                                                                         None if labels is None else labels[:done],
                                                                         low[:done])
    from ..utils import atomic_path, check_output

    if not complete:
        stop_s = float(times[done - 1])
        part_csv, part_json = partial_paths(out_csv)
        check_output(part_csv, what="output")
        with atomic_path(part_csv) as t:
            Path(t).write_text(rows)
        summ = _summary(record, source, lead_name, classes, counts, probs[:done].argmax(1),
                        None if labels is None else labels[:done], skipped, n_total, done, t_start, complete=False,
                        stopped_at_s=stop_s, out_csv=part_csv, quality=quality, done_times=times[:done], af=af,
                        adapted=adapted, pauses=c.kind == "beat-rhythm", consensus=merged,
                        breaks_s=breaks_s, clipped=clipped)
        _write_json(part_json, summ)
        kept = f"{out_csv} was left as it was" if out_csv.exists() else f"{out_csv} was not written"
        raise PredictionInterrupted(
            f"interrupted after {done} of {n_total} beats (t = {stop_s:.1f} s of {record.duration_s:.1f} s): the "
            f"beats classified so far are in {part_csv} (summary {part_json.name}, \"complete\": false); {kept}; "
            "run the same command again for the whole recording")
    with atomic_path(out_csv) as t:
        Path(t).write_text(rows)
    for stale in partial_paths(out_csv):  # an earlier interrupted run of this output: superseded
        if _our_partial(stale):
            stale.unlink()
    summ = _summary(record, source, lead_name, classes, counts, probs.argmax(1), labels, skipped, n_total, done,
                    t_start, complete=complete, stopped_at_s=None, out_csv=out_csv, quality=quality, done_times=times,
                    af=af, adapted=adapted, pauses=c.kind == "beat-rhythm", consensus=merged, breaks_s=breaks_s,
                    n_reference=n_reference, clipped=clipped)
    _write_json(summary_path, summ)
    return RecordPrediction(summ, np.asarray(times, np.float64), probs, classes, labels, signal, float(record.fs),
                            str(lead_name), low, quality["stretches"])


def _lead_reader(record, lead, times, filtered=None):
    """``read(a, b)`` of the classified lead, the beats' R peaks (samples) and whether ``read`` gives band-passed
    samples (from the scan's ``filtered`` lead, when it kept one): what the quality check and the rhythm analysis
    both read."""
    peaks = np.round(np.asarray(times, np.float64) * record.fs).astype(np.int64)
    if filtered is not None:
        return (lambda a, b: filtered[a:b]), peaks, True
    li = int(lead if isinstance(lead, (int, np.integer)) else record.lead_index(lead))
    return (lambda a, b: record.read(a, b, lead=li)), peaks, False


def _rhythm(record, read_lead, peaks, times, classes, filtered=False, bridge_s: float = CONTEXT_BRIDGE_S,
            realign: bool = False) -> dict | None:
    """AF / flutter episodes from the beats' R-R series and the classified lead's atrial activity
    (:func:`cardiacml.ecg.rhythm.detect_af`), whatever the model's classes (without S the context changes no call).
    Adds ``beat_context``
    (bool per beat: in an episode or in a break shorter than ``bridge_s`` between two, :func:`context_beats`).
    ``realign``: the R peaks were detected (not annotated), so the atrial features re-mark them where the detector
    marked beats at different waves of their QRS (:func:`cardiacml.ecg.rhythm.atrial_features`)."""
    from ..ecg.rhythm import atrial_features, bridged_gaps, detect_af

    atrial = atrial_features(read_lead, int(record.n_samples), float(record.fs), peaks, filtered=filtered,
                             realign=realign)
    out = detect_af(np.asarray(times, np.float64), atrial=atrial)
    out["beat_context"] = context_beats(times, out["rhythm_episodes"], bridge_s)
    out["bridge_s"] = float(bridge_s)
    out["bridges"] = bridged_gaps(out["rhythm_episodes"], bridge_s, times)
    out["s_to_n"] = out["s_to_n_bridge"] = 0
    return out


def context_beats(times, episodes, bridge_s: float = CONTEXT_BRIDGE_S) -> np.ndarray:
    """Which beats (R-peak times, s) classification puts in the AF context, bool (n,): those inside ``episodes`` or
    in a break shorter than ``bridge_s`` between two of them, unless it holds a stretch without beats over 10 s (a
    lead off; :func:`cardiacml.ecg.rhythm.bridge_episodes`)."""
    from ..ecg.rhythm import beats_in_episodes, bridge_episodes

    return beats_in_episodes(times, bridge_episodes(episodes, bridge_s, times))


def in_rhythm_context(prob: np.ndarray, in_af: np.ndarray, classes) -> tuple[np.ndarray, int]:
    """Condition beat-class probabilities on the rhythm: inside atrial fibrillation / flutter, S becomes N.

    In AAMI EC57 terms beats conducted during AF are N: an irregular R-R, which is all that makes a beat "premature",
    is the rhythm itself there. So for beats with ``in_af`` the S probability is added to N's (V, F and Q, which
    the beat's shape decides, are left as they are). Returns (probabilities, number of beats whose argmax moved from
    S to N).
    """
    classes = list(classes)
    prob = np.array(prob, np.float64, copy=True)
    if not {"N", "S"} <= set(classes):  # a model without S (or N): nothing is premature, nothing to condition
        return prob, 0
    n, s = classes.index("N"), classes.index("S")
    was_s = (prob.argmax(1) == s) & in_af
    prob[in_af, n] += prob[in_af, s]
    prob[in_af, s] = 0.0
    return prob, int(was_s.sum())


def _in_context(probs: np.ndarray, n: int, shapes, qrs, times, classes, af, waves=None, pw=None,
                fib_w=None) -> dict:
    """Put the first ``n`` beats' probabilities in context, in place: morphology consensus over the beats' shapes
    (``shapes`` None: not applied), then the rhythm (S -> N inside AF episodes and the short breaks between them,
    ``af["beat_context"]``, counted in ``af["s_to_n"]``), then the QRS check on the beats still called S (``qrs``
    None: not applied), then the conducted check on the beats called V or F (``waves`` None: not applied), then the
    sinus check on the beats called S (``pw`` None: not applied), then the fibrillation check on the beats still
    called S (``fib_w`` None: not applied). Returns
    ``{"consensus": beats whose class the consensus changed, "qrs_check": beats moved from S to V,
    "conducted_check": {"V": .., "F": ..} beats whose call was taken back, "sinus_check": beats moved from S to N,
    "fibrillation_check": beats moved from S to N}``, each None when not applied."""
    out = {"consensus": None, "qrs_check": None, "conducted_check": None, "sinus_check": None,
           "fibrillation_check": None}
    if shapes is not None and n:
        probs[:n], out["consensus"] = CO.morphology_consensus(shapes[:n], probs[:n], classes, times[:n], step=1)
    if af is not None and af["beat_context"][:n].any():
        in_af = af["beat_af"][:n]
        probs[:n], af["s_to_n"] = in_rhythm_context(probs[:n], in_af, classes)
        probs[:n], af["s_to_n_bridge"] = in_rhythm_context(probs[:n], af["beat_context"][:n] & ~in_af, classes)
        af["s_to_n"] += af["s_to_n_bridge"]
    if n and (qrs is not None or waves is not None or pw is not None or fib_w is not None):
        probs[:n], checks = CO.beat_checks(probs[:n], classes, qrs_dist=None if qrs is None else qrs[:n],
                                           qrs_w=None if waves is None else waves[:n],
                                           p_w=None if pw is None else pw[:n], times_s=times[:n],
                                           fib_w=None if fib_w is None else fib_w[:n],
                                           in_af=None if af is None else af["beat_context"][:n])
        out.update(checks)
    return out


def _write_json(path: Path, obj: dict) -> None:
    from ..utils import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1))


def _quality(record, read_lead, peaks, filtered=False, wide=False) -> dict:
    """The signal-quality check (:mod:`cardiacml.ecg.quality`) of the classified lead around the detected beats
    (``wide``: at any heart rate a heart can beat at, :data:`~cardiacml.ecg.quality.WIDE_HR_RANGE_BPM`)."""
    from ..ecg.quality import HR_RANGE_BPM, WIDE_HR_RANGE_BPM, record_quality

    return record_quality(read_lead, int(record.n_samples), float(record.fs), peaks, filtered=filtered,
                          hr_range=WIDE_HR_RANGE_BPM if wide else HR_RANGE_BPM)
