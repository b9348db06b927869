"""Classify every beat of a raw recording, streamed, into a CSV plus a JSON summary.

:func:`predict_record` is the function ``cardiacml predict MODEL RECORD`` calls for raw
recordings. With a ``beat-rhythm`` model the record is streamed (two passes, see
:mod:`cardiacml.ecg.pipeline`): memory stays bounded whatever the length, rows are written
as blocks of beats are classified, a progress bar (or, when stderr is not a terminal,
a log line every ~10 s) shows beats done and time left. With a Kaggle ``beat`` model the
record is cut whole with the Kachuee rule (fine for recordings of an hour or so).

Output is atomic: rows go to a hidden temporary sibling that is renamed at the end, so
an error leaves nothing. Ctrl-C during the classification pass leaves a valid CSV of the
beats done so far whose last line (a ``#`` comment, skipped by ``pandas.read_csv(...,
comment="#")``) says where it stopped, and a summary with ``"complete": false``;
Ctrl-C before any beat was classified leaves nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from . import contract as C
from .pipeline import BLOCK_BEATS, CHUNK_S, as_record, iter_rhythm_blocks, kachuee_beats, scan_record


class StreamProgress:
    """Progress of a long pass: a tqdm bar on a terminal, else a log line every ``every_s`` seconds.

    ``CARDIACML_PROGRESS=0`` silences both; ``show=False`` too.
    """

    def __init__(self, total: float, desc: str, unit: str, show: bool | None = None, every_s: float = 10.0, scale: float = 1.0):
        forced = os.environ.get("CARDIACML_PROGRESS")
        self.enabled = (forced != "0") if show is None else bool(show)
        self.tty = sys.stderr.isatty() or forced == "1"
        self.total, self.desc, self.unit, self.every, self.scale = total, desc, unit, every_s, scale
        self.done, self.t0, self.last = 0.0, time.time(), time.time()
        self.bar = None
        if self.enabled and self.tty:
            from ..utils import progress

            self.bar = progress(total=total * scale, desc=desc, unit=unit, disable=False)

    def update(self, n: float, **postfix) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n * self.scale)
            if postfix:
                self.bar.set_postfix(**postfix, refresh=False)
            return
        now = time.time()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            frac = self.done / max(self.total, 1e-9)
            el = now - self.t0
            left = el / frac - el if frac > 0 else float("nan")
            extra = "".join(f", {k} {v}" for k, v in postfix.items())
            print(f"[cardiacml] {self.desc}: {self.done * self.scale:,.0f}/{self.total * self.scale:,.0f} {self.unit} "
                  f"({100 * frac:.0f} %{extra}), {el:.0f} s elapsed, ~{left:.0f} s left", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _format_rows(first: int, t: np.ndarray, prob: np.ndarray, classes, ref: np.ndarray | None) -> str:
    pred = np.asarray(classes, dtype=object)[prob.argmax(1)]
    cols = [np.arange(first, first + len(t)).astype(str), np.char.mod("%.4f", t), pred.astype(str)]
    cols += [np.char.mod("%.5f", prob[:, j]) for j in range(prob.shape[1])]
    if ref is not None:
        names = np.asarray(list(classes) + ["-"], dtype=object)
        cols.append(names[np.where((ref >= 0) & (ref < len(classes)), ref, len(classes))].astype(str))
    rows = cols[0]
    for c in cols[1:]:
        rows = np.char.add(np.char.add(rows, ","), c)
    return "\n".join(rows.tolist()) + ("\n" if len(t) else "")


def predict_record(predictor, record, out_csv, *, lead=None, use_annotations: bool = True, block_beats: int = BLOCK_BEATS,
                   chunk_s: float = CHUNK_S, show_progress: bool | None = None, on_block=None) -> dict:
    """Classify every beat of a raw record; write ``out_csv`` and ``<out_csv stem>.summary.json``.

    Parameters
    ----------
    predictor : object
        Has ``.contract`` (a ``"beat-rhythm"`` or ``"beat"`` contract dict with ``classes``) and
        ``.predict(X) -> probabilities (n, n_classes)`` (e.g. predict's ``_TorchRunner`` or
        :class:`cardiacml.inference.onnx_export.OnnxPredictor`).
    record : Record or path
        Any recording :func:`cardiacml.data.records.open_record` reads.
    out_csv : path
        Per-beat CSV: ``beat, time_s, predicted, p_<class>..., [reference]`` (reference when
        the record has beat annotations; ``-`` for a detection that matches none).
    lead : str, int or None
        Lead to classify (None: MLII, else II, else the first).
    use_annotations : bool
        Take R peaks from the record's annotations when it has them (else detect them).
    on_block : callable(X), optional
        Called with every block of model inputs (tests use it to compare with training's arrays).

    Returns
    -------
    dict
        The summary also written as JSON: beats, per-class counts and rates per hour,
        skipped beats and why, source, timings, completeness, and, with references,
        agreement and an AAMI report.

    Raises
    ------
    DataFormatError, MissingDataError
        Unreadable / unusable input (named in the message); nothing is written.
    """
    c = dict(predictor.contract or {})
    kind = c.get("kind")
    if kind not in ("beat-rhythm", "beat"):
        raise DataFormatError(f"the model's input contract is {kind!r}; predict_record needs a beat classifier (beat or beat-rhythm)")
    C.check_contract(c)
    classes = list(c["classes"])
    t_start = time.time()
    record = as_record(record)
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    summary_path = out_csv.with_name(out_csv.stem + ".summary.json")
    tmp = out_csv.with_name(f".{out_csv.name}.tmp{os.getpid()}")
    if kind == "beat-rhythm":
        bar1 = StreamProgress(record.duration_s, "R peaks", "s of ECG", show_progress)
        try:
            scan = scan_record(record, lead, use_annotations, chunk_s=chunk_s, progress=lambda n: bar1.update(n / record.fs))
        finally:
            bar1.close()
        n_total, times, labels = len(scan.peaks), scan.peaks / scan.fs, scan.labels
        source, skipped, lead_name = scan.source, dict(scan.skipped), record.leads[scan.lead]
        blocks = iter_rhythm_blocks(scan, block_beats=block_beats)
    else:
        d = kachuee_beats(record, lead, use_annotations, strict_checks=True)
        if len(d["X"]) == 0:
            raise DataFormatError(f"{record.path}: no beats could be cut (R peaks found but no 10 s window held two)")
        n_total, times, labels = len(d["X"]), d["r_peak_s"], d.get("label")
        source, skipped, lead_name = d["source"], dict(d["skipped"]), d["lead"]
        blocks = iter([(np.arange(n_total), d["X"][:, None, :])])
    header = ["beat", "time_s", "predicted"] + [f"p_{k}" for k in classes] + (["reference"] if labels is not None else [])
    counts = np.zeros(len(classes), np.int64)
    preds = np.zeros(n_total, np.int64)
    done = 0
    complete = False
    bar = StreamProgress(n_total, "classify", "beats", show_progress)
    fh = open(tmp, "w", newline="")
    try:
        fh.write(",".join(header) + "\n")
        try:
            for idx, X in blocks:
                if on_block is not None:
                    on_block(X)
                prob = np.asarray(predictor.predict(X), np.float64)
                if prob.shape != (len(idx), len(classes)):
                    raise DataFormatError(f"model returned shape {prob.shape} for {len(idx)} beats and {len(classes)} classes")
                fh.write(_format_rows(int(idx[0]), times[idx], prob, classes, None if labels is None else labels[idx]))
                p = prob.argmax(1)
                preds[idx] = p
                counts += np.bincount(p, minlength=len(classes))
                done = int(idx[-1]) + 1
                bar.update(len(idx), beats_per_s=f"{done / max(1e-9, time.time() - t_start):,.0f}")
            complete = True
        except KeyboardInterrupt:
            if done == 0:
                raise
            stop_s = float(times[done - 1])
            fh.write(f"# INCOMPLETE: interrupted after beat {done - 1} (t = {stop_s:.3f} s of {record.duration_s:.3f} s); "
                     f"{done} of {n_total} beats classified, rows above are complete\n")
            fh.close()
            os.replace(tmp, out_csv)
            summ = _summary(record, source, lead_name, classes, counts, preds[:done], None if labels is None else labels[:done],
                            skipped, n_total, done, t_start, complete=False, stopped_at_s=stop_s, out_csv=out_csv)
            _write_json(summary_path, summ)
            raise
        fh.close()
        os.replace(tmp, out_csv)
    finally:
        bar.close()
        if not fh.closed:
            fh.close()
        if tmp.exists():
            tmp.unlink()
    summ = _summary(record, source, lead_name, classes, counts, preds, labels, skipped, n_total, done, t_start,
                    complete=complete, stopped_at_s=None, out_csv=out_csv)
    _write_json(summary_path, summ)
    return summ


def _write_json(path: Path, obj: dict) -> None:
    from ..utils import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1))


def _summary(record, source, lead_name, classes, counts, preds, labels, skipped, n_total, done, t_start, *, complete,
             stopped_at_s, out_csv) -> dict:
    hours = record.duration_s / 3600.0
    el = time.time() - t_start
    s = {
        "complete": complete, "record": str(record.path), "source": source, "lead": lead_name, "fs_hz": record.fs,
        "duration_s": record.duration_s, "beats": int(done), "beats_found": int(n_total),
        "counts": {k: int(v) for k, v in zip(classes, counts)},
        "per_hour": {k: round(float(v) / hours, 1) if hours > 0 else None for k, v in zip(classes, counts)},
        "skipped": {k: int(v) for k, v in skipped.items()}, "skipped_total": int(sum(skipped.values())),
        "elapsed_s": round(el, 3), "beats_per_s": round(done / el, 1) if el > 0 else None, "output": str(out_csv),
    }
    if stopped_at_s is not None:
        s["stopped_at_s"] = stopped_at_s
    if labels is not None:
        from .aami import aami_report

        ok = labels >= 0
        s["reference"] = {"matched": int(ok.sum()), "unmatched_detections": int((~ok).sum()),
                          "agreement": float((preds[ok] == labels[ok]).mean()) if ok.any() else None}
        if ok.any() and len(classes) == 5:
            s["reference"]["aami"] = aami_report(labels[ok], preds[ok], tuple(classes))
    return s


def summary_text(summ: dict) -> str:
    """One paragraph for the terminal from a :func:`predict_record` summary."""
    counts = ", ".join(f"{k} {v} ({summ['per_hour'][k]}/h)" for k, v in summ["counts"].items() if v)
    msg = (f"{summ['beats']} beats from {summ['source']} -> {summ['output']}: {counts or 'none'}; "
           f"{summ['skipped_total']} skipped" + (f" ({summ['skipped']})" if summ["skipped"] else ""))
    if "reference" in summ and summ["reference"]["agreement"] is not None:
        msg += f"; agreement with reference labels {summ['reference']['agreement']:.4f}"
    if not summ["complete"]:
        msg += f"; INCOMPLETE (stopped at {summ.get('stopped_at_s', 0):.1f} s)"
    return msg
