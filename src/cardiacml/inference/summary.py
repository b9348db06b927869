"""The summary of one recording's beat classification (:func:`cardiacml.inference.beats.predict_record`): the JSON
written beside the beats CSV and the paragraph printed on the terminal, the quality, rhythm, pause, mostly-V and
reference parts of it. Split from ``beats.py`` (which re-exports these names) to keep each module readable."""

from __future__ import annotations

import time

import numpy as np

from ..contracts import rhythm as C_RHYTHM
from . import consensus as CO


def _quality_summary(quality: dict, done_times, predicted=None, classes=(), until_s: float | None = None) -> dict:
    """The summary's ``quality``; ``until_s`` (an interrupted run's stop, the last classified beat's time): the
    windows, rejected windows and stretches that start at or before it only, as the beats counted (a window whose
    first beat is the last one classified counts: window starts and beat times are both sample / fs)."""
    low = np.asarray(quality["low_quality"], bool)[:len(done_times)]
    stretches, n_bad, n_win = quality["stretches"], quality["low_quality_windows"], quality["windows"]
    if until_s is not None:
        starts = np.sort(np.asarray(quality["low_quality_window_starts_s"], np.float64))
        counted = starts[starts <= until_s]  # exact: window starts and beat times are both sample / fs
        n_bad = len(counted)
        u = round(until_s, 3)  # the stretches are rounded to 1 ms: kept where a counted window starts in them
        stretches = [[a, max(a, min(b, u))] for a, b in stretches
                     if np.any((counted >= a - 1e-3) & (counted < b))]
        n_win = int(np.count_nonzero(np.asarray(quality["window_starts_s"]) <= until_s))
    q = {"criterion": quality["criterion"], "windows": n_win,
         "low_quality_windows": n_bad, "low_quality_beats": int(low.sum()),
         "low_quality_stretches_s": stretches[:200]}
    if predicted is not None and len(classes):
        pred = np.asarray(predicted)[:len(low)]
        q["low_quality_counts"] = {str(k): int((pred[low[:len(pred)]] == i).sum()) for i, k in enumerate(classes)}
    if len(stretches) > 200:
        q["low_quality_stretches_truncated"] = len(stretches)
    if quality.get("warning"):
        q["warning"] = quality["warning"]
    return q


#: ``skipped`` key of the detections of a recording with no reliable 10-s window (none classified).
SKIP_NO_RELIABLE = "in no reliable 10 s window (signal-quality check)"
#: The console notes the fibrillation check, and the context bridge, from this many beats moved (fewer: the summary
#: JSON only).
FIB_NOTE_BEATS = 10
#: An R-R interval this many times the record's median is a pause (sinus arrest, a blocked beat, a missed detection).
PAUSE_RATIO = 1.6
#: Above this fraction of pauses the summary notes that S calls are less certain (contract v4's reference: a pause).
PAUSE_NOTE_FRACTION = 0.10


def _pauses(times, breaks_s=None) -> dict | None:
    """The fraction of R-R intervals that are pauses, and a note when it is high enough to move the R-R reference.

    Contract v4 takes the 90th percentile of a record's R-R intervals as the patient's reference: once more than a
    tenth of them are pauses, the reference is a pause and conducted beats look premature. On MIT-BIH only 231 (2:1 AV
    block stretches, 27 % pauses, S calls there wrong) and 232 (sick sinus, 21 %, S calls right) are over 10 %; the
    next is 201 (8.6 % of the annotation times' intervals; 6.7 % at the refined R peaks predict uses). An interval
    over a lead-off / saturated stretch (``breaks_s``, s) is no pause, and left out.
    """
    from ..ecg.rr import broken_intervals

    t = np.asarray(times, np.float64)
    if len(t) < 20:
        return None
    rr = np.diff(t)[~broken_intervals(t, breaks_s)]
    frac = float((rr > PAUSE_RATIO * np.median(rr)).mean())
    out = {"fraction_of_intervals": round(frac, 4), "pause": f"R-R > {PAUSE_RATIO:g} x the record's median"}
    if frac > PAUSE_NOTE_FRACTION:
        out["note"] = (f"{100 * frac:.0f} % of the R-R intervals are pauses (> {PAUSE_RATIO:g} x the median: sinus "
                       "arrest, blocked beats or missed detections): the R-R reference is then a pause, and conducted "
                       "beats can be called S; check the S beats, or adapt the model to this patient (--adapt-minutes "
                       "/ --adapt-labels)")
    return out


#: When at least this fraction of a recording's beats is called V, the summary says what that can mean.
MOSTLY_V_FRACTION = 0.5


def _mostly_v(preds, classes) -> dict | None:
    """A note when most beats are called V: a ventricular rhythm, or a lead whose QRS shape the model does not know.

    On the 44 non-paced MIT-BIH records the largest share of V calls is 0.34 (200; 208 0.33): a whole recording
    mostly V is a ventricular rhythm or a lead unlike the MLII the models learnt on (a real sinus-rhythm 12-lead ECG
    had every beat of leads III and aVF called V, none of lead II). The classes are left as they are.
    """
    if "V" not in classes or len(preds) < 5:
        return None
    frac = float(np.mean(np.asarray(preds) == list(classes).index("V")))
    if frac < MOSTLY_V_FRACTION:
        return None
    return {"fraction": round(frac, 4),
            "note": (f"{100 * frac:.0f} % of the beats are called V: a ventricular rhythm, or a lead whose QRS the model "
                     "does not know (it learnt on MLII mostly); if the rhythm looks regular and the rate normal, "
                     "classify another lead (--lead; II or MLII where the recording has it) before trusting these "
                     "calls")}


def _reference_labels(labels, classes):
    """A record's reference labels (AAMI indices N=0 S=1 V=2 F=3 Q=4, -1: no match; :func:`cardiacml.ecg.pipeline.
    beat_annotations`) as indices into the model's ``classes`` by name (-2 where the model has no such class), or
    None when it has none of them (a healthy / abnormal model: the annotations say nothing of its classes)."""
    if labels is None:
        return None
    from ..contracts.beat import CLASSES as AAMI

    classes = [str(c) for c in classes]
    if classes == list(AAMI):
        return labels
    to = np.array([classes.index(c) if c in classes else -2 for c in AAMI] + [-1], np.int64)
    if (to[:-1] < 0).all():
        return None
    lab = np.asarray(labels, np.int64)
    return to[np.where((lab >= 0) & (lab < len(AAMI)), lab, len(AAMI))]


def _summary(record, source, lead_name, classes, counts, preds, labels, skipped, n_total, done, t_start, *, complete,
             stopped_at_s, out_csv, quality=None, done_times=(), af=None, adapted=None, pauses=False,
             consensus=None, breaks_s=None, n_reference=None, clipped=None) -> dict:
    # rates per hour over the time actually analysed: the whole record, or up to where an interrupted run stopped,
    # less the stretches without beats over 10 s (a lead off), as the AF burden
    from ..ecg.rhythm import monitored_seconds

    analysed_s = record.duration_s if stopped_at_s is None else min(float(stopped_at_s), record.duration_s)
    rate_s, no_beats_s = monitored_seconds(done_times, analysed_s)
    hours = rate_s / 3600.0
    el = time.time() - t_start
    s = {
        "complete": complete, "record": str(record.path), "source": source, "lead": lead_name, "fs_hz": record.fs,
        "duration_s": record.duration_s, "analysed_s": round(analysed_s, 3), "beats": int(done), "beats_found": int(n_total),
        "counts": {k: int(v) for k, v in zip(classes, counts)},
        "per_hour": {k: round(float(v) / hours, 1) if hours > 0 else None for k, v in zip(classes, counts)},
        "per_hour_of_s": round(rate_s, 3), "no_beat_gaps_s": round(no_beats_s, 3),
        "skipped": {k: int(v) for k, v in skipped.items()}, "skipped_total": int(sum(skipped.values())),
        "elapsed_s": round(el, 3), "beats_per_s": round(done / el, 1) if el > 0 else None, "output": str(out_csv),
    }
    if getattr(record, "notes", None):  # how a text / array file was read (delimiter, header, time, units guessed...)
        s["read_as"] = [str(n) for n in record.notes]
    if clipped:  # the recorder's range cut the waves that reach it (scan_record's PeakScan.clipped)
        s["clipped"] = _clipped(clipped)
    if stopped_at_s is not None:
        s["stopped_at_s"] = stopped_at_s
        if s["skipped_total"]:
            s["skipped_scope"] = "the whole recording (the R-peak pass runs to its end before any beat is classified)"
    if af is not None:
        def started(spans):  # an interrupted run: the episodes (and breaks) that began by its stop (as the quality)
            return [e for e in spans if stopped_at_s is None or e["start_s"] <= stopped_at_s]

        eps = started(af["rhythm_episodes"])
        if stopped_at_s is not None:  # stopped inside a bridged break: the episode after it, which put the break's
            # beats in the AF context, is listed too (it adds no AF time before the stop)
            ends = {round(float(b["end_s"]), 3) for b in started(af.get("bridges", [])) if b["end_s"] > stopped_at_s}
            eps += [e for e in af["rhythm_episodes"] if e["start_s"] > stopped_at_s and round(float(e["start_s"]), 3) in ends]
        s["rhythm_episodes"] = eps
        if stopped_at_s is None or not len(done_times):
            burden = float(af["af_burden"])
        else:  # an interrupted run: of the time analysed up to the stop (an episode running on past it counts up to
            # the stop), as a complete run's is of first beat to last
            from ..ecg.rhythm import af_burden

            burden = af_burden(eps, done_times, until_s=stopped_at_s)
        if not af.get("assessed", True):  # too few beats to say anything of the rhythm
            from ..ecg.rhythm import MIN_BEATS as MIN_RHYTHM_BEATS

            s["af_burden"] = s["af_minutes_per_hour"] = None
            s["rhythm_note"] = (f"fewer than {MIN_RHYTHM_BEATS} beats: the rhythm (atrial fibrillation / flutter) "
                                "was not assessed")
        else:
            s["af_burden"] = round(burden, 6)  # 4 places made the console (35.25 -> "35.2") and the page ("35.3") disagree
            # per hour of the time the burden is measured over (a 10-s ECG in AF reads 60 min/h and 100 %, not 56)
            s["af_minutes_per_hour"] = round(60.0 * burden, 2)
        s["rhythm"] = {"method": "R-R irregularity, atrial activity and ectopy (cardiacml.ecg.rhythm: 8 R-R, 3 P-region "
                                 "and 2 ectopy features over 32 beats, logistic regression fitted on MIT-BIH, episodes "
                                 ">= 30 s, or a shorter recording whose every beat is flagged; none under 8 beats); "
                                 "beats in an episode or in a break shorter than context_bridge_s between two are "
                                 "classified in the AF context (S -> N); the episodes and the burden leave the "
                                 "breaks out; the burden is of the time from the first beat to the last, less any gap "
                                 "without beats over 10 s (a lead off)",
                       "context_bridge_s": af.get("bridge_s", 0.0),
                       "context_bridges": started(af.get("bridges", [])),
                       "s_reassigned_to_n_in_af": int(af["s_to_n"]),
                       "s_reassigned_to_n_in_bridges": int(af.get("s_to_n_bridge", 0))}
    consensus = consensus or {}
    if consensus.get("consensus") is not None:
        s["consensus"] = {"method": f"V probability pooled with the twins (relative squared distance <= "
                                    f"{CO.MAX_DISTANCE}) among the {CO.K} beats nearest in shape within "
                                    f"{CO.SPAN_S / 120:.0f} min (weight {CO.WEIGHT}; cardiacml.inference.consensus)",
                          "beats_changed": int(consensus["consensus"])}
    if consensus.get("qrs_check") is not None:
        s["qrs_check"] = {"method": f"a beat called S whose QRS differs from its local template (relative squared "
                                    f"distance > {CO.QRS_DISTANCE} and > {CO.QRS_FLOOR:g} x the recording's median) "
                                    "is called V (cardiacml.inference.consensus.qrs_check)",
                          "s_reassigned_to_v": int(consensus["qrs_check"])}
    if consensus.get("conducted_check") is not None:
        s["conducted_check"] = {"method": f"a beat called V (F) whose QRS is within {CO.CONDUCTED_DISTANCE} "
                                          f"({CO.CONDUCTED_DISTANCE_F}; or {CO.CONDUCTED_FLOOR:g} x the recording's "
                                          "own variation, if larger) relative squared distance of the median QRS of "
                                          f"the {CO.CONDUCTED_K} beats called N around it (inside AF / flutter scaled "
                                          f"to it first, by a factor within 1/{CO.CONDUCTED_AMPLITUDE:g}-"
                                          f"{CO.CONDUCTED_AMPLITUDE:g}) is supraventricular: its V and F "
                                          "probabilities go to the other classes (cardiacml.inference.consensus."
                                          "conducted_check)",
                                "v_taken_back": int(consensus["conducted_check"].get("V", 0)),
                                "f_taken_back": int(consensus["conducted_check"].get("F", 0))}
    if consensus.get("sinus_check") is not None:
        p0, p1 = (round(i / C_RHYTHM.FS - C_RHYTHM.PRE_S, 3) for i in CO.PWAVE)
        s["sinus_check"] = {"method": f"a beat called S whose P-wave region ({p0:g} to {p1:g} s) is within "
                                      f"{CO.SINUS_DISTANCE} relative squared distance of the median of the "
                                      f"{CO.SINUS_K} beats called N around it is N (cardiacml.inference.consensus."
                                      "sinus_check)",
                            "s_reassigned_to_n": int(consensus["sinus_check"])}
    if consensus.get("fibrillation_check") is not None:
        s["fibrillation_check"] = {"method": f"a beat called S is N where the {CO.FIB_K} beats called N around it "
                                             f"have no repeatable P wave (their P-wave regions, each less its "
                                             f"straight-line fit, at a median relative squared distance to their "
                                             f"median > {CO.FIB_P_VARIATION}) and irregular N-N "
                                             f"intervals (median absolute successive difference > "
                                             f"{CO.FIB_NN_IRREGULARITY:g} x their median, {CO.FIB_HALF} beats on "
                                             "each side): atrial fibrillation "
                                             "(cardiacml.inference.consensus.fibrillation_check)",
                                   "s_reassigned_to_n": int(consensus["fibrillation_check"])}
    if quality is not None:
        s["quality"] = _quality_summary(quality, done_times, preds, classes, stopped_at_s)
        s["reliable"] = not quality.get("warning")
    if pauses:
        p = _pauses(done_times, breaks_s)
        if p is not None:
            s["rr_pauses"] = p
    dom = _mostly_v(preds, classes)
    if dom is not None:
        s["mostly_v"] = dom
    if labels is not None:
        from ..ecg.aami import aami_report

        ok = labels >= 0
        s["reference"] = {"matched": int(ok.sum()), "unmatched_detections": int((labels == -1).sum()),
                          **({"not_a_model_class": int((labels == -2).sum())} if (labels == -2).any() else {}),
                          "agreement": float((preds[ok] == labels[ok]).mean()) if ok.any() else None}
        if n_reference is not None and complete:  # the figures above are of matched beats: say how many were not
            s["reference"]["reference_beats"] = int(n_reference)
            s["reference"]["reference_beats_unclassified"] = int(n_reference) - int((labels != -1).sum())
        if ok.any() and len(classes) == 5 and {"N", "S", "V", "F", "Q"} == set(classes):  # the AAMI classes only
            s["reference"]["aami"] = aami_report(labels[ok], preds[ok], tuple(classes))
    if adapted is not None and "skipped" in adapted:  # asked for, not done: the general model classified
        s["adaptation_skipped"] = str(adapted["skipped"])
    elif adapted is not None:
        s["adapted"] = dict(adapted)
        if labels is not None:  # the honest figure: beats the adaptation never saw
            after = (np.asarray(done_times)[:len(preds)] >= 60.0 * adapted["minutes"]) & (labels >= 0)
            if after.any():
                s["adapted"]["agreement_after"] = float((preds[after] == labels[after]).mean())
                s["adapted"]["beats_after"] = int(after.sum())
    return s


def _clipped(clipped: dict) -> dict:
    """The summary's ``clipped`` entry: the fraction of samples in flat runs at the lead's extremes, the extremes
    (mV) and a note."""
    at = [f"{v:.4g} mV" for v in (clipped.get("low_mv"), clipped.get("high_mv")) if v is not None]
    return {**clipped, "note": (f"the lead looks clipped (ADC saturation): {100 * clipped['fraction']:.1f} % of its "
                                f"samples lie in flat runs at {' and '.join(at)}, its extreme value"
                                f"{'s' if len(at) > 1 else ''}: waves that "
                                "reach the recorder's range are cut flat, so beats there may be missed, found twice "
                                "or misclassified (record with a lower gain or a wider input range if you can)")}


def _duration(seconds: float) -> str:
    """``3 h 05 min 00 s``, ``12 min 04 s`` or ``9.5 s``: :func:`cardiacml.utils.format_duration`, as the record page."""
    from ..utils import format_duration

    return format_duration(seconds)


def summary_text(summ: dict) -> str:
    """One paragraph for the terminal from a :func:`predict_record` summary."""
    counts = ", ".join(f"{k} {v} ({summ['per_hour'][k]}/h)" for k, v in summ["counts"].items() if v)
    msg = (f"{summ['beats']} beats from {summ['source']} -> {summ['output']}: {counts or 'none'}; "
           f"{summ['skipped_total']} skipped" + (f" ({summ['skipped']})" if summ["skipped"] else ""))
    if summ.get("no_beat_gaps_s"):
        msg += (f"; rates per hour of the {_duration(summ['per_hour_of_s'])} with beats "
                f"({_duration(summ['no_beat_gaps_s'])} without a beat for over 10 s left out: a lead off?)")
    if "reference" in summ and summ["reference"]["agreement"] is not None:
        msg += f"; agreement with reference labels {summ['reference']['agreement']:.4f}"
    if summ.get("read_as"):
        msg = "input read as: " + "; ".join(summ["read_as"]) + "\n" + msg
    if summ.get("rhythm_episodes"):
        n_ep = len(summ["rhythm_episodes"])
        msg += (f"; atrial fibrillation/flutter {summ['af_minutes_per_hour']} min/h ({100 * summ['af_burden']:.1f} % "
                f"of the time, {n_ep} episode{'s' if n_ep > 1 else ''})")
    ad = summ.get("adapted")
    if ad:
        msg += (f"; adapted to this patient on {ad['labelled_beats']} labelled beats of the first {ad['minutes']:g} min "
                f"({ad['labels_from']}; {ad['per_class']})"
                + (f", agreement with the reference after them {ad['agreement_after']:.4f}"
                   if ad.get("agreement_after") is not None else ""))
    if not summ["complete"]:
        msg += f"; INCOMPLETE (stopped at {summ.get('stopped_at_s', 0):.1f} s)"
    if (summ.get("clipped") or {}).get("note"):
        msg += f"\nnote: {summ['clipped']['note']}"
    if summ.get("adaptation_skipped"):
        msg += f"\nnote: {summ['adaptation_skipped']}"
    if (summ.get("rr_pauses") or {}).get("note"):
        msg += f"\nnote: {summ['rr_pauses']['note']}"
    if (summ.get("mostly_v") or {}).get("note"):
        msg += f"\nnote: {summ['mostly_v']['note']}"
    rh = summ.get("rhythm") or {}
    bridged, breaks = rh.get("s_reassigned_to_n_in_bridges", 0), len(rh.get("context_bridges") or ())
    if bridged >= FIB_NOTE_BEATS:
        msg += (f"\nnote: {bridged} beats called S in {breaks} break(s) of under {rh.get('context_bridge_s', 0):g} s "
                "between two AF episodes were called N, as inside AF: on MIT-BIH such breaks were atrial flutter, not "
                "a sinus rhythm to be premature against (see 'context_bridges' in the summary JSON)")
    fib = (summ.get("fibrillation_check") or {}).get("s_reassigned_to_n", 0)
    if fib >= FIB_NOTE_BEATS:
        msg += (f"\nnote: {fib} beats called S were called N by the fibrillation check: the beats around them show no "
                "repeatable P wave and irregular N-N intervals, as in atrial fibrillation, "
                + ("outside the AF episodes found" if summ.get("rhythm_episodes") else
                   "and no AF episode was found" if "rhythm" in summ else "and the AF episode detector was not run")
                + " (or noise hides the P waves; see 'fibrillation_check' in the summary JSON)")
    q = summ.get("quality") or {}
    if q.get("warning"):
        msg += f"\nWARNING: {q['warning']}"
    elif q.get("low_quality_beats"):
        called = ", ".join(f"{k} {v}" for k, v in (q.get("low_quality_counts") or {}).items() if v)
        msg += (f"\nnote: {q['low_quality_beats']} beat(s) in {q['low_quality_windows']} low-quality 10 s window(s)"
                + (f", called {called}" if called else "")
                + " (signal-quality check; see 'quality' in the summary JSON and the CSV's low_quality column): their "
                "classes are less reliable")
    return msg
