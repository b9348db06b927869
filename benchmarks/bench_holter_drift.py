"""Beats on a long recording whose rate and amplitude drift: the DS2 records alone vs inside a 24-hour Holter.

A real Holter's rate changes over the day (night bradycardia, exercise, the onset of a tachycardia) and its QRS
amplitude with posture and electrode changes. The 24-hour record of ``bench_holter.py`` (the 48 MIT-BIH records
joined, MLII, 360 Hz, reference R peaks; built in ``$CARDIACML_CACHE/holter``) is such a recording, harsher than one
patient's. Each DS2 record is classified alone and as its stretch of the Holter, by ``predict_record`` with the
reference R peaks and rhythm context off (the model alone). Reported: AAMI per-class F1 and macro-F1 (N, S, V, F) over
the 22 DS2 records, both ways, with the contract's references (since contract v3: the R-R reference (median; since v4 the 90th
percentile) and the QRS-amplitude median of the whole record up to ``REFERENCE_SPAN_S``, 40 min, else of the 40 min
centred on the beat) and, with the same weights,
with references over the whole record however long (contract v2's span, this contract's statistics). A record alone is shorter than the span, so its
inputs, and its rows, are the same both ways.

    python benchmarks/bench_holter_drift.py [--model beats-ds1]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import bench_holter

    from cardiacml.contracts import rhythm as C
    from cardiacml.datasets.mitbih import DS2
    from cardiacml.ecg.aami import aami_report
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record
    from cardiacml.tasks.sources import find_mitdb
    from cardiacml.utils import default_cache_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="beats-ds1")
    a = ap.parse_args()
    t0 = time.perf_counter()
    mitdb = find_mitdb()
    holter = bench_holter.build_holter(24.0, default_cache_dir() / "holter")
    names = (mitdb / "RECORDS").read_text().split()
    n_rec = open_record(mitdb / names[0]).n_samples  # every MIT-BIH record has 650,000 samples
    runner = load_runner(a.model)
    own = C.REFERENCE_SPAN_S
    print(f"model {a.model}; data: MIT-BIH DS2 ({len(DS2)} records) alone and inside a 24-h Holter of the 48 records "
          f"joined; reference R peaks; rhythm context off; machine {platform.machine()}, python {platform.python_version()}")
    print("| references | DS2 records | N F1 | S F1 | V F1 | F F1 | macro-F1 |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for label, span in ((f"v{C.VERSION}: whole record up to {own / 60:g} min, else {own / 60:g} min around the beat", own),
                            ("whole-record references (v2's span)", float("inf"))):
            C.REFERENCE_SPAN_S = span
            # the same weights, told that their references are this span (the contract check compares the two)
            as_span = C.rhythm_contract(runner.contract.target_names)
            try:
                h = predict_record(runner, open_record(holter), Path(d) / "h.csv", show_progress=False, rhythm=False,
                                   contract=as_span)
                ht, hp, href = np.asarray(h.times_s), np.asarray(h.probabilities).argmax(1), np.asarray(h.reference)
                Y = {"alone": [], "inside the Holter": []}
                P = {"alone": [], "inside the Holter": []}
                for k, name in enumerate(names):
                    if name not in DS2:
                        continue
                    r = predict_record(runner, open_record(mitdb / name), Path(d) / "r.csv", show_progress=False,
                                       rhythm=False, contract=as_span)
                    ref = np.asarray(r.reference)
                    ok = (ref >= 0) & (ref < 5)
                    Y["alone"].append(ref[ok])
                    P["alone"].append(np.asarray(r.probabilities).argmax(1)[ok])
                    sel = (ht >= k * n_rec / 360.0) & (ht < (k + 1) * n_rec / 360.0) & (href >= 0) & (href < 5)
                    Y["inside the Holter"].append(href[sel])
                    P["inside the Holter"].append(hp[sel])
            finally:
                C.REFERENCE_SPAN_S = own
            for way in Y:
                rep = aami_report(np.concatenate(Y[way]), np.concatenate(P[way]))
                f1 = [rep["per_class"][c]["f1"] for c in ("N", "S", "V", "F")]
                print(f"| {label} | {way} | " + " | ".join(f"{v:.3f}" for v in f1) + f" | {rep['macro_f1_nsvf']:.3f} |")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
