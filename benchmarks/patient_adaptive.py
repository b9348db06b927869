"""Patient-adaptive beat classification on MIT-BIH DS2 (AAMI EC57 patient-specific protocol), before / after.

Model: ``beats-ds1`` (trained on DS1 only). For each of the 22 DS2 records: the reference-labelled beats of the first
5 minutes adapt a copy of the model (:func:`cardiacml.training.adapt.adapt_model`: class-balanced cross-entropy +
L2-SP towards the pretrained weights), which then classifies the remaining 25 minutes; the general model classifies
the same beats. Reference R peaks and labels (the evaluation convention). Per-class Se / +P / F1 pooled over DS2's
test minutes, N/S/V/F macro-F1; each model alone and with the morphology consensus over the record
(:mod:`cardiacml.inference.consensus`) and then the QRS check (:func:`cardiacml.inference.consensus.qrs_check`),
what ``predict`` outputs for the general model (the rhythm context aside); ``predict`` leaves the QRS check out for an
adapted model (it has learnt the patient's own S beats), its row says what the check would do. As ``predict``, a
record whose labelled first minutes hold one class only is not adapted: its adapted rows take the general model's
output with its checks (consensus + QRS check), what ``predict`` writes for it.

Published patient-specific results on the same protocol (MIT-BIH, first 5 min of each test record adapt; figures as
they are usually quoted, not re-checked against the papers here, which this machine cannot reach): Kiranyaz, Ince &
Gabbouj 2016 (IEEE TBME 63(3):664, 1-D CNN, 44 records): SVEB Se 64.6 / +P 62.1, VEB Se 95.0 / +P 89.5; de Chazal &
Reilly 2006 (IEEE TBME 53(12):2535, patient-adaptable LDA): SVEB Se 87.7 / +P 47.0, VEB Se 94.3 / +P 96.2.

    python benchmarks/patient_adaptive.py [--minutes 5] [--epochs 30] [--records 100 103 ...]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

CLASSES = ("N", "S", "V", "F", "Q")


def main() -> None:
    from cardiacml.datasets.mitbih import DS2
    from cardiacml.ecg.aami import aami_report
    from cardiacml.contracts.rhythm import W
    from cardiacml.ecg.pipeline import rhythm_beats
    from cardiacml.inference.consensus import morphology_consensus, qrs_check, qrs_distance
    from cardiacml.io import open_record
    from cardiacml.tasks.sources import find_mitdb
    from cardiacml.training.adapt import adapt_model
    from cardiacml.training.checkpoint import load_run
    from cardiacml.training.loop import predict_array

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--records", nargs="*", default=[str(r) for r in DS2])
    a = ap.parse_args()
    torch.manual_seed(0)
    model, rec = load_run("beats-ds1")
    t0 = time.perf_counter()
    Y, P0, P1 = [], {"alone": [], "consensus": [], "qrs": []}, {"alone": [], "consensus": [], "qrs": []}
    t_adapt = 0.0
    one_class: list[str] = []
    for name in a.records:
        d = rhythm_beats(open_record(find_mitdb() / name), None, use_annotations=True)
        X, y, t = d["X"], d["label"], d["time_s"]
        early = t < 60.0 * a.minutes
        test = ~early & (y >= 0) & (y < len(CLASSES))
        first = early & (y >= 0) & (y < len(CLASSES))
        Y.append(y[test])
        if np.count_nonzero(np.bincount(y[first], minlength=len(CLASSES))) < 2:
            one_class.append(name)  # predict: not adapted, the general model with its checks
            adapted = None
        else:
            ta = time.perf_counter()
            adapted = adapt_model(model, X[first], y[first], len(CLASSES), epochs=a.epochs)
            t_adapt += time.perf_counter() - ta
        for P, m in ((P0, model), (P1, adapted)):
            if m is None:
                P["alone"].append(P0["alone"][-1])
                P["consensus"].append(P0["qrs"][-1])
                P["qrs"].append(P0["qrs"][-1])
                continue
            prob = predict_array(m, X)
            # predict's output: the morphology consensus over the whole record's beats, the adapting minutes too
            P["alone"].append(prob[test].argmax(1))
            pooled = morphology_consensus(X[:, 0, :W], prob, CLASSES, t)[0]
            P["consensus"].append(pooled[test].argmax(1))
            P["qrs"].append(qrs_check(pooled, qrs_distance(X), CLASSES)[0][test].argmax(1))
    y = np.concatenate(Y)
    print(f"MIT-BIH DS2 ({len(a.records)} records), adapt on the first {a.minutes:g} min (reference labels), test on the "
          f"rest: {len(y)} beats; beats-ds1; {a.epochs} epochs; machine {platform.machine()}, python "
          f"{platform.python_version()}; adaptation {t_adapt / max(1, len(a.records) - len(one_class)):.1f} s per "
          f"adapted record, total {time.perf_counter() - t0:.0f} s")
    if one_class:
        print(f"not adapted (one class in the labelled first minutes; general model + checks, as predict): "
              f"{len(one_class)} records: {' '.join(one_class)}")
    print(f"{'model':26s} " + " ".join(f"{c + ' Se/+P/F1':>18s}" for c in CLASSES[:4]) + f" {'macroF1':>8s}")
    rows = (("general (beats-ds1)", P0["alone"]), ("general + consensus", P0["consensus"]),
            ("  + QRS check", P0["qrs"]), ("patient-adapted", P1["alone"]), ("adapted + consensus", P1["consensus"]),
            ("  + QRS check (unused)", P1["qrs"]))
    for label, P in rows:
        p = np.concatenate(P)
        rep = aami_report(y, p, CLASSES)  # EC57: per-class Se / +P / F1 of N, S, V, F; reference Q beats apart
        cells = [f"{100 * v['se']:.1f}/{100 * v['ppv']:.1f}/{v['f1']:.3f}" for v in rep["per_class"].values()]
        print(f"{label:26s} " + " ".join(f"{c:>18s}" for c in cells) + f" {rep['macro_f1_nsvf']:8.3f}")


if __name__ == "__main__":
    main()
