"""R-peak detection of the record -> beats pipeline against the MIT-BIH reference annotations.

For each of the 48 MIT-BIH records (lead MLII, else the first), R peaks are found exactly as
``cardiacml predict`` finds them on unannotated records (:func:`cardiacml.ecg.pipeline.scan_record`
with ``use_annotations=False``: 0.5-40 Hz band-pass + notches, neurokit2 detector in 5-min chunks,
fiducial refinement, merging, dropping the detections that are not beats: a small deflection inside a normal
R-R interval, a tiny one among beats five times its size, a beat within 0.1 s of an end) and matched one-to-one to the beat annotations (AAMI beat
symbols) within 150 ms. Prints per-record and gross Se / +P, the same without dropping those detections
(``scan_record(drop_extra=False)``; both merge detections closer than 0.2 s, 0.12 s before 0.4.4), and the beats found on the 1 kHz
PTB 12-lead record s0010_re (where wfdb's XQRS finds none).

Usage: python benchmarks/bench_rpeaks.py [MITDB_DIR]
"""

import platform
import sys
import time
from pathlib import Path

import numpy as np

from cardiacml.datasets.mitbih import list_records
from cardiacml.io import open_record
from cardiacml.ecg.detect import score_detector
from cardiacml.ecg.pipeline import beat_annotations, scan_record
from cardiacml.tasks.sources import find_mitdb


def main():
    mitdb = Path(sys.argv[1]) if len(sys.argv) > 1 else find_mitdb()
    tp = fn = fp = 0
    before = np.zeros(3, np.int64)
    t0 = time.time()
    for name in list_records(mitdb):
        rec = open_record(mitdb / name)
        scan = scan_record(rec, use_annotations=False)
        ref = beat_annotations(rec)[0]
        sc = score_detector(ref, scan.peaks, rec.fs)
        tp, fn, fp = tp + sc["tp"], fn + sc["fn"], fp + sc["fp"]
        b = score_detector(ref, scan_record(rec, use_annotations=False, drop_extra=False).peaks, rec.fs)
        before += (b["tp"], b["fn"], b["fp"])
        print(f"{name}: Se {100 * sc['se']:.2f} +P {100 * sc['ppv']:.2f} (FN {sc['fn']}, FP {sc['fp']}; "
              f"without dropping: FN {b['fn']}, FP {b['fp']})")
    print(f"GROSS over 48 records: Se {100 * tp / (tp + fn):.2f} % +P {100 * tp / (tp + fp):.2f} % "
          f"(TP {tp}, FN {fn}, FP {fp}; 150 ms window; {time.time() - t0:.0f} s on {platform.machine()})")
    t, f_n, f_p = before
    print(f"without dropping extra / edge detections: Se {100 * t / (t + f_n):.2f} % +P {100 * t / (t + f_p):.2f} % "
          f"(TP {t}, FN {f_n}, FP {f_p})")
    ptb = mitdb.parent / "wfdb_samples" / "s0010_re"
    if Path(str(ptb) + ".hea").is_file():
        rec = open_record(ptb)
        for lead in (None, "i", "v1", "v5"):
            scan = scan_record(rec, lead)
            rr = np.diff(scan.peaks) / rec.fs
            print(f"s0010_re lead {rec.leads[scan.lead]} ({rec.fs:g} Hz, {rec.duration_s:.1f} s): {len(scan.peaks)} beats, "
                  f"median R-R {np.median(rr):.3f} s (range {rr.min():.3f}-{rr.max():.3f})")


if __name__ == "__main__":
    main()
