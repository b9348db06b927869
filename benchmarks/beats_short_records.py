"""Beats of short recordings (issue 22): DS2 cut into strips, each classified alone, as 10-s ECGs or event
recordings are.

Model: ``beats-ds1`` (trained on DS1 only; ``--model`` for another). Data: MIT-BIH Arrhythmia DB, DS2 (the 22 de
Chazal test records; ``../shared/data/mitdb``), MLII, R peaks and beat labels from the reference annotations, rhythm
from the .atr aux notes. Each record is classified whole, then cut into strips of ``--seconds`` (default 10) that go
through ``predict_record`` one at a time (their own R-R reference, rhythm analysis and checks; nothing outside the
strip is seen). The AF detector is the shipped one (fitted on all 48 records' rhythm labels, DS2's included, as in
``bench_beats_recorders.py``; its out-of-patient figures on strips: ``af_episodes.py --strips 10``).

Reported per condition: per-class Se / +P / F1 and macro-F1 (N, S, V, F); beats of reference AF / flutter inside a
detected episode; false S and false V per hour in reference AF / flutter and in sinus rhythm ``(N`` stretches.

    python benchmarks/beats_short_records.py [--seconds 10] [--records 202 210 ...] [--model beats-ds1]
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
import af_episodes as AFB  # noqa: E402  (the AF benchmark's reference parsing)


def strips_of(rec, seconds: float):
    """(start_s, in-memory record) per ``seconds``-long strip of ``rec``'s preferred lead, with its annotations;
    ``seconds`` 0: the record whole."""
    from cardiacml.io import ArrayRecord

    li = rec.lead_index(None)
    if not seconds:
        yield 0.0, rec
        return
    x = rec.read(lead=li)
    s, sym = rec.annotations()
    s, sym = np.asarray(s), np.asarray(sym)
    step = int(round(seconds * rec.fs))
    for a in range(0, len(x) - step + 1, step):
        sel = (s >= a) & (s < a + step)
        yield a / rec.fs, ArrayRecord(x[a:a + step], rec.fs, [rec.leads[li]], path=f"{rec.path}[{a / rec.fs:.0f} s]",
                                      annotations=(s[sel] - a, sym[sel]))


def main() -> None:
    from cardiacml.datasets.mitbih import DS2
    from cardiacml.ecg.aami import aami_report, format_report
    from cardiacml.ecg.rhythm import beats_in_episodes
    from cardiacml.errors import DataFormatError
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record
    from cardiacml.pretrained import is_pretrained, pretrained_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="strip length (s); the records whole are scored too")
    ap.add_argument("--records", nargs="*", default=[str(r) for r in DS2])
    ap.add_argument("--model", default="beats-ds1", help="pretrained name, run folder or .pt (default beats-ds1)")
    ap.add_argument("--no-context-bridge", action="store_true",
                    help="rhythm context inside the detected AF episodes only, not across the short breaks between "
                         "two (cardiacml.inference.beats.CONTEXT_BRIDGE_S), as 0.4.7")
    a = ap.parse_args()
    runner = load_runner(pretrained_path(a.model) if is_pretrained(a.model) else a.model)
    tmp = Path(tempfile.mkdtemp())
    t_all = time.time()
    print(f"# {a.model} on {'DS2' if a.records == [str(r) for r in DS2] else 'records ' + ' '.join(a.records)}, MLII, "
          f"reference R peaks; machine: {platform.node()} {platform.processor() or platform.machine()}")
    for seconds in (0.0, a.seconds):
        t0 = time.time()
        yt, yp = [], []
        hours = {"AF": 0.0, "sinus": 0.0}
        false = {(k, c): 0 for k in hours for c in ("S", "V")}
        af_found = af_beats = n_strips = skipped = 0
        for name in a.records:
            rec = open_record(AFB.MITDB / name)
            _, ivals, _ = AFB.reference(name)
            for start, part in strips_of(rec, seconds):
                try:
                    res = predict_record(runner, part, tmp / "p.csv", show_progress=False,
                                         **({"context_bridge_s": 0.0} if a.no_context_bridge else {}))
                except DataFormatError:  # too few beats in the strip to classify
                    skipped += 1
                    continue
                n_strips += 1
                classes = list(res.summary["counts"])
                ref, call = np.asarray(res.reference), res.probabilities.argmax(1)
                t = np.asarray(res.times_s) + start
                ok = ref >= 0
                yt.append(ref[ok])
                yp.append(call[ok])
                in_af = AFB.beat_labels(t, ivals)
                sinus = np.zeros(len(t), bool)
                for t0_, t1_, lab in ivals:
                    if lab == "(N":
                        sinus |= (t >= t0_) & (t < t1_)
                found = beats_in_episodes(res.times_s, res.summary.get("rhythm_episodes", []))
                af_found += int((found & in_af).sum())
                af_beats += int(in_af.sum())
                for k, m in (("AF", in_af), ("sinus", sinus)):
                    if m.sum() > 1:
                        hours[k] += float(np.sum(np.diff(t)[m[1:]])) / 3600
                    for c in ("S", "V"):
                        ci = classes.index(c)
                        false[(k, c)] += int((m & ok & (call == ci) & (ref != ci)).sum())
        rep = aami_report(np.concatenate(yt), np.concatenate(yp))
        what = "whole records" if not seconds else f"{seconds:g}-s strips ({n_strips} classified, {skipped} too short)"
        print(format_report(rep, f"### {what}: {sum(len(y) for y in yt)} beats ({time.time() - t0:.0f} s)"))
        print(f"reference AF / flutter beats inside a detected episode: {af_found}/{af_beats} "
              f"({100 * af_found / max(af_beats, 1):.1f} %)")
        for k in hours:
            print(f"in {k} ({hours[k]:.2f} h): false S {false[(k, 'S')] / max(hours[k], 1e-9):.1f} / h, "
                  f"false V {false[(k, 'V')] / max(hours[k], 1e-9):.1f} / h")
        print(flush=True)
    print(f"total {time.time() - t_all:.0f} s")


if __name__ == "__main__":
    main()
