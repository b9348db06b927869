"""Beat classes on real 12-lead recordings of another database, every lead: how many beats a model flags.

Data: the 19 Georgia 12-lead recordings of ``../shared/data/real_12lead`` (PhysioNet/CinC 2021; 10 s, 500 Hz; none
has an ectopy diagnosis: sinus rhythm, bradycardia, tachycardia, RBBB, long QT, LVH, T-wave abnormality). Each
lead goes through ``predict_record`` (detected R peaks, rhythm context on), as a user's recording would. Reported:
the beats called N / S / V / F / Q per lead over the 19 recordings. There are no beat labels: a beat called S or V
is a suspect, not an error (a short record may hold a real ectopic beat), but a model that flags many on
recordings without ectopy diagnoses raises false alarms on other recorders.

    python benchmarks/beats_real_12lead.py [MODEL=beats-ds1] [--no-consensus]
"""

from __future__ import annotations

import argparse
import collections
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heart_real import SHARED  # noqa: E402  (where the shared data is, as the heart benchmark finds it)

DATA = SHARED / "real_12lead"
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def main() -> None:
    import cardiacml
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default="beats-ds1", help="a registered model name or a checkpoint path")
    ap.add_argument("--no-consensus", action="store_true", help="classify without the morphology consensus")
    args = ap.parse_args()
    model = args.model
    runner = load_runner(model)
    heads = sorted(DATA.glob("*.hea"))
    if not heads:
        sys.exit(f"no recordings in {DATA}")
    print(f"{len(heads)} real 12-lead recordings ({DATA}), model {model}, cardiacml {cardiacml.__version__}; "
          f"consensus {'off' if args.no_consensus else 'on'}; machine {platform.machine()}, python {platform.python_version()}")
    print(f"{'lead':5s} {'beats':>6s}  N / S / V / F / Q called   records with S or V   [records called AF]")
    total = collections.Counter()
    af_leads = 0
    for lead in LEADS:
        c, flagged, af = collections.Counter(), [], []
        for h in heads:
            with tempfile.TemporaryDirectory() as d:
                res = predict_record(runner, open_record(h.with_suffix("")), Path(d) / "b.csv", lead=lead,
                                     show_progress=False, consensus=not args.no_consensus)
            cls = np.asarray(res.probabilities).argmax(1)
            k = collections.Counter("NSVFQ"[i] for i in cls)
            c.update(k)
            if k["S"] or k["V"]:
                flagged.append(f"{h.stem}:{k['S']}S{k['V']}V")
            if res.summary.get("rhythm_episodes"):  # none of these recordings has an AF / flutter diagnosis
                af.append(h.stem)
        total.update(c)
        af_leads += len(af)
        print(f"{lead:5s} {sum(c.values()):6d}  " + " / ".join(str(c[x]) for x in "NSVFQ") + "   " + " ".join(flagged)
              + (f"   [AF: {' '.join(af)}]" if af else ""))
    n = sum(total.values())
    print(f"all   {n:6d}  " + " / ".join(str(total[x]) for x in "NSVFQ")
          + f"   not N: {100 * (n - total['N']) / max(n, 1):.1f} %; AF episodes in {af_leads} of "
          f"{len(heads) * len(LEADS)} leads (no recording has an AF / flutter diagnosis)")


if __name__ == "__main__":
    main()
