"""Beats in rhythm context (issue 22): false S / V per hour in AF and in sinus rhythm, DS2 per class, before/after.

Model: ``beats-ds1`` (trained on DS1 only; ``--model`` for another). Data: MIT-BIH Arrhythmia DB, DS2 (the 22 de Chazal test records, unseen
patients; ``../shared/data/mitdb``), R peaks and beat labels from the reference annotations (the AAMI evaluation
convention), rhythm from the .atr aux notes. Compared on the same beats and the same model outputs:

- ``beat only``: the model's class per beat, with the morphology consensus (:mod:`cardiacml.inference.consensus`;
  ``--no-consensus``: without, as cardiacml 0.4.1) and the QRS check (:func:`cardiacml.inference.consensus.qrs_check`:
  a beat called S with a QRS unlike its template is V; ``--no-qrs-check``: without), the
  conducted check (:func:`cardiacml.inference.consensus.conducted_check`: a beat called V or F whose QRS matches the
  nearby N beats' is neither; ``--no-conducted-check``: without) and the sinus check
  (:func:`cardiacml.inference.consensus.sinus_check`: a beat called S with the nearby N beats' P wave is N;
  ``--no-sinus-check``: without; all three off: as cardiacml 0.4.2; the last two off: as 0.4.4) and the fibrillation
  check (:func:`cardiacml.inference.consensus.fibrillation_check`: a beat called S among N beats with no repeatable
  P wave and irregular N-N intervals is N; ``--no-fibrillation-check``: without, as 0.4.6);
- ``in context``: the consensus's probabilities conditioned on the rhythm found from the R-R series
  (:func:`cardiacml.inference.beats.in_rhythm_context`: inside a detected AF / flutter episode, or a break shorter
  than :data:`cardiacml.inference.beats.CONTEXT_BRIDGE_S` between two, S -> N; ``--no-context-bridge``: inside the
  episodes only, as 0.4.7), then the QRS
  check, the conducted check, the sinus check and the fibrillation check, in ``predict``'s order. The AF
  detector (R-R + atrial activity) is refitted leaving the record's patient out (201 and 202 are one patient), so the record's own rhythm
  labels never choose its episodes;
- ``oracle``: the same rule with the reference AF episodes (what a perfect AF detector would give).

Reported: per-class Se / +P / F1 and macro-F1 (N, S, V, F) over DS2; false S and false V per hour in reference AF /
flutter stretches and in reference sinus-rhythm ``(N`` stretches (a false S is a beat called S whose reference is
not S).

    python benchmarks/beats_in_context.py [--records 202 203 ...]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import af_episodes as AFB  # noqa: E402  (the AF benchmark's reference parsing and LOPO fit)

from cardiacml.ecg import rhythm as R  # noqa: E402

CLASSES = ("N", "S", "V", "F", "Q")


def record_beats(runner, name: str, consensus: bool = True):
    """(times s, probabilities, reference labels, QRS distances, QRS waves, P waves) of one MIT-BIH record through
    cardiacml's predict path (rhythm context and the checks off; morphology consensus as ``consensus``)."""
    import tempfile

    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.consensus import p_waves, qrs_distance, qrs_waves
    from cardiacml.io import open_record

    qrs, waves, pw = [], [], []
    with tempfile.TemporaryDirectory() as d:
        res = predict_record(runner, open_record(AFB.MITDB / name), Path(d) / "b.csv", show_progress=False,
                             rhythm=False, consensus=consensus, qrs_check=False, conducted_check=False,
                             sinus_check=False, fibrillation_check=False, on_block=lambda X: (qrs.append(qrs_distance(X)),
                                                                    waves.append(qrs_waves(X)), pw.append(p_waves(X))))
    return (res.times_s, np.asarray(res.probabilities, np.float64), res.reference, np.concatenate(qrs),
            np.concatenate(waves), np.concatenate(pw))


def lopo_af_model(name: str, feats: dict) -> dict:
    """The AF detector refitted on every record except ``name``'s patient (their MLII, other-recorder copies and 10-s
    strips, as the shipped one is fitted: ``af_episodes.COPIES``, ``af_episodes.FIT_STRIP_S``)."""
    held = {name, AFB.PATIENT.get(name, name)} | {k for k, v in AFB.PATIENT.items() if v == name}
    X = np.concatenate([f for k, rows in feats.items() if k not in held for f, _ in rows])
    y = np.concatenate([y for k, rows in feats.items() if k not in held for _, y in rows])
    return AFB.fit(X, y)


def main() -> None:
    from cardiacml.datasets.mitbih import DS2
    from cardiacml.ecg.aami import aami_report
    from cardiacml.inference.beats import CONTEXT_BRIDGE_S, context_beats, in_rhythm_context
    from cardiacml.inference.consensus import beat_checks
    from cardiacml.inference.predict import load_runner

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", nargs="*", default=[str(r) for r in DS2])
    ap.add_argument("--model", default="beats-ds1", help="pretrained name, run folder or .pt (default beats-ds1)")
    ap.add_argument("--no-consensus", action="store_true",
                    help="without the morphology consensus (cardiacml.inference.consensus), as cardiacml 0.4.1")
    ap.add_argument("--no-qrs-check", action="store_true",
                    help="without the QRS check (cardiacml.inference.consensus.qrs_check); with the two below: as 0.4.2")
    ap.add_argument("--no-conducted-check", action="store_true",
                    help="without the conducted check (cardiacml.inference.consensus.conducted_check); with the one below: as 0.4.4")
    ap.add_argument("--no-sinus-check", action="store_true",
                    help="without the sinus check (cardiacml.inference.consensus.sinus_check)")
    ap.add_argument("--no-fibrillation-check", action="store_true",
                    help="without the fibrillation check (cardiacml.inference.consensus.fibrillation_check), as 0.4.6")
    ap.add_argument("--no-context-bridge", action="store_true",
                    help="rhythm context inside the detected AF episodes only, not across the short breaks between "
                         "two (cardiacml.inference.beats.CONTEXT_BRIDGE_S), as 0.4.7")
    a = ap.parse_args()
    t_start = time.perf_counter()
    # AF-detector training data of all 48 records (features + per-beat reference AF), for the leave-one-out refits
    feats, atr = {}, {}
    for f in sorted(AFB.MITDB.glob("*.atr")):
        t, ivals, _ = AFB.reference(f.stem)
        atr[f.stem] = AFB.atrial(f.stem, t)
        y_af, rr = AFB.beat_labels(t, ivals), R.rr_features(t)
        feats[f.stem] = [(np.hstack([rr, atr[f.stem]]), y_af)] + [(X, y_af) for X in AFB.atrial_copies(f.stem, t, rr)]
        if AFB.FIT_STRIP_S:  # and its 10-s strips, each analysed alone (0.4.6)
            feats[f.stem].append(AFB.strip_training_rows(f.stem, t, ivals, AFB.FIT_STRIP_S))
    runner = load_runner(a.model)
    modes = ("beat only", "in context", "oracle")
    Y, P = [], {m: [] for m in modes}
    fs_af = {m: [0, 0] for m in modes}  # false S, false V in AF
    fs_n = {m: [0, 0] for m in modes}
    hours_af = hours_n = 0.0
    per_rec = {}  # record -> false S in reference AF, per mode
    sinus_rec = {}  # record -> false S in reference sinus rhythm, in context
    for name in a.records:
        t, prob, ref, qrs, waves, pw = record_beats(runner, name, not a.no_consensus)
        def check(q, qrs=None if a.no_qrs_check else qrs, waves=None if a.no_conducted_check else waves,
                  pw=None if a.no_sinus_check else pw, fw=None if a.no_fibrillation_check else pw, in_af=None):
            return beat_checks(q, CLASSES, qrs_dist=qrs, qrs_w=waves, p_w=pw, times_s=t, fib_w=fw, in_af=in_af)[0]
        _, ivals, length = AFB.reference(name)
        ok = (ref >= 0) & (ref < len(CLASSES))
        (ref_af, h_af), (ref_n, h_n) = (AFB.rhythm_stretches(t, ivals, labs, length) for labs in (AFB.AF, ("(N",)))
        hours_af, hours_n = hours_af + h_af, hours_n + h_n
        t_ref, _, _ = AFB.reference(name)
        eps = R.detect_af(t_ref, lopo_af_model(name, feats), atrial=atr[name])["rhythm_episodes"]
        det_ref = context_beats(t_ref, eps, 0.0 if a.no_context_bridge else CONTEXT_BRIDGE_S)
        j = np.clip(np.searchsorted(t_ref, t), 0, len(t_ref) - 1)  # the predict path skips a few edge beats
        j = np.where(np.abs(t_ref[np.maximum(j - 1, 0)] - t) < np.abs(t_ref[j] - t), np.maximum(j - 1, 0), j)
        det = det_ref[j]
        out = {"beat only": check(prob), "in context": check(in_rhythm_context(prob, det, CLASSES)[0], in_af=det),
               "oracle": check(in_rhythm_context(prob, ref_af, CLASSES)[0], in_af=ref_af)}
        Y.append(ref[ok])
        for m in modes:
            p = out[m].argmax(1)
            P[m].append(p[ok])
            for where, acc in ((ref_af, fs_af), (ref_n, fs_n)):
                w = where & ok
                acc[m][0] += int(((p == 1) & (ref != 1))[w].sum())
                acc[m][1] += int(((p == 2) & (ref != 2))[w].sum())
                if where is ref_af and w.any():
                    per_rec.setdefault(name, {})[m] = int(((p == 1) & (ref != 1))[w].sum())
                if where is ref_n and m == "in context":
                    sinus_rec[name] = int(((p == 1) & (ref != 1))[w].sum())
    y = np.concatenate(Y)
    print(f"MIT-BIH DS2 ({len(a.records)} records, {len(y)} beats; reference R peaks and labels), model {a.model}; "
          f"{'no ' if a.no_consensus else ''}morphology consensus, {'no ' if a.no_qrs_check else ''}QRS check, {'no ' if a.no_conducted_check else ''}conducted check, {'no ' if a.no_sinus_check else ''}sinus check, {'no ' if a.no_fibrillation_check else ''}fibrillation check, {'no ' if a.no_context_bridge else ''}context bridge; AF hours {hours_af:.2f}, sinus-rhythm hours {hours_n:.2f}; machine {platform.machine()}, "
          f"python {platform.python_version()}")
    print(f"{'mode':12s} " + " ".join(f"{c + ' Se/+P/F1':>18s}" for c in CLASSES[:4])
          + f" {'macroF1':>8s} {'falseS/h AF':>11s} {'falseV/h AF':>11s} {'falseS/h N':>10s} {'falseV/h N':>10s}")
    for m in modes:
        p = np.concatenate(P[m])
        rep = aami_report(y, p, CLASSES)  # EC57: per-class Se / +P / F1 of N, S, V, F; reference Q beats apart
        cells = [f"{v['se']:.2f}/{v['ppv']:.2f}/{v['f1']:.3f}" for v in rep["per_class"].values()]
        print(f"{m:12s} " + " ".join(f"{c:>18s}" for c in cells) + f" {rep['macro_f1_nsvf']:8.3f} "
              f"{fs_af[m][0] / max(hours_af, 1e-9):11.1f} {fs_af[m][1] / max(hours_af, 1e-9):11.1f} "
              f"{fs_n[m][0] / max(hours_n, 1e-9):10.1f} {fs_n[m][1] / max(hours_n, 1e-9):10.1f}")
    print("false S in reference AF per record (beat only -> in context): "
          + ", ".join(f"{k} {v['beat only']} -> {v['in context']}" for k, v in per_rec.items()))
    print("false S in reference sinus rhythm per record (in context, records with 10 or more): "
          + ", ".join(f"{k} {v}" for k, v in sorted(sinus_rec.items(), key=lambda kv: -kv[1]) if v >= 10))
    print(f"({time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
