"""Heart models on real 12-lead ECGs: does the predicted activation obey physiology? (issue 21)

Data: the 19 real 12-lead recordings of ``../shared/data/real_12lead`` (CinC 2021 / Georgia, 10 s at 500 Hz; one
complete right bundle branch block, E07509) and the PTB record ``../shared/data/wfdb_samples/s0010_re`` (1 kHz):
20 real recordings, none of them ever used to fit weights. They have no measured activation, so what is checked
is what physiology requires (Durrer et al. 1970; ``real_12lead/README.md``):

- the earliest site activates at or just after the QRS onset: the window starts 5 ms before the detected onset,
  so the earliest predicted activation should be <= 15-20 ms after the window start;
- the total activation time (latest minus earliest site, TAT) follows the QRS duration (a wide QRS is slow
  activation): Spearman rank correlation over the records;
- in right bundle branch block the RV free wall (sites ``EPI_RV*``) activates after the LV endocardium
  (sites ``AHA*``): the mean RV-free-wall minus mean LV-endocardium delay on E07509 should be >= 20 ms.

QRS duration (``qrs_ms``): measured from all 12 leads on the record's median beat (0.5-40 Hz band-pass, R peaks
on lead II, global onset and offset where the spatial velocity leaves / returns to 12 % of the way from its
baseline / ST level to its QRS maximum: :func:`cardiacml.ecg.twelve_lead.qrs_duration`).

Activation of a Vm model (Task 4): the upstroke's first crossing of -40 mV, as ``predict`` writes it (0 mV, the
LLNL convention, up to 0.4.13).
The unfamiliar-input score of each prediction is reported with its threshold.

    python benchmarks/heart_real.py [MODEL ...]     (run folders, .pt files or pretrained names; default
                                                     heart-act heart-vm)  [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path


HERE = Path(__file__).resolve().parents[1]
SHARED = HERE / ".." / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
GOALS = {"median_earliest_ms": 15.0, "share_earliest_le_20ms": 0.8, "spearman_tat_qrs": 0.5, "rbbb_rv_delay_ms": 20.0}


def real_records(shared: Path = SHARED) -> list[Path]:
    """The 20 real 12-lead recordings (WFDB base paths, without extension)."""
    recs = sorted(p.with_suffix("") for p in (shared / "real_12lead").glob("E*.hea"))
    s10 = shared / "wfdb_samples" / "s0010_re"
    return recs + ([s10] if s10.with_suffix(".hea").is_file() else [])


def _print(res: dict) -> None:
    print(f"\n== {res['model']}")
    print(f"{'record':9s} {'QRS':>5s} {'first':>6s} {'last':>6s} {'TAT':>6s} {'RV-LV':>6s} {'unfam':>7s}  dx")
    for r in res["rows"]:
        u = "" if r["unfamiliarity"] is None else f"{r['unfamiliarity']:.1f}{'!' if r['unfamiliar'] else ''}"
        print(f"{r['record']:9s} {r['qrs_ms']:5.0f} {r['earliest_ms']:6.1f} {r['latest_ms']:6.1f} {r['tat_ms']:6.1f} "
              f"{r['rv_minus_lv_ms']:6.1f} {u:>7s}  {r['dx'][:40]}")
    s = res["summary"]
    rb = "n/a" if s["rbbb_rv_delay_ms"] is None else f"{s['rbbb_rv_delay_ms']:.1f}"
    print(f"median earliest {s['median_earliest_ms']:.1f} ms (goal <= {GOALS['median_earliest_ms']:g}); "
          f"earliest <= 20 ms in {100 * s['share_earliest_le_20ms']:.0f} % (goal >= 80 %); "
          f"Spearman(TAT, QRS) {s['spearman_tat_qrs']:.2f} (goal >= 0.5); E07509 RV-LV {rb} ms (goal >= 20); "
          f"median TAT {s['median_tat_ms']:.0f} ms; unfamiliar "
          + ("n/a" if s["unfamiliar_share"] is None else f"{100 * s['unfamiliar_share']:.0f} %"))


def _json_safe(v):
    """``v`` with every NaN / infinite float as None (``json.dumps`` writes them as bare NaN, which JSON has not)."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=["heart-act", "heart-vm"])
    ap.add_argument("--json", type=Path, help="also write the results there")
    a = ap.parse_args()
    recs = real_records()
    if not recs:
        raise SystemExit(f"no real 12-lead recordings under {SHARED}")
    print(f"{len(recs)} real recordings from {SHARED.resolve()}; machine: {platform.machine()} "
          f"{platform.processor() or ''}, python {platform.python_version()}")
    from cardiacml.inference.physiology import physiology_checks

    out = []
    for m in a.models:
        t = time.perf_counter()
        res = physiology_checks(m, recs)
        res["seconds"] = round(time.perf_counter() - t, 1)
        _print(res)
        out.append(res)
    if a.json:
        a.json.write_text(json.dumps(_json_safe(out), indent=1, allow_nan=False))  # NaN (no value) as null: valid JSON


if __name__ == "__main__":
    main()
