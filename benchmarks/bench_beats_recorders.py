"""A shipped beat model on DS2 as other recorders would capture it: other rates, gains, noise, leads, detected R peaks.

For each condition, every DS2 record (unseen by ``beats-ds1``) goes through the exact predict path
(:func:`cardiacml.inference.beats.predict_record`); with detected R peaks, beats are scored where a
detection matches a reference beat within 150 ms (unmatched detections and missed beats are
counted apart). Conditions:

* ``annotations-360Hz``: MLII as recorded, reference R peaks;
* ``detected-360Hz``: MLII as recorded, neurokit2 R peaks;
* ``detected-128Hz-noisy``: MLII resampled to 128 Hz, gain x0.4, 30 uV noise, 0.3 Hz / 0.3 mV
  baseline wander, 50 Hz mains 50 uV;
* ``detected-500Hz-inverted``: MLII resampled to 500 Hz and inverted, gain x2.5;
* ``detected-V1-250Hz``: the other lead (V1/V2/V4/V5) at 250 Hz (the models train on MLII mostly).

On request (``--conditions``): ``detected-200Hz`` (MLII resampled to 200 Hz, the rate of the paroxysmal-AF database
the issue names), ``detected-200Hz-noisy`` (and the noise of the 128 Hz condition).

With detected R peaks it also prints what the unmatched detections (no reference beat: a T wave, a blocked P wave, an
artifact) were called: each one called S or V is a false alarm the matched-beat figures do not count.

Each condition also prints false S and false V per hour (matched beats called S / V whose reference is another class)
inside the reference AF / flutter stretches and the sinus-rhythm ``(N`` stretches of the .atr rhythm notes: the issue's
false-alarm figures as another recorder would see them. The AF detector inside ``predict`` is the shipped one, fitted
on all 48 records (DS2 included); ``beats_in_context.py`` gives the leave-one-patient-out figures (reference R peaks).
Since 0.4.13 it also prints how many of those per hour lie in windows the signal-quality check rejects (the beats
CSV's ``low_quality`` column), where a user is told the classes are less reliable.

Usage: python benchmarks/bench_beats_recorders.py [--conditions C1,C2,...] [--no-consensus] [--no-qrs-check] [--no-conducted-check] [--no-sinus-check] [--no-fibrillation-check] [--no-context-bridge] [MODEL=beats-ds1] [RECORD ...]
  RECORD: records to use instead of DS2 (e.g. the DS1 records held out of beats-ds1's training: 106 119 220 223).
  --conditions: the conditions to run, comma-separated (default: the five above); records need the model named
    first (``--conditions detected-200Hz beats-ds1 106 119``: a lone record number would be taken for the model).
  --no-consensus: without the morphology consensus (cardiacml.inference.consensus), as cardiacml 0.4.1 predicted.
  --no-qrs-check: without the QRS check (cardiacml.inference.consensus.qrs_check); with the two below, as 0.4.2 predicted.
  --no-conducted-check: without the conducted check (cardiacml.inference.consensus.conducted_check); with the one below,
    as 0.4.4 predicted.
  --no-sinus-check: without the sinus check (cardiacml.inference.consensus.sinus_check).
  --no-fibrillation-check: without the fibrillation check (cardiacml.inference.consensus.fibrillation_check), as 0.4.6.
  --no-context-bridge: the rhythm context inside AF episodes only, not across the short breaks between two
    (cardiacml.inference.beats.CONTEXT_BRIDGE_S), as 0.4.7.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cardiacml.datasets.mitbih import DS2
from cardiacml.io import open_record
from cardiacml.ecg.aami import aami_report, format_report
from cardiacml.inference.beats import CONTEXT_BRIDGE_S, predict_record
from cardiacml.inference.predict import load_runner
from cardiacml.pretrained import is_pretrained, pretrained_path
from cardiacml.tasks.sources import find_mitdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import af_episodes as AFB  # noqa: E402  (the MIT-BIH rhythm annotations: reference AF and sinus stretches)
from recorders import variant  # noqa: E402  (each condition's signal)


CONDITIONS = ["annotations-360Hz", "detected-360Hz", "detected-128Hz-noisy", "detected-500Hz-inverted", "detected-V1-250Hz"]
EXTRA_CONDITIONS = ["detected-200Hz", "detected-200Hz-noisy"]


def main():
    flags = ("--no-consensus", "--no-qrs-check", "--no-conducted-check", "--no-sinus-check", "--no-fibrillation-check",
             "--no-context-bridge")
    argv = [x for a in sys.argv[1:] for x in (a.split("=", 1) if a.startswith("--conditions=") else [a])]
    conds = list(CONDITIONS)
    if argv.count("--conditions") > 1:
        sys.exit("--conditions given twice; give one comma-separated list")
    if "--conditions" in argv:
        k = argv.index("--conditions")
        if k + 1 >= len(argv) or argv[k + 1].startswith("-"):
            sys.exit("--conditions needs a comma-separated list, e.g. --conditions detected-200Hz")
        conds = list(dict.fromkeys(c for c in argv[k + 1].split(",") if c))
        if not conds:
            sys.exit("--conditions needs at least one condition, e.g. --conditions detected-200Hz")
        unknown = [c for c in conds if c not in CONDITIONS + EXTRA_CONDITIONS]
        if unknown:
            sys.exit(f"unknown condition {unknown[0]}; conditions: {', '.join(CONDITIONS + EXTRA_CONDITIONS)}")
        argv = argv[:k] + argv[k + 2:]
    args = [a for a in argv if a not in flags]
    consensus, check = "--no-consensus" not in sys.argv[1:], "--no-qrs-check" not in sys.argv[1:]
    conducted, sinus = "--no-conducted-check" not in sys.argv[1:], "--no-sinus-check" not in sys.argv[1:]
    fib = "--no-fibrillation-check" not in sys.argv[1:]
    bridge = "--no-context-bridge" not in sys.argv[1:]
    if any(a.startswith("-") for a in args):
        sys.exit(f"unknown option {next(a for a in args if a.startswith('-'))}; options: --conditions, {', '.join(flags)}")
    name = args[0] if args else "beats-ds1"
    records = args[1:] or list(DS2)
    which = "DS2" if records == list(DS2) else "records " + " ".join(records)
    runner = load_runner(pretrained_path(name) if is_pretrained(name) else name)
    mitdb = find_mitdb()
    tmp = Path(tempfile.mkdtemp())
    for cond in conds:
        t0 = time.time()
        rng = np.random.default_rng(0)
        yt, yp, unmatched, refs, rec_hours = [], [], 0, 0, 0.0
        unmatched_as = {}  # what the detections that are no beat were called
        hours, false = {"AF": 0.0, "sinus": 0.0}, {(k, c): 0 for k in ("AF", "sinus") for c in ("S", "V")}
        false_low = dict.fromkeys(false, 0)  # of them, in windows the signal-quality check rejects
        for r in records:
            rec = variant(open_record(mitdb / r), cond, rng)
            s = predict_record(runner, rec, tmp / "p.csv", use_annotations=cond.startswith("annotations"), show_progress=False,
                               consensus=consensus, qrs_check=check,
                               conducted_check=conducted, sinus_check=sinus,
                               fibrillation_check=fib, context_bridge_s=CONTEXT_BRIDGE_S if bridge else 0.0).summary
            import pandas as pd

            df = pd.read_csv(tmp / "p.csv")
            ok = df["reference"] != "-"
            classes = list(s["counts"])
            yt.append(df.loc[ok, "reference"].map(classes.index).to_numpy())
            yp.append(df.loc[ok, "predicted"].map(classes.index).to_numpy())
            unmatched += int((~ok).sum())
            for c, k in df.loc[~ok, "predicted"].value_counts().items():
                unmatched_as[c] = unmatched_as.get(c, 0) + int(k)
            rec_hours += rec.duration_s / 3600.0
            refs += int(np.isin(rec.annotations()[1], list("NLRejAaJSVEF/fQ")).sum())
            # false S / V per hour in the reference AF / flutter and sinus-rhythm stretches (a matched beat called S or
            # V whose reference is not that class)
            _, ivals, length = AFB.reference(r)
            t, ref, pred = df.loc[ok, "time_s"].to_numpy(), df.loc[ok, "reference"].to_numpy(), df.loc[ok, "predicted"].to_numpy()
            low = df.loc[ok, "low_quality"].to_numpy() == 1
            for key, labs in (("AF", AFB.AF), ("sinus", ("(N",))):
                inside, h = AFB.rhythm_stretches(t, ivals, labs, length)
                hours[key] += h
                for c in ("S", "V"):
                    false[key, c] += int(((pred == c) & (ref != c) & inside).sum())
                    false_low[key, c] += int(((pred == c) & (ref != c) & inside & low).sum())
        rep = aami_report(np.concatenate(yt), np.concatenate(yp))
        n = sum(len(a) for a in yt)
        print(format_report(rep, f"### {name}{'' if consensus else ' (no consensus)'}{'' if check else ' (no QRS check)'}{'' if conducted else ' (no conducted check)'}{'' if sinus else ' (no sinus check)'}{'' if fib else ' (no fibrillation check)'}{'' if bridge else ' (no context bridge)'} on {which}, {cond}: {n} matched beats of {refs} reference beats "
                                 f"(missed {refs - n}), {unmatched} unmatched detections ({time.time() - t0:.0f} s)"))
        print("false alarms per hour (matched beats): "
              + ", ".join(f"{c} in {k} {false[k, c] / max(hours[k], 1e-9):.1f}" for k in ("AF", "sinus") for c in ("S", "V"))
              + f" (reference AF / flutter {hours['AF']:.2f} h, sinus rhythm {hours['sinus']:.2f} h; the AF detector "
              "shipped was fitted on all 48 records: leave-one-patient-out figures on reference R peaks in "
              "beats_in_context.py)")
        print("  of them in low-quality windows (the CSV's low_quality column): "
              + ", ".join(f"{c} in {k} {false_low[k, c] / max(hours[k], 1e-9):.1f}" for k in ("AF", "sinus") for c in ("S", "V")))
        if unmatched:
            print("unmatched detections (no reference beat: false alarms of their own when called S or V) called: "
                  + ", ".join(f"{c} {unmatched_as.get(c, 0)}" for c in ("N", "S", "V", "F", "Q"))
                  + f"; S + V per hour of recording {(unmatched_as.get('S', 0) + unmatched_as.get('V', 0)) / rec_hours:.1f} "
                  f"({rec_hours:.2f} h)")
        print(flush=True)


if __name__ == "__main__":
    main()
