"""Patient-adaptive beat classification on MIT-BIH DS2 (AAMI EC57 patient-specific protocol), before / after.

Model: ``beats-ds1`` (trained on DS1 only). Each of the 22 DS2 records goes through ``predict`` itself
(:func:`cardiacml.inference.predict.predict_file`, what ``cardiacml predict beats-ds1 RECORD`` runs) twice: as it is,
and with ``adapt_minutes=5`` (``--adapt-minutes 5``): the reference-labelled beats of the first 5 minutes adapt a copy
of the model (:func:`cardiacml.training.adapt.adapt_model`: class-balanced cross-entropy over the classes the labels
show + L2-SP towards the pretrained weights), which then classifies the record. Both outputs are what ``predict``
writes: the morphology consensus and the rhythm context (AF / flutter episodes: S -> N) for both; the QRS, conducted,
sinus and fibrillation checks for the general model only (an adapted model has learnt this patient's own beats); a
record whose labelled first minutes hold one class is not adapted (nothing to learn from: ``predict`` says so and
classifies it with the general model and its checks). Reference R peaks (the evaluation convention); the beats of the
remaining 25 minutes are scored: per-class Se / +P / F1 pooled over DS2, N/S/V/F macro-F1
(:func:`cardiacml.ecg.aami.aami_report`), and per record the S and V errors of both.

Until 0.4.15 this benchmark rebuilt the output from the model's probabilities (consensus and QRS check only, no
rhythm context, conducted, sinus or fibrillation check) and so did not score what ``predict`` writes
(0.4.15: V F1 0.941 there against 0.958 from ``predict``; benchmarks/RESULTS.md, twenty-second session).

Published patient-specific results on the same protocol (MIT-BIH, first 5 min of each test record adapt; figures as
they are usually quoted, not re-checked against the papers here, which this machine cannot reach): Kiranyaz, Ince &
Gabbouj 2016 (IEEE TBME 63(3):664, 1-D CNN, 44 records): SVEB Se 64.6 / +P 62.1, VEB Se 95.0 / +P 89.5; de Chazal &
Reilly 2006 (IEEE TBME 53(12):2535, patient-adaptable LDA): SVEB Se 87.7 / +P 47.0, VEB Se 94.3 / +P 96.2.

    python benchmarks/patient_adaptive.py [--minutes 5] [--records 100 103 ...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

CLASSES = ("N", "S", "V", "F", "Q")


def _errors(y: np.ndarray, p: np.ndarray, k: int) -> str:
    """``false positives / false negatives`` of class ``k``."""
    return f"{int(np.sum((p == k) & (y != k)))}/{int(np.sum((p != k) & (y == k)))}"


def main() -> None:
    import pandas as pd

    from cardiacml.datasets.mitbih import DS2
    from cardiacml.ecg.aami import aami_report
    from cardiacml.inference.predict import predict_file
    from cardiacml.tasks.sources import find_mitdb

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--records", nargs="*", default=[str(r) for r in DS2])
    ap.add_argument("--keep", type=Path, default=None, help="write predict's outputs (CSV + summary) here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    Y, P = [], {"general": [], "adapted": []}
    not_adapted: list[str] = []
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        out = a.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name in a.records:
            frames = {}
            for tag, kw in (("general", {}), ("adapted", {"adapt_minutes": a.minutes})):
                csv = out / f"{name}_{tag}.csv"
                with contextlib.redirect_stderr(io.StringIO()):  # the progress bars
                    predict_file("beats-ds1", find_mitdb() / name, csv, **kw)
                frames[tag] = pd.read_csv(csv)
                if tag == "adapted" and "adaptation_skipped" in json.loads(csv.with_suffix(".summary.json").read_text()):
                    not_adapted.append(name)
            g = frames["general"]
            test = (g["time_s"].to_numpy() >= 60.0 * a.minutes) & g["reference"].isin(CLASSES).to_numpy()
            y = g["reference"][test].map(CLASSES.index).to_numpy()
            Y.append(y)
            for tag, f in frames.items():
                P[tag].append(f["predicted"][test].map(CLASSES.index).to_numpy())
            pg, pa = P["general"][-1], P["adapted"][-1]
            lines.append(f"{name:>6s} {len(y):6d} {int(np.sum(y == 1)):5d} {int(np.sum(y == 2)):5d}   "
                         f"{_errors(y, pg, 1):>9s} {_errors(y, pa, 1):>9s}   {_errors(y, pg, 2):>9s} {_errors(y, pa, 2):>9s}"
                         + ("   not adapted" if name in not_adapted else ""))
    y = np.concatenate(Y)
    print(f"MIT-BIH DS2 ({len(a.records)} records), adapt on the first {a.minutes:g} min (reference labels), test on the "
          f"rest: {len(y)} beats; beats-ds1 through predict_file (predict's output: consensus, rhythm context, checks); "
          f"machine {platform.machine()}, python {platform.python_version()}; total {time.perf_counter() - t0:.0f} s")
    if not_adapted:
        print(f"not adapted (one class in the labelled first minutes; general model + checks, as predict): "
              f"{len(not_adapted)} of {len(a.records)} records: {' '.join(not_adapted)}")
    print(f"{'model':26s} " + " ".join(f"{c + ' Se/+P/F1':>18s}" for c in CLASSES[:4]) + f" {'macroF1':>8s}")
    for label, tag in (("general (beats-ds1)", "general"), ("patient-adapted", "adapted")):
        rep = aami_report(y, np.concatenate(P[tag]), CLASSES)  # EC57: per-class N, S, V, F; reference Q beats apart
        cells = [f"{100 * v['se']:.1f}/{100 * v['ppv']:.1f}/{v['f1']:.3f}" for v in rep["per_class"].values()]
        print(f"{label:26s} " + " ".join(f"{c:>18s}" for c in cells) + f" {rep['macro_f1_nsvf']:8.3f}")
    print("\nper record, beats after the first minutes; errors as false positives / false negatives")
    print(f"{'record':>6s} {'beats':>6s} {'S':>5s} {'V':>5s}   {'S general':>9s} {'S adapted':>9s}   "
          f"{'V general':>9s} {'V adapted':>9s}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
